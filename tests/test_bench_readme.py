"""README's benchmark figures are what `make bench` printed, never typed by hand."""

from __future__ import annotations

import re
from pathlib import Path

from bench.run import END, START, write_readme

ROOT = Path(__file__).resolve().parents[1]
UNITS = re.compile(r"\d[\d,.]*\s*(?:answers/s|req/s|rows/s|/s\b|ms\b|µs\b|MB\b|s after)")
SETTINGS = {"20 ms", "300 ms"}  # what the benchmarks are set to do (a probe's interval, a slow endpoint), not results


def test_a_run_replaces_only_the_block_and_keeps_the_output_exactly(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# voc\n\nintro\n\n{START}\nold figures\n{END}\n\n## Development\n", encoding="utf-8")
    output = "== Answer submission ==\nanswer submission (serve)   1034 req/s  p50    3.6 ms\n(45 s)\n"
    write_readme(readme, "`make bench` on 2026-12-05", output)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# voc\n\nintro\n\n") and text.endswith("\n\n## Development\n")
    assert "old figures" not in text
    assert f"```text\n{output.strip()}\n```" in text  # spaces and all
    write_readme(readme, "`make bench` on 2026-12-06", "second run\n")
    assert readme.read_text(encoding="utf-8").count(START) == 1 and "1034 req/s" not in readme.read_text()


def test_readme_figures_on_speed_and_memory_sit_only_inside_the_printed_block():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Benchmarks\n"):text.index("## Development\n")]
    before, rest = section.split(START, 1)
    block, after = rest.split(END, 1)
    typed = [figure for figure in UNITS.findall(before + after) if figure not in SETTINGS]
    assert typed == [], "a figure typed by hand beside the printed block"
    assert block.strip().splitlines()[0].startswith("`make bench` on "), "the block holds no run of make bench"
    assert "== Answer submission vs a bare FastAPI endpoint ==" in block
