"""The benchmark figures in README and docs/scaling.md are what `make bench` printed, never typed by hand."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from bench import run
from bench.bench_capacity import NODE_VCPUS, PRIMARY_VCPUS, TARGET, UTILISATION
from bench.run import END, PAGES, START, write_block

ROOT = Path(__file__).resolve().parents[1]
SPEED = r"answers/s|req/s|rows/s|/s\b|ms\b|µs\b|MB\b|s after"
UNITS = re.compile(rf"\d[\d,.]*\s*(?:{SPEED})")
SETTINGS = {"20 ms", "300 ms"}  # what the benchmarks are set to do (a probe's interval, a slow endpoint), not results
# The capacity model's figures besides: sizes, machines, counts; "8-vCPU" too.
PLAN_UNITS = re.compile(rf"\d[\d,.]*[\s-]*(?:{SPEED}|KiB\b|MiB/s|MiB\b|GB\b|vCPU\b|cores?\b|nodes?\b|commits\b|"
                        r"statements\b|deliveries\b|rows\b|%)")
# What the model plans for (bench_capacity's settings, so the page cannot keep an old one), not results.
PLAN_SETTINGS = {f"{TARGET:,} answers/s", f"{UTILISATION * 100:.0f} %", f"{NODE_VCPUS} vCPU", f"{NODE_VCPUS}-vCPU",
                 f"{PRIMARY_VCPUS} vCPU", f"{PRIMARY_VCPUS}-vCPU"}
CAPACITY_START, CAPACITY_END = PAGES["bench.bench_capacity"][1:]


def test_a_run_replaces_only_the_block_and_keeps_the_output_exactly(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# voc\n\nintro\n\n{START}\nold figures\n{END}\n\n## Development\n", encoding="utf-8")
    output = "== Answer submission ==\nanswer submission (serve)   1034 req/s  p50    3.6 ms\n(45 s)\n"
    write_block(readme, "`make bench` on 2026-12-05", output)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# voc\n\nintro\n\n") and text.endswith("\n\n## Development\n")
    assert "old figures" not in text
    assert f"```text\n{output.strip()}\n```" in text  # spaces and all
    write_block(readme, "`make bench` on 2026-12-06", "second run\n")
    assert readme.read_text(encoding="utf-8").count(START) == 1 and "1034 req/s" not in readme.read_text()


def test_a_page_s_block_has_markers_of_its_own(tmp_path: Path):
    page = tmp_path / "scaling.md"
    page.write_text(f"# Scaling\n\n{START} is README's\n\n{CAPACITY_START}\nold\n{CAPACITY_END}\n\nafter\n",
                    encoding="utf-8")
    write_block(page, "`make bench` on 2026-12-05", "per answer: 2.45 ms\n", CAPACITY_START, CAPACITY_END)
    assert page.read_text(encoding="utf-8") == (
        f"# Scaling\n\n{START} is README's\n\n{CAPACITY_START}\n`make bench` on 2026-12-05\n\n```text\n"
        f"per answer: 2.45 ms\n```\n{CAPACITY_END}\n\nafter\n")
    with pytest.raises(SystemExit):
        write_block(page, "`make bench` on 2026-12-06", "figures")  # no README markers there


@pytest.fixture
def pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, dict[str, int]]:
    """A README and a page in tmp_path, and two stand-in benchmarks: `fake_other`, and `fake_capacity`, which
    prints figures for the page and returns what the test sets in the dict (non-zero: nothing measured)."""
    readme, page = tmp_path / "README.md", tmp_path / "scaling.md"
    readme.write_text(f"{START}\nold\n{END}\n", encoding="utf-8")
    page.write_text(f"intro\n{CAPACITY_START}\nold\n{CAPACITY_END}\n", encoding="utf-8")
    status = {"fake_capacity": 0}

    def capacity_main() -> int:
        print("capacity figures" if not status["fake_capacity"] else "PostgreSQL not measured")
        return status["fake_capacity"]

    for name, main in (("fake_other", lambda: print("other figures")), ("fake_capacity", capacity_main)):
        monkeypatch.setitem(sys.modules, name, types.SimpleNamespace(main=main))
    monkeypatch.setattr(run, "BENCHMARKS", [("fake_other", "Other", None), ("fake_capacity", "Capacity", None)])
    monkeypatch.setattr(run, "PAGES", {"fake_capacity": (page, CAPACITY_START, CAPACITY_END)})
    monkeypatch.setattr(run, "_describe_run", lambda: "`make bench` on 2026-12-05:")
    return readme, page, status


def test_a_whole_run_writes_readme_and_the_capacity_output_alone_into_its_page(pages):
    readme, page, _ = pages
    run.main(["--readme", str(readme)])
    assert re.search(r"== Other ==\nother figures\n\(\d+ s\)\n\n== Capacity ==\ncapacity figures\n\(\d+ s\)\n```",
                     readme.read_text(encoding="utf-8"))
    assert page.read_text(encoding="utf-8") == (
        f"intro\n{CAPACITY_START}\n`make bench` on 2026-12-05:\n\n```text\ncapacity figures\n```\n{CAPACITY_END}\n")


def test_a_subset_run_leaves_both_files_alone(pages):
    readme, page, _ = pages
    run.main(["--readme", str(readme), "fake_capacity"])
    assert "old" in readme.read_text() and "old" in page.read_text()


def test_a_capacity_run_that_measured_nothing_leaves_the_page_alone(pages):
    readme, page, status = pages
    status["fake_capacity"] = 1  # PostgreSQL unreachable
    run.main(["--readme", str(readme)])
    assert "PostgreSQL not measured" in readme.read_text()  # README shows the whole run, as printed
    assert "old" in page.read_text()


def test_readme_figures_on_speed_and_memory_sit_only_inside_the_printed_block():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Benchmarks\n"):text.index("## Development\n")]
    before, rest = section.split(START, 1)
    block, after = rest.split(END, 1)
    typed = [figure for figure in UNITS.findall(before + after) if figure not in SETTINGS]
    assert typed == [], "a figure typed by hand beside the printed block"
    assert block.strip().splitlines()[0].startswith("`make bench` on "), "the block holds no run of make bench"
    assert "== Answer submission vs a bare FastAPI endpoint ==" in block


def test_scaling_figures_sit_only_inside_the_printed_capacity_block():
    page, start, end = PAGES["bench.bench_capacity"]
    assert page == ROOT / "docs" / "scaling.md"
    before, rest = page.read_text(encoding="utf-8").split(start, 1)
    block, after = rest.split(end, 1)
    typed = [figure for figure in PLAN_UNITS.findall(before + after) if figure not in PLAN_SETTINGS]
    assert typed == [], "a figure typed by hand beside the printed block"
    assert block.strip().splitlines()[0].startswith("`make bench` on "), "the block holds no run of make bench"
    assert "per answer:" in block and "capacity model for" in block and "saturates first:" in block, \
        "the block holds no run of bench_capacity"
    assert "per event:" in block, "the block holds no run of bench_capacity's touchpoint events"
