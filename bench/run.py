"""`make bench`: every benchmark, each against a baseline measured in the same run."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (module, title, arguments): each module's main() prints its own figures and ratios.
BENCHMARKS = [
    ("bench.bench_submit", "Answer submission vs a bare FastAPI endpoint", None),
    # Before the PostgreSQL benchmarks: their writes, still going to disk, slowed the backup's answers.
    ("bench.bench_backup", "Answers during an online backup (SQLite)", None),
    ("bench.bench_scale", "Many processes on PostgreSQL: answers with 1 and 2 app processes, answer → webhook", None),
    ("bench.bench_crowd", "Customers arriving together (SQLite and PostgreSQL)", None),
    ("bench.bench_webhooks", "Webhook deliveries and answer-to-webhook latency", None),
    ("bench.bench_dashboard", "Dashboard overview at 10k vs 1M responses (rollups)", None),
    ("bench.bench_metrics", "/metrics scrape at 10k vs 1M responses (kept counters)", None),
    ("bench.bench_limits", "Shared rate limits: time added per public request, by store", None),
    ("bench.bench_followups", "Follow-up queue page with 10,000 cases (SQLite and PostgreSQL)", None),
    ("bench.bench_memory", "Memory: voc serve after 100,000 answers; CSV export of 1,000,000 responses", None),
    ("bench.bench_capacity", "Per-answer and per-event costs on PostgreSQL (for docs/scaling.md)", None),
    # VADER's human-rated sets come from the vaderSentiment sdist on PyPI, cached under .cache/.
    ("bench.eval_sentiment", "Sentiment and dimension evaluation", ["--fetch", ".cache/vader"]),
]


START, END = "<!-- bench-output -->", "<!-- /bench-output -->"
# Pages whose figures are one benchmark's output: module → (page, its block's markers).
PAGES = {
    "bench.bench_capacity": (ROOT / "docs" / "scaling.md", "<!-- capacity-output -->", "<!-- /capacity-output -->"),
}


class Tee:
    """Prints as usual and keeps a copy of everything printed."""

    def __init__(self, stream) -> None:  # noqa: ANN001
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def _describe_run() -> str:
    """When, on what and on which commit the figures were measured."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"`make bench` on {when}, commit {commit}{dirty}, {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.2f} when it began, Python {platform.python_version()}:")


def write_block(path: Path, header: str, output: str, start: str = START, end: str = END) -> None:
    """Put a run's output, exactly as printed, between the markers in `path` (figures there are never typed by
    hand): README's block by default, a page's own markers for one benchmark's output."""
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise SystemExit(f"{path} has no {start} ... {end} block for the figures")
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    block = f"{start}\n{header}\n\n```text\n{output.strip()}\n```\n{end}"
    path.write_text(before + block + after, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", type=Path, help="write the whole run's output into this README's "
                        f"{START} block, and each page's benchmark into its page (only when every benchmark ran)")
    parser.add_argument("only", nargs="*", help="run only these modules (e.g. bench.bench_submit)")
    args = parser.parse_args(argv)
    header = _describe_run()
    tee = Tee(sys.stdout)
    printed: dict[str, str] = {}  # what each benchmark that measured something printed
    with contextlib.redirect_stdout(tee):
        print(header)
        for module_name, title, module_argv in BENCHMARKS:
            if args.only and module_name not in args.only:
                continue
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            print(f"\n== {title} ==", flush=True)
            started, offset = time.perf_counter(), tee.copy.tell()
            if not module.main(*([module_argv] if module_argv is not None else [])):  # non-zero: nothing measured
                printed[module_name] = tee.copy.getvalue()[offset:]
            print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    if args.readme and not args.only:
        output = tee.copy.getvalue().split("\n", 1)[1]
        write_block(args.readme, header, output)
        print(f"\nwritten into {args.readme}")
        for module_name, (page, start, end) in PAGES.items():
            if printed.get(module_name, "").strip():  # not run, or no server to measure on: the page stays
                write_block(page, header, printed[module_name], start, end)
                print(f"written into {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
