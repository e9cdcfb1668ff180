"""`make bench`: every benchmark, each against a baseline measured in the same run."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (module, title, arguments): each module's main() prints its own figures and ratios.
BENCHMARKS = [
    ("bench.bench_submit", "Answer submission vs a bare FastAPI endpoint", None),
    ("bench.bench_scale", "Many processes on PostgreSQL: answers with 1 and 2 app processes, answer → webhook", None),
    ("bench.bench_crowd", "Customers arriving together (SQLite and PostgreSQL)", None),
    ("bench.bench_backup", "Answers during an online backup (SQLite)", None),
    ("bench.bench_webhooks", "Webhook deliveries and answer-to-webhook latency", None),
    ("bench.bench_dashboard", "Dashboard overview at 10k vs 1M responses (rollups)", None),
    ("bench.bench_metrics", "/metrics scrape at 10k vs 1M responses (kept counters)", None),
    ("bench.bench_limits", "Shared rate limits: time added per public request, by store", None),
    ("bench.bench_followups", "Follow-up queue page with 10,000 cases (SQLite and PostgreSQL)", None),
    ("bench.bench_memory", "Memory: voc serve after 100,000 answers; CSV export of 1,000,000 responses", None),
    ("bench.bench_capacity", "Per-answer costs on PostgreSQL (for docs/scaling.md)", None),
    # VADER's human-rated sets come from the vaderSentiment sdist on PyPI, cached under .cache/.
    ("bench.eval_sentiment", "Sentiment and dimension evaluation", ["--fetch", ".cache/vader"]),
]


def main() -> int:
    for module_name, title, argv in BENCHMARKS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        print(f"\n== {title} ==", flush=True)
        started = time.perf_counter()
        module.main(*([argv] if argv is not None else []))
        print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
