"""`make bench`: every benchmark, each against a baseline measured in the same run."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (module, title): each module has main() that prints its own figures and ratios.
BENCHMARKS = [
    ("bench.bench_submit", "Answer submission vs a bare FastAPI endpoint"),
    ("bench.bench_webhooks", "Webhook deliveries and answer-to-webhook latency"),
    ("bench.eval_sentiment", "Sentiment and dimension evaluation"),
]


def main() -> int:
    for module_name, title in BENCHMARKS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        print(f"\n== {title} ==", flush=True)
        started = time.perf_counter()
        module.main()
        print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
