"""`voc analyze`: JSON lines {"id", "text"} in, one analysis line per input out."""

from __future__ import annotations

import json
from typing import IO

from voc.sentiment.analyser import analyse_batch

CHUNK_SIZE = 1000  # texts analysed and written per batch


def run_analyze(stdin: IO, stdout: IO, stderr: IO) -> int:
    """Analyse each JSON line of stdin in order; report malformed lines on stderr; 1 if any was malformed, else 0."""
    malformed = False
    ids: list[object] = []
    texts: list[str] = []
    for number, line in enumerate(stdin, start=1):
        if isinstance(line, bytes):
            line = line.decode("utf-8", errors="replace")
        if not line.strip():
            continue  # blank lines separate nothing in JSON lines; skip them quietly
        item, problem = _parse(line)
        if problem:
            malformed = True
            stderr.write(f"line {number}: {problem}\n")
            continue
        ids.append(item.get("id"))
        texts.append(item["text"])
        if len(texts) >= CHUNK_SIZE:
            _write(stdout, ids, texts)
            ids, texts = [], []
    if texts:
        _write(stdout, ids, texts)
    stdout.flush()
    return 1 if malformed else 0


def _parse(line: str) -> tuple[dict, str | None]:
    try:
        item = json.loads(line)
    except ValueError as exc:
        return {}, f"invalid JSON ({exc.msg})"
    if not isinstance(item, dict):
        return {}, "expected a JSON object with a \"text\" field"
    if "text" not in item:
        return {}, "missing \"text\""
    if not isinstance(item["text"], str):
        return {}, "\"text\" must be a string"
    return item, None


def _write(stdout: IO, ids: list[object], texts: list[str]) -> None:
    lines = []
    for item_id, analysis in zip(ids, analyse_batch(texts), strict=True):
        result = analysis.to_dict()
        lines.append(json.dumps({"id": item_id, **result}, ensure_ascii=False, separators=(",", ":")))
    stdout.write("\n".join(lines) + "\n")
