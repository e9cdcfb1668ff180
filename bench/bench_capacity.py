"""What one answer costs on PostgreSQL, for the capacity model in docs/scaling.md: CPU seconds of the app
process (`voc serve --no-worker`), of the worker process (`voc worker`) and of the database's backends;
statements and round trips each process sends (counted on the wire by a pass-through proxy: the server has no
pg_stat_statements); transactions and rows written (pg_stat_database); WAL bytes (pg_current_wal_lsn(), and
the part of it that is this database's own when pg_walinspect is there); webhook deliveries (an endpoint
subscribed to every event type, at a local receiver). Then the capacity model itself: the machines those
costs need at a target answer rate (`plan`).

Scale: `python bench/bench_capacity.py [ANSWERS]` or VOC_BENCH_CAPACITY_ANSWERS (default 5,000)."""

from __future__ import annotations

import math
import os
import secrets
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANSWERS = int(os.environ.get("VOC_BENCH_CAPACITY_ANSWERS", "5000"))
WARM_UP = 300
SECRET_KEY = secrets.token_urlsafe(32)

# What the capacity model plans for: settings, not measurements.
TARGET = 10_000  # answers/s
UTILISATION = 0.70  # of every machine's CPU: room for bursts, and for a node lost
NODE_VCPUS = 8  # an app or a worker node
PRIMARY_VCPUS = 64  # the largest PostgreSQL primary planned for


class WireCounter:
    """A pass-through TCP proxy to PostgreSQL that counts the messages clients send, by type: 'E' (Execute:
    one statement of the extended protocol), 'Q:BEGIN', 'Q:COMMIT', 'Q:ROLLBACK', 'Q:other' (simple queries),
    'S' (Sync: with each simple query, one round trip)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self) -> Counter[str]:
        with self.lock:
            return Counter(self.counts)

    def _accept(self) -> None:
        while True:
            client, _ = self.listener.accept()
            upstream = socket.create_connection(self.target)
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._client_to_server, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._copy, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _copy(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                sock.close()

    def _client_to_server(self, client: socket.socket, upstream: socket.socket) -> None:
        buffer, started, seen = b"", False, Counter()
        try:
            while data := client.recv(65536):
                upstream.sendall(data)
                buffer += data
                while True:
                    if not started:  # the startup message has a length and no type byte
                        if len(buffer) < 4 or len(buffer) < struct.unpack("!I", buffer[:4])[0]:
                            break
                        buffer, started = buffer[struct.unpack("!I", buffer[:4])[0]:], True
                        continue
                    if len(buffer) < 5:
                        break
                    size = struct.unpack("!I", buffer[1:5])[0]
                    if len(buffer) < 1 + size:
                        break
                    kind = chr(buffer[0])
                    if kind == "Q":  # a simple query: psycopg sends BEGIN, COMMIT and ROLLBACK so
                        word = buffer[5:15].split(maxsplit=1)[0].upper().rstrip(b";\0")
                        kind = "Q:" + (word.decode() if word in (b"BEGIN", b"COMMIT", b"ROLLBACK") else "other")
                    seen[kind] += 1
                    buffer = buffer[1 + size:]
                if seen:
                    with self.lock:
                        self.counts.update(seen)
                    seen.clear()
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                sock.close()


def _through(url: str, proxy: WireCounter) -> str:
    """`url` by way of the proxy, in plain text (the proxy reads the messages)."""
    from sqlalchemy.engine import make_url

    return (make_url(url).set(host="127.0.0.1", port=proxy.port)
            .update_query_dict({"sslmode": "disable", "gssencmode": "disable"})
            .render_as_string(hide_password=False))


class Database:
    """The bench database's counters, read from an admin connection of its own."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with self.engine.connect() as connection:
            self.oid = connection.exec_driver_sql("SELECT oid FROM pg_database WHERE datname = current_database()"
                                                  ).scalar()
            try:
                connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
                self.walinspect = True
            except Exception:  # not installed, or not a superuser: the cluster's WAL only
                self.walinspect = False

    @contextmanager
    def keeping_wal(self) -> Iterator[None]:
        """Keep the WAL written meanwhile for wal_bytes (a checkpoint would recycle it): a temporary replication
        slot, dropped by the server when this connection ends, whatever happens to the bench."""
        name = f"voc_bench_{secrets.token_hex(4)}"
        with self.engine.connect() as connection:
            try:
                connection.exec_driver_sql("SELECT pg_create_physical_replication_slot(%(name)s, true, true)",
                                           {"name": name})
            except Exception as exc:  # not allowed here: wal_bytes may find the range recycled, and says so
                print(f"  (no replication slot to keep the WAL: {str(exc).splitlines()[0][:200]})")
                yield
                return
            try:
                yield
            finally:
                connection.exec_driver_sql("SELECT pg_drop_replication_slot(%(name)s)", {"name": name})

    def snapshot(self) -> dict[str, Any]:
        from bench.common import cpu_seconds

        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
            stats = connection.exec_driver_sql(
                "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_fetched, "
                "tup_returned FROM pg_stat_database WHERE datname = current_database()").mappings().one()
            lsn = connection.exec_driver_sql("SELECT pg_current_wal_lsn()::text").scalar()
            backends = connection.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).scalars().all()
            jobs = connection.exec_driver_sql(
                "SELECT count(*) FROM job WHERE status IN ('queued', 'running') AND run_at <= now()").scalar()
        cpu = {}
        for pid in backends:
            with suppress(OSError):  # gone, or another user's process this bench may not read
                cpu[pid] = cpu_seconds(pid)
        return {**stats, "lsn": lsn, "backend_cpu": cpu, "jobs": jobs}

    def wal_bytes(self, start: str, end: str) -> tuple[int, int | None]:
        """WAL bytes between two positions: the cluster's, and this database's own records (with the commits
        of the transactions that wrote them) when pg_walinspect can tell."""
        with self.engine.connect() as connection:
            total = int(connection.exec_driver_sql(f"SELECT pg_wal_lsn_diff('{end}', '{start}')").scalar())
            if not self.walinspect:
                return total, None
            try:
                own = connection.exec_driver_sql(
                    "WITH record AS (SELECT xid, record_length, block_ref FROM pg_get_wal_records_info(%(start)s, "
                    "%(end)s)), ours AS (SELECT DISTINCT xid FROM record WHERE block_ref LIKE %(rel)s "
                    "AND xid <> '0') SELECT coalesce(sum(record_length), 0) FROM record "
                    "WHERE block_ref LIKE %(rel)s OR xid IN (SELECT xid FROM ours)",
                    {"start": start, "end": end, "rel": f"%/{self.oid}/%"}).scalar()
            except Exception as exc:  # the segments were recycled already: the cluster's figure only
                print(f"  (pg_walinspect could not read the range: {str(exc).splitlines()[0][:200]})")
                return total, None
        return total, int(own)


def _wait_until_done(database: Database, receiver: Any, expected: int, timeout: float = 600.0) -> None:
    """Until no job is due and `expected` webhooks have arrived (then a moment more for stragglers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if database.snapshot()["jobs"] == 0 and _arrived(receiver) >= expected:
            time.sleep(1.0)
            if database.snapshot()["jobs"] == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"not done: {database.snapshot()['jobs']} jobs due, {_arrived(receiver)} webhooks")


def _setup(url: str, count: int, receiver: Any | None) -> list[str]:
    """Migrate; `count` open invitations; a webhook endpoint for every event type at `receiver` (if any)."""
    from sqlmodel import Session

    from bench.common import open_invitations
    from voc.config import get_settings
    from voc.db import make_engine
    from voc.webhooks.endpoints import create_endpoint
    from voc.webhooks.samples import EVENT_TYPES
    from voc.webhooks.schemas import EndpointCreate

    tokens = open_invitations(url, count, SECRET_KEY)
    if receiver is None:
        return tokens
    # The receiver listens on loopback; the endpoint's secret is sealed with the servers' key.
    os.environ.update(VOC_WEBHOOK_ALLOW_PRIVATE="true", VOC_SECRET_KEY=SECRET_KEY)
    get_settings.cache_clear()
    engine = make_engine(url)
    with Session(engine) as session:
        _, secret = create_endpoint(session, EndpointCreate(
            url=receiver.url, event_types=list(EVENT_TYPES), description="capacity bench"))
        session.commit()
    engine.dispose()
    receiver.secret = secret
    return tokens


def measure(url: str, count: int, webhooks: bool = True) -> dict[str, Any]:
    """Run the app and a worker on `url` through counting proxies; per-answer costs of `count` answers, with
    an endpoint subscribed to every event type or none."""
    from bench.bench_submit import ANSWERS as BODY
    from bench.bench_webhooks import Receiver

    receiver = Receiver()
    tokens = _setup(url, WARM_UP + count, receiver if webhooks else None)
    bodies = [{"token": t, "answers": [BODY[0], {"question_id": "why", "value": f"{BODY[1]['value']} ({n})"}]}
              for n, t in enumerate(tokens)]
    try:
        figures, arrived = _costs(url, "/api/v1/responses", bodies, {}, receiver, webhooks)
    finally:
        receiver.server.shutdown()
    kinds = Counter(body["type"] for _, body in arrived)
    return {**figures, "webhooks_on": webhooks, "answers": count, "answers_per_second": figures["per_second"],
            "webhooks": len(arrived) / count, "webhook_kinds": {k: v / count for k, v in sorted(kinds.items())}}


def _costs(url: str, path: str, bodies: list[dict], headers: dict[str, str], receiver: Any | None,
           webhooks: bool) -> tuple[dict[str, Any], list]:
    """POST `bodies` (the first WARM_UP of them to warm up, then the rest, measured) to `voc serve --no-worker`
    with one `voc worker` beside it, both on `url` through counting proxies; waits until the worker is done
    (and, with `webhooks`, a webhook per request has arrived at `receiver`, if any). Returns the costs per measured
    request and the webhooks that arrived meanwhile."""
    from sqlalchemy.engine import make_url

    from bench.common import cpu_seconds, free_port, post_load, python, server

    count = len(bodies) - WARM_UP
    target = make_url(url)
    app_proxy, worker_proxy = (WireCounter(target.host or "127.0.0.1", target.port or 5432) for _ in range(2))
    env = {"VOC_SECRET_KEY": SECRET_KEY, "VOC_LOG_LEVEL": "WARNING", "VOC_WEBHOOK_ALLOW_PRIVATE": "true",
           # One client address sends every request here: lift the per-address limit on public routes.
           "VOC_PUBLIC_REQUESTS_PER_MINUTE": "1000000000", "VOC_PUBLIC_BURST": "1000000"}
    database = Database(url)
    port = free_port()
    with database.keeping_wal():
        worker = subprocess.Popen([python(), "-m", "voc.cli", "worker"], env={
            **os.environ, **env, "VOC_DATABASE_URL": _through(url, worker_proxy)}, stdout=subprocess.DEVNULL)
        try:
            with server([python(), "-m", "voc.cli", "serve", "--no-worker", "--port", str(port)], port,
                        env={**env, "VOC_DATABASE_URL": _through(url, app_proxy)}, timeout=120) as app:
                warm = post_load(port, path, bodies[:WARM_UP], headers=headers)
                if warm["failures"]:
                    raise RuntimeError(f"{warm['failures']:.0f} requests refused")
                _wait_until_done(database, receiver, WARM_UP * webhooks)
                before = (cpu_seconds(app.pid), cpu_seconds(worker.pid), app_proxy.snapshot(),
                          worker_proxy.snapshot(), database.snapshot(), _arrived(receiver), time.perf_counter())
                load = post_load(port, path, bodies[WARM_UP:], headers=headers)
                answered = time.perf_counter()
                _wait_until_done(database, receiver, before[5] + count * webhooks)
                after = (cpu_seconds(app.pid), cpu_seconds(worker.pid), app_proxy.snapshot(),
                         worker_proxy.snapshot(), database.snapshot(), _arrived(receiver), time.perf_counter())
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        if load["failures"]:
            raise RuntimeError(f"{load['failures']:.0f} requests refused")
        wal_total, wal_own = database.wal_bytes(before[4]["lsn"], after[4]["lsn"])
    backend_cpu = sum(cpu - before[4]["backend_cpu"].get(pid, 0.0) for pid, cpu in after[4]["backend_cpu"].items())
    database.engine.dispose()
    app_wire, worker_wire = after[2] - before[2], after[3] - before[3]
    db_before, db_after = before[4], after[4]
    return {
        "per_second": load["per_second"], "drained_seconds": after[6] - answered,
        "app_cpu_ms": 1000 * (after[0] - before[0]) / count, "worker_cpu_ms": 1000 * (after[1] - before[1]) / count,
        "db_cpu_ms": 1000 * backend_cpu / count,
        "app_statements": _statements(app_wire) / count, "app_round_trips": _round_trips(app_wire) / count,
        "worker_statements": _statements(worker_wire) / count,
        "worker_round_trips": _round_trips(worker_wire) / count,
        "transactions": (db_after["xact_commit"] - db_before["xact_commit"]) / count,
        "rollbacks": (db_after["xact_rollback"] - db_before["xact_rollback"]) / count,
        "rows_written": sum(db_after[k] - db_before[k] for k in ("tup_inserted", "tup_updated", "tup_deleted")) / count,
        "wal_bytes": wal_total / count, "wal_own_bytes": wal_own / count if wal_own is not None else float("nan"),
    }, list(receiver.arrivals.values())[before[5]:] if receiver is not None else []


def _arrived(receiver: Any | None) -> int:
    return len(receiver.arrivals) if receiver is not None else 0


EVENTS_PER_CONTACT = 4  # touchpoint events a contact reports in the events run
EVENT_SAMPLE_RATE = 0.5


def measure_events(url: str, count: int) -> dict[str, Any]:
    """The costs of `count` touchpoint events (POST /api/v1/events) on `url`, as for answers: a CRM key, one
    survey triggered by the touchpoint with a sample rate of EVENT_SAMPLE_RATE and the default quarantine, and
    EVENTS_PER_CONTACT events for each contact, so some invite, some are sampled out, some quarantined."""
    key = _setup_events(url)
    contacts = (WARM_UP + count) // EVENTS_PER_CONTACT  # a contact's events far apart, as orders come in
    bodies = [{"event_id": f"{'warm' if n < WARM_UP else 'capacity'}-{n}", "touchpoint": "delivered",
               "contact": {"external_id": f"crm-{n % contacts}", "email": f"c{n % contacts}@example.com"},
               "attributes": {"order": f"o-{n}", "total": n % 300}} for n in range(WARM_UP + count)]
    figures, _ = _costs(url, "/api/v1/events", bodies, {"authorization": f"Bearer {key}"}, None, False)
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as connection:
        outcomes = dict(connection.exec_driver_sql(
            "SELECT coalesce(reason, outcome), count(*) FROM event WHERE event_id LIKE 'capacity-%%' GROUP BY 1").all())
    engine.dispose()
    return {**figures, "events": count, "outcomes": {k: v / count for k, v in sorted(outcomes.items())}}


def _setup_events(url: str) -> str:
    """Migrate; the touchpoint, a survey it triggers and an API key that may report events (its plaintext)."""
    from sqlmodel import Session

    from voc.auth.service import create_api_key
    from voc.config import get_settings
    from voc.db import dispose_engines, make_engine, migrate
    from voc.surveys import service
    from voc.surveys.schemas import SurveyCreate, TouchpointCreate

    os.environ["VOC_SECRET_KEY"] = SECRET_KEY
    get_settings.cache_clear()
    migrate(url)
    dispose_engines()
    engine = make_engine(url)
    with Session(engine) as session:
        service.create_touchpoint(session, TouchpointCreate(key="delivered", name="Delivered", stage="delivery"))
        service.create_survey(session, SurveyCreate.model_validate({
            "key": "bench", "title": "Bench", "status": "active",
            "triggers": [{"touchpoint": "delivered", "sample_rate": EVENT_SAMPLE_RATE}],
            "questions": [{"id": "nps", "type": "nps", "prompt": "Recommend?", "required": True}]}))
        _, key = create_api_key(session, "capacity bench", ["events:write"])
        session.commit()
    engine.dispose()
    return key


def report_events(figures: dict[str, Any]) -> None:
    outcomes = ", ".join(f"{name} {share:.2f}" for name, share in figures["outcomes"].items())
    print(f"{figures['events']:,} touchpoint events (POST /api/v1/events, {figures['per_second']:.0f} events/s over "
          f"8 connections; {EVENTS_PER_CONTACT} a contact, sample rate {EVENT_SAMPLE_RATE}: {outcomes}), "
          f"one `voc worker` (done {figures['drained_seconds']:.1f} s after the last event); per event:")
    _report_costs(figures)
    own = figures["wal_own_bytes"]
    at = plan(figures["app_cpu_ms"], figures["worker_cpu_ms"], figures["db_cpu_ms"], figures["transactions"],
              own if own == own else figures["wal_bytes"])
    print(f"at {TARGET:,} events/s: app {at.app_busy:.1f} busy cores ({at.app_nodes} nodes), worker "
          f"{at.worker_busy:.1f}, PostgreSQL {at.db_busy:.1f} ({at.commits_per_second:,.0f} commits/s); one "
          f"{PRIMARY_VCPUS}-vCPU primary carries {at.primary_carries:,} events/s, one app node "
          f"{at.app_per_node:,}", flush=True)


def _report_costs(figures: dict[str, Any]) -> None:
    """The lines every run prints: CPU, statements and WAL per request."""
    print(f"  CPU: app {figures['app_cpu_ms']:.2f} ms, worker {figures['worker_cpu_ms']:.2f} ms, "
          f"PostgreSQL backends {figures['db_cpu_ms']:.2f} ms")
    print(f"  statements: app {figures['app_statements']:.1f} in {figures['app_round_trips']:.1f} round trips, "
          f"worker {figures['worker_statements']:.1f} in {figures['worker_round_trips']:.1f}; "
          f"{figures['transactions']:.1f} commits ({figures['rollbacks']:.2f} rollbacks), "
          f"{figures['rows_written']:.1f} rows written")
    own = figures["wal_own_bytes"]
    print(f"  WAL: {figures['wal_bytes'] / 1024:.1f} KiB in the whole cluster"
          + (f", {own / 1024:.1f} KiB of them this database's own records" if own == own else ""), flush=True)


def _statements(wire: Counter[str]) -> int:
    """Statements sent, BEGIN, COMMIT and ROLLBACK left out (counted as transactions)."""
    return wire["E"] + wire["Q:other"]


def _round_trips(wire: Counter[str]) -> int:
    return wire["S"] + sum(count for kind, count in wire.items() if kind.startswith("Q:"))


def report(figures: dict[str, Any]) -> None:
    endpoint = "an endpoint for every event type" if figures["webhooks_on"] else "no webhook endpoint"
    print(f"{figures['answers']:,} answers through `voc serve --no-worker` ({figures['answers_per_second']:.0f} "
          f"answers/s over 8 connections), one `voc worker`, {endpoint} (the worker was done "
          f"{figures['drained_seconds']:.1f} s after the last answer); per answer:")
    _report_costs(figures)
    kinds = ", ".join(f"{kind} {share:.2f}" for kind, share in figures["webhook_kinds"].items())
    print(f"  webhook deliveries: {figures['webhooks']:.2f}" + (f" ({kinds})" if kinds else ""), flush=True)


def report_delivery(with_hooks: dict[str, Any], without: dict[str, Any]) -> None:
    """What one webhook delivery adds: the difference between the two runs, per delivery."""
    deliveries = with_hooks["webhooks"]
    if not deliveries:
        return
    cost = {key: (with_hooks[key] - without[key]) / deliveries for key in (
        "worker_cpu_ms", "db_cpu_ms", "worker_statements", "transactions", "wal_own_bytes")}
    print(f"one webhook delivery adds: worker CPU {cost['worker_cpu_ms']:.2f} ms, PostgreSQL CPU "
          f"{cost['db_cpu_ms']:.2f} ms, {cost['worker_statements']:.1f} statements, "
          f"{cost['transactions']:.1f} commits, {cost['wal_own_bytes'] / 1024:.1f} KiB WAL")


@dataclass(frozen=True)
class Plan:
    """The machines TARGET answers/s need. A busy core is one CPU-second a second; cores keep the busy ones at
    UTILISATION. Cores and nodes round up (a machine comes whole); the answers a machine carries round down."""

    app_busy: float
    app_cores: int
    app_nodes: int
    app_per_node: int
    worker_busy: float
    worker_cores: int
    worker_nodes: int
    worker_per_node: int
    db_busy: float
    db_cores: int
    commits_per_second: float
    wal_mib_per_second: float
    primary_carries: int
    fits_one_primary: bool


def plan(app_ms: float, worker_ms: float, db_ms: float, commits: float, wal_bytes: float) -> Plan:
    """The capacity model, from per-answer costs: CPU ms of the app, of the worker and of PostgreSQL's backends,
    commits and WAL bytes. App and worker processes hold no state and grow by adding nodes; the primary is one
    machine that grows only up, to PRIMARY_VCPUS, so it is what saturates first, at `primary_carries`."""
    def busy(ms: float) -> float:
        return TARGET * ms / 1000

    def up(value: float) -> int:  # 21 / 0.7 is 30.000000000000004 in floating point: 30 cores, not 31
        return math.ceil(round(value, 9))

    def carries(vcpus: int, ms: float) -> int:
        return math.floor(round(vcpus * UTILISATION * 1000 / ms, 9))

    app_cores, worker_cores = up(busy(app_ms) / UTILISATION), up(busy(worker_ms) / UTILISATION)
    primary_carries = carries(PRIMARY_VCPUS, db_ms)
    return Plan(
        app_busy=busy(app_ms), app_cores=app_cores, app_nodes=up(app_cores / NODE_VCPUS),
        app_per_node=carries(NODE_VCPUS, app_ms),
        worker_busy=busy(worker_ms), worker_cores=worker_cores, worker_nodes=up(worker_cores / NODE_VCPUS),
        worker_per_node=carries(NODE_VCPUS, worker_ms),
        db_busy=busy(db_ms), db_cores=up(busy(db_ms) / UTILISATION),
        commits_per_second=TARGET * commits, wal_mib_per_second=TARGET * wal_bytes / 2**20,
        primary_carries=primary_carries, fits_one_primary=primary_carries >= TARGET)


def report_plan(with_hooks: dict[str, Any], without: dict[str, Any]) -> None:
    """The capacity model on the figures just measured. The app does the same work in both runs, so both plans
    take the higher of its two figures (the gap between them is noise)."""
    app_ms = max(with_hooks["app_cpu_ms"], without["app_cpu_ms"])
    own = all(run["wal_own_bytes"] == run["wal_own_bytes"] for run in (with_hooks, without))  # NaN: not known
    bare, hooked = (plan(app_ms, run["worker_cpu_ms"], run["db_cpu_ms"], run["transactions"],
                         run["wal_own_bytes"] if own else run["wal_bytes"]) for run in (without, with_hooks))
    at = f"{UTILISATION * 100:.0f} %"
    print(f"\ncapacity model for {TARGET:,} answers/s, every machine planned at {at} CPU, app and worker nodes "
          f"of {NODE_VCPUS} vCPU, a PostgreSQL primary of at most {PRIMARY_VCPUS} vCPU (app CPU: {app_ms:.2f} ms, "
          "the higher of the two runs, in both plans):")

    def both(cell: Callable[[Plan], str]) -> list[str]:
        return [cell(bare), cell(hooked)]

    rows = [
        ("", "no webhook endpoint", f"{with_hooks['webhooks']:.2f} deliveries an answer"),
        ("app (voc serve): busy cores", *both(lambda p: f"{p.app_busy:.1f}")),
        (f"  cores at {at} → nodes", *both(lambda p: f"{p.app_cores} → {p.app_nodes}")),
        ("worker (voc worker): busy cores", *both(lambda p: f"{p.worker_busy:.1f}")),
        (f"  cores at {at} → nodes", *both(lambda p: f"{p.worker_cores} → {p.worker_nodes}")),
        ("PostgreSQL: busy cores", *both(lambda p: f"{p.db_busy:.1f}")),
        (f"  cores at {at}", *both(lambda p: f"{p.db_cores}")),
        ("  commits/s", *both(lambda p: f"{p.commits_per_second:,.0f}")),
        ("  WAL MiB/s" + (" (this database's own)" if own else " (the whole cluster)"),
         *both(lambda p: f"{p.wal_mib_per_second:.1f}")),
        (f"  answers/s one {PRIMARY_VCPUS}-vCPU primary carries", *both(lambda p: f"{p.primary_carries:,}")),
    ]
    for label, *cells in rows:
        print(f"{label:<42}" + "".join(f"{cell:>28}" for cell in cells))
    fit = {True: "fit", False: "do not fit"}
    print(f"saturates first: the PostgreSQL primary, the one part that cannot add machines (it grows only up); "
          f"{TARGET:,} answers/s {fit[bare.fits_one_primary]} one of {PRIMARY_VCPUS} vCPU without webhooks and "
          f"{fit[hooked.fits_one_primary]} with them. App and worker add nodes: one carries {bare.app_per_node:,} "
          f"answers/s of the app; of the worker {bare.worker_per_node:,} without webhooks, "
          f"{hooked.worker_per_node:,} with them.", flush=True)


def main(argv: list[str] | None = None) -> int:
    from bench.common import postgres_database

    count = int(argv[0]) if argv else ANSWERS
    runs = {}
    for webhooks in (True, False):
        with postgres_database("voc_bench_capacity") as url:
            if not url:
                return 1  # nothing measured: bench/run.py leaves docs/scaling.md as it is
            runs[webhooks] = measure(url, count, webhooks)
            report(runs[webhooks])
    report_delivery(runs[True], runs[False])
    report_plan(runs[True], runs[False])
    print()
    with postgres_database("voc_bench_capacity") as url:
        report_events(measure_events(url, count))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main(sys.argv[1:]))
