"""`voc analyze` core: JSON lines in, one analysis per line out, bad lines reported and skipped."""

from __future__ import annotations

import io
import json

from voc.sentiment.cli import run_analyze


def _run(lines: list[str]) -> tuple[int, list[dict], str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_analyze(io.StringIO("\n".join(lines) + "\n"), stdout, stderr)
    return code, [json.loads(line) for line in stdout.getvalue().splitlines()], stderr.getvalue()


def test_must_show_line():
    text = (
        "The room smelled of mould and I had to call reception three times, "
        "but the staff remembered my name."
    )
    code, out, err = _run([json.dumps({"id": "1", "text": text})])
    assert code == 0 and err == ""
    dims = out[0]["dimensions"]
    assert out[0]["id"] == "1"
    assert dims["sense"]["valence"] < 0 and dims["act"]["valence"] < 0 and dims["relate"]["valence"] > 0
    assert {"id", "sentiment", "dimensions", "themes"} <= set(out[0])


def test_output_keeps_input_order_and_ids():
    items = [{"id": i, "text": text} for i, text in enumerate(["Great!", "Awful.", "n/a", "Took forever."] * 300)]
    code, out, _ = _run([json.dumps(item) for item in items])
    assert code == 0
    assert [row["id"] for row in out] == [item["id"] for item in items]
    assert [row["sentiment"]["label"] for row in out[:4]] == ["positive", "negative", "neutral", "negative"]


def test_malformed_lines_are_reported_with_line_numbers_and_the_rest_processed():
    lines = [
        json.dumps({"id": "a", "text": "Lovely staff"}),
        "{not json",
        json.dumps({"id": "c"}),
        json.dumps({"id": "d", "text": 42}),
        json.dumps(["text", "in a list"]),
        json.dumps({"id": "f", "text": "The wait was endless"}),
    ]
    code, out, err = _run(lines)
    assert code == 1
    assert [row["id"] for row in out] == ["a", "f"]
    for number in (2, 3, 4, 5):
        assert f"line {number}:" in err
    assert "line 1:" not in err and "line 6:" not in err


def test_blank_lines_are_skipped_but_still_counted():
    code, out, err = _run([json.dumps({"id": 1, "text": "fine"}), "", "oops"])
    assert code == 1
    assert len(out) == 1
    assert "line 3:" in err


def test_missing_id_and_unicode_text_are_fine():
    code, out, _ = _run([json.dumps({"text": "Café was très bien 😀"}, ensure_ascii=False)])
    assert code == 0 and out[0]["id"] is None


def test_empty_input_writes_nothing():
    stdout, stderr = io.StringIO(), io.StringIO()
    assert run_analyze(io.StringIO(""), stdout, stderr) == 0
    assert stdout.getvalue().strip() == "" and stderr.getvalue() == ""


def test_binary_stdin_with_invalid_utf8_is_reported_not_fatal():
    raw = io.BytesIO(json.dumps({"id": 1, "text": "ok"}).encode() + b"\n\xff\xfe{\n")
    stdout, stderr = io.StringIO(), io.StringIO()
    assert run_analyze(raw, stdout, stderr) == 1
    assert len(stdout.getvalue().splitlines()) == 1
    assert "line 2:" in stderr.getvalue()
