"""Evaluate voc's Schmitt dimensions on the held-out set and, beside it, on the tuning sets.

    python bench/eval_dimensions.py [--markdown]

tests/data/dimensions_heldout.jsonl is the headline: 206 comments written and
labelled without reading voc/sentiment's patterns or lexicons (guide in
tests/data/dimensions_heldout.md), frozen by the SHA-256 below, never tuned on.
dimensions_tuning_1.jsonl and dimensions_tuning_2.jsonl are what the patterns
were tuned on (labelling guide in tests/data/README.md): their figures are a
regression check, not a measure of accuracy.

Per dimension: precision, recall and F1 of "is it expressed" (salience), and,
where both gold and prediction express it, whether the valence sign agrees
(|v| < 0.05 counts as 0, which a gold 0 = "neutral or mixed" needs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voc.sentiment import ANALYSER_VERSION, DIMENSIONS, analyse_batch  # noqa: E402

DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "data"
HELDOUT = DATA_DIR / "dimensions_heldout.jsonl"
# Changing a row changes this hash and fails tests/sentiment/test_dimensions_heldout.py: the set
# stays exactly as written, so its figures cannot drift towards the analyser.
HELDOUT_SHA256 = "96811b3bb30fc9f8e85e1bd1cf7c4c08138076bbffb582dddb1bb9fd10ebb8dc"
TUNING = {"tuning 1": DATA_DIR / "dimensions_tuning_1.jsonl", "tuning 2": DATA_DIR / "dimensions_tuning_2.jsonl"}


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_rows(path: Path) -> list[dict]:
    """Rows {"text", "dimensions": {dim: -1|0|1|None}} of a labelled JSONL set."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sign(value: float) -> int:
    return 0 if abs(value) < 0.05 else (1 if value > 0 else -1)


def evaluate_dimensions(path: Path) -> dict:
    """Per-dimension precision, recall, F1 and valence-sign agreement on a labelled JSONL set."""
    rows = load_rows(path)
    results = analyse_batch([row["text"] for row in rows])
    per_dim, signs_ok, signs_n = {}, 0, 0
    for dim in DIMENSIONS:
        tp = fp = fn = ok = 0
        for row, result in zip(rows, results, strict=True):
            gold, pred = row["dimensions"].get(dim), result.dimensions[dim]
            tp += gold is not None and pred is not None
            fp += gold is None and pred is not None
            fn += gold is not None and pred is None
            if gold is not None and pred is not None:
                ok += _sign(pred.valence) == gold
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_dim[dim] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn,
                        "predicted": tp + fp, "both": tp, "sign_acc": ok / tp if tp else 0.0}
        signs_ok, signs_n = signs_ok + ok, signs_n + tp
    return {"n": len(rows), "dimensions": per_dim,
            "macro_f1": sum(d["f1"] for d in per_dim.values()) / len(DIMENSIONS),
            "sign_acc": signs_ok / signs_n if signs_n else 0.0, "sign_n": signs_n}


def evaluate_all() -> dict[str, dict]:
    """The held-out set first (refused if its hash changed), then the tuning sets."""
    digest = sha256_of(HELDOUT)
    if digest != HELDOUT_SHA256:
        raise SystemExit(f"{HELDOUT.name} changed (sha256 {digest}): the held-out set is frozen")
    return {"held-out": evaluate_dimensions(HELDOUT), **{name: evaluate_dimensions(p) for name, p in TUNING.items()}}


def format_text(dims: dict[str, dict]) -> str:
    """Plain-text tables for the terminal, one per set."""
    out = []
    for name, result in dims.items():
        note = "never tuned on" if name == "held-out" else "tuned on: a regression check"
        out += ["", f"dimensions: {name} (n={result['n']}, {note})",
                f"{'dimension':<10}{'support':>8}{'pred':>6}{'P':>7}{'R':>7}{'F1':>7}{'sign':>7}{'of':>5}"]
        for dim, d in result["dimensions"].items():
            out.append(f"{dim:<10}{d['support']:>8}{d['predicted']:>6}{d['precision']:>7.3f}{d['recall']:>7.3f}"
                       f"{d['f1']:>7.3f}{d['sign_acc']:>7.3f}{d['both']:>5}")
        out.append(f"{'macro F1':<10}{'':>8}{'':>6}{'':>7}{'':>7}{result['macro_f1']:>7.3f}"
                   f"{result['sign_acc']:>7.3f}{result['sign_n']:>5}")
    return "\n".join(out)


def format_markdown(dims: dict[str, dict]) -> str:
    """The held-out table (headline) and the tuning sets beside it, as Markdown for README.md."""
    held = dims["held-out"]
    out = [f"Dimensions on the held-out set (n={held['n']}, never tuned on, "
           "`tests/data/dimensions_heldout.jsonl`), the headline figures:",
           "",
           "| Dimension | support | precision | recall | F1 | valence sign agrees |",
           "|---|---:|---:|---:|---:|---:|"]
    for dim, d in held["dimensions"].items():
        out.append(f"| {dim} | {d['support']} | {d['precision']:.2f} | {d['recall']:.2f} | {d['f1']:.2f} | "
                   f"{d['sign_acc']:.2f} (of {d['both']}) |")
    out.append(f"| **macro** | | | | **{held['macro_f1']:.2f}** | **{held['sign_acc']:.2f}** (of {held['sign_n']}) |")
    tuning = {name: r for name, r in dims.items() if name != "held-out"}
    out += ["", "Beside it, the sets the patterns were tuned on (a regression check, not a measure of accuracy):",
            "",
            "| Set | " + " | ".join(f"{d} F1" for d in DIMENSIONS) + " | macro F1 | valence sign |",
            "|---|" + "---:|" * (len(DIMENSIONS) + 2)]
    for name, result in {"held-out": held, **tuning}.items():
        cells = " | ".join(f"{result['dimensions'][d]['f1']:.2f}" for d in DIMENSIONS)
        label = f"**held-out** (n={result['n']})" if name == "held-out" else f"{name}, tuned on (n={result['n']})"
        out.append(f"| {label} | {cells} | {result['macro_f1']:.2f} | {result['sign_acc']:.2f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Evaluate every dimension set and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    args = parser.parse_args(argv)
    dims = evaluate_all()
    print(f"analyser {ANALYSER_VERSION}" + format_text(dims))
    if args.markdown:
        print()
        print(format_markdown(dims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
