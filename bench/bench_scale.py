"""Many processes on PostgreSQL. Answer submission with 1 and 2 `voc serve --no-worker --workers N`
processes, each next to the bare FastAPI endpoint served by as many uvicorn processes, in interleaved
rounds of the same run, with 8 and with 32 connections sending at once; then answer accepted → webhook
received at a steady 200 answers/s sent to `voc serve --no-worker`, with 2 `voc worker` processes
delivering to a local receiver."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

from bench.bench_submit import ANSWERS, ROUNDS, _median, _ratios, _summary, prepare
from bench.bench_webhooks import Receiver, _percentile
from bench.common import (
    ROOT,
    free_port,
    measured_load,
    post_load,
    postgres_database,
    python,
    server,
    tree_cpu_seconds,
)

PROCESSES = (1, 2)
# Connections sending at once: 8, as every other benchmark here, and 32, as the issue measured with wrk
# (throughput with the servers busy: two processes each see half the requests in flight, so at 8 their
# batches of answers are half as big as one process's).
LOADS = (8, 32)
WARM_UP = 200  # answers sent (at the same rate) and delivered before the measured ones
STARTUP = 120.0  # seconds: each of several processes imports and warms up voc afresh, slow on a loaded machine
# One client address sends every answer here: lift the per-address limit on public routes.
UNLIMITED = {"VOC_PUBLIC_REQUESTS_PER_MINUTE": "1000000000", "VOC_PUBLIC_BURST": "1000000"}


def submission(url: str, count: int) -> dict[str, float]:
    """Rounds of answers against voc with 1 and 2 processes and the bare endpoint with 1 and 2, in turn, at each
    number of connections in LOADS."""
    per_round = count // (len(PROCESSES) * ROUNDS * len(LOADS))
    tokens = prepare(url, count)
    bodies = [{"token": t, "answers": ANSWERS} for t in tokens]
    uvicorn = [python(), "-m", "uvicorn", "--log-level", "warning", "--no-access-log", "--host", "127.0.0.1"]
    env = {"VOC_DATABASE_URL": url, "VOC_LOG_LEVEL": "WARNING", **UNLIMITED}
    ports = {(kind, n): free_port() for kind in ("bare", "voc") for n in PROCESSES}
    setups = [(connections, n) for connections in LOADS for n in PROCESSES]
    bare_rounds: dict[tuple[int, int], list] = {setup: [] for setup in setups}
    voc_rounds: dict[tuple[int, int], list] = {setup: [] for setup in setups}
    servers: dict[tuple[str, int], subprocess.Popen] = {}
    with ExitStack() as stack:
        for n in PROCESSES:
            port = ports["bare", n]
            servers["bare", n] = stack.enter_context(server(
                [*uvicorn, "--port", str(port), "--workers", str(n), "bench.bare_app:app"], port, timeout=STARTUP))
            port = ports["voc", n]
            servers["voc", n] = stack.enter_context(server(
                [python(), "-m", "voc.cli", "serve", "--no-worker", "--workers", str(n), "--port", str(port)],
                port, env=env, timeout=STARTUP))
        for n in PROCESSES:  # warm up: every process of each server has answered a few
            post_load(ports["bare", n], "/echo", bodies[:200])
        chunk = iter(bodies[i * per_round:(i + 1) * per_round] for i in range(len(setups) * ROUNDS))
        for _ in range(ROUNDS):  # alternate, so every setup sees the same machine
            for connections, n in setups:
                answers = next(chunk)
                bare_rounds[connections, n].append(
                    measured_load(servers["bare", n], ports["bare", n], "/echo", answers, connections))
                voc_rounds[connections, n].append(
                    measured_load(servers["voc", n], ports["voc", n], "/api/v1/responses", answers, connections))
    print(f"{ROUNDS} interleaved rounds of {per_round} answers each setup, on PostgreSQL; medians:")
    figures = {}
    for connections, n in setups:
        noun = "processes" if n > 1 else "process"
        if n == PROCESSES[0]:
            print(f"{connections} connections sending at once:")
        voc = _summary(f"submission, {n} voc {noun}", voc_rounds[connections, n])
        bare = _summary(f"bare endpoint, {n} {noun}", bare_rounds[connections, n])
        cpu = (_median([r["cpu_ms"] for r in bare_rounds[connections, n]])
               / _median([r["cpu_ms"] for r in voc_rounds[connections, n]]))
        print(f"  ratio with {n} {noun} and {connections} connections (aim: at least 0.5): "
              f"{_ratios(bare_rounds[connections, n], voc_rounds[connections, n])}; "
              f"by server CPU per request {cpu:.2f}")
        figures[f"submit_{n}_{connections}_per_second"] = voc["per_second"]
        figures[f"bare_{n}_{connections}_per_second"] = bare["per_second"]
    return figures


@contextmanager
def voc_workers(count: int, env: dict[str, str]) -> Iterator[list[subprocess.Popen]]:
    """`count` `voc worker` processes until the block ends."""
    processes = [subprocess.Popen([python(), "-m", "voc.cli", "worker"], cwd=ROOT, env={**os.environ, **env},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(count)]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _paced(port: int, bodies: list[dict], rate: float, label: str, threads: int = 16
           ) -> list[tuple[float, int, str]]:
    """POST each body at its own moment (`rate` a second, open loop: a slow answer does not hold back the
    next); returns (accepted at, status, response id) per answer."""
    local = threading.local()
    start = time.time() + 0.2

    def send(index: int) -> tuple[float, int, str]:
        delay = start + index / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local.connection.request("POST", "/api/v1/responses", body=json.dumps(bodies[index]),
                                 headers={"content-type": "application/json"})
        answer = local.connection.getresponse()
        body = answer.read()
        accepted = time.time()
        return accepted, answer.status, str(json.loads(body).get("id", "")) if answer.status == 201 else ""

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(send, range(len(bodies))))
    sent = results[-1][0] - start
    print(f"{label}: {len(bodies)} answers sent in {sent:.1f} s ({len(bodies) / sent:.0f}/s; asked {rate:.0f}/s)")
    return results


def webhook_latency(url: str, answers: int, rate: float = 200.0, workers: int = 2) -> dict[str, float]:
    """Answers at `rate` a second to one `voc serve --no-worker`; `workers` `voc worker` processes deliver."""
    receiver = Receiver()
    os.environ["VOC_WEBHOOK_ALLOW_PRIVATE"] = "true"
    tokens = prepare(url, WARM_UP + answers)
    from voc.config import get_settings
    from voc.db import dispose_engines, session_scope
    from voc.webhooks.endpoints import create_endpoint
    from voc.webhooks.schemas import EndpointCreate

    get_settings.cache_clear()
    with session_scope() as session:
        _, receiver.secret = create_endpoint(session, EndpointCreate(url=receiver.url,
                                                                     event_types=["response.completed"]))
    dispose_engines()
    env = {"VOC_DATABASE_URL": url, "VOC_LOG_LEVEL": "WARNING", "VOC_WEBHOOK_ALLOW_PRIVATE": "true", **UNLIMITED}
    port = free_port()
    try:
        with server([python(), "-m", "voc.cli", "serve", "--no-worker", "--port", str(port)], port, env=env,
                    timeout=STARTUP) as serving, voc_workers(workers, env) as workers_:
            bodies = [{"token": t, "answers": ANSWERS} for t in tokens]
            # Every worker loads the analyser at its first job (seconds of CPU): measure them warm.
            warm = [rid for _, status, rid in _paced(port, bodies[:WARM_UP], rate, "warm-up") if status == 201]
            receiver.wait_for(len(warm), timeout=STARTUP)
            time.sleep(1)
            before = [tree_cpu_seconds(serving.pid), sum(tree_cpu_seconds(w.pid) for w in workers_)]
            results = _paced(port, bodies[WARM_UP:], rate, "measured")
            accepted = {rid: at for at, status, rid in results if status == 201}
            receiver.wait_for(len(warm) + len(accepted), timeout=120 + len(accepted) / 10)  # workers may lag
            app_ms, worker_ms = (1000 * (now - then) / max(1, len(accepted)) for now, then in zip(
                [tree_cpu_seconds(serving.pid), sum(tree_cpu_seconds(w.pid) for w in workers_)], before, strict=True))
    finally:
        receiver.server.shutdown()
    arrived = {str(body["data"]["response"]["id"]): at for at, body in receiver.arrivals.values()}
    latencies = [arrived[rid] - at for rid, at in accepted.items()]
    p50, p95 = _percentile(latencies, 0.50) * 1000, _percentile(latencies, 0.95) * 1000
    print(f"answer accepted → webhook received, {answers} answers at {rate:.0f}/s, 1 voc serve --no-worker, "
          f"{workers} voc worker: p50 {p50:.0f} ms  p95 {p95:.0f} ms  max {max(latencies) * 1000:.0f} ms "
          f"(aim: p95 under 1 s); refused answers {len(results) - len(accepted)}, "
          f"bad signatures {receiver.rejected}")
    print(f"CPU per answer: app {app_ms:.2f} ms, {workers} workers together {worker_ms:.2f} ms (its job, and the "
          f"webhook's delivery); at {rate:.0f}/s that is {rate * (app_ms + worker_ms) / 1000:.2f} cores before "
          "PostgreSQL's own")
    return {"answer_to_webhook_p50_ms": p50, "answer_to_webhook_p95_ms": p95, "app_cpu_ms": app_ms,
            "worker_cpu_ms": worker_ms}


def main(count: int = 9600, answers: int = 2000) -> dict[str, float]:
    from voc.config import get_settings

    saved = dict(os.environ)
    figures: dict[str, float] = {}
    try:
        with postgres_database("voc_bench_pg") as url:
            if url:
                figures |= submission(url, count)
        get_settings.cache_clear()
        with postgres_database("voc_bench_pg") as url:
            if url:
                figures |= webhook_latency(url, answers)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(*(int(arg) for arg in sys.argv[1:3]))
