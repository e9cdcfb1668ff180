"""Evaluate voc.sentiment against raw VADER and on the labelled dimension sets.

    python bench/eval_sentiment.py --data DIR [--markdown]

DIR holds VADER's human-rated sets (hutto_ICWSM_2014/*_GroundTruth.txt: id, mean
rating -4..4, text). With --fetch CACHE instead of --data, the sets are obtained
by `pip download vaderSentiment==3.3.2` (sdist) into CACHE and extracted.

Sentiment: Pearson r with the mean human rating, and binary F1: texts rated
exactly 0 are left out; the rest are positive (> 0) or negative (< 0); a
prediction is positive at compound >= 0.05, negative at <= -0.05, otherwise
neutral (a miss for either class); F1 is the mean of the two classes' F1.

Dev and test by document: every line is assigned to its source document (NYT and
Amazon ids "12_3" are document 12, snippet 3; a tweet or movie snippet is its own
document, as its id carries no other), and a document to dev or test by the
first byte of SHA-256("<set>/<document>"): even is dev, odd is test. Lines of
one editorial or one review never straddle the halves. Every tuned choice of
voc.sentiment (weights, word lists, the lexicon blend) is made on dev documents
(bench/tune_sentiment.py); the tables report test documents only.
Dimensions: bench/eval_dimensions.py (the held-out set first, the tuning sets
beside it), printed after the sentiment tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from bench.eval_dimensions import evaluate_all as evaluate_dimension_sets  # noqa: E402
from bench.eval_dimensions import format_markdown as format_dimensions_markdown  # noqa: E402
from bench.eval_dimensions import format_text as format_dimensions_text  # noqa: E402
from voc.sentiment import ANALYSER_VERSION, DIMENSIONS, analyse, analyse_batch  # noqa: E402
from voc.sentiment.text import clear_token_cache  # noqa: E402

# Speed is texts per CPU-second of this process (time.process_time), best of 5
# alternating runs, so other load on the machine barely counts; voc starts each
# run with empty caches.
REPEATS = 5
SETS = ("tweets", "movieReviewSnippets", "nytEditorialSnippets", "amazonReviewSnippets")
DEMO_FRAGMENTS = Path(__file__).resolve().parents[1] / "voc" / "demo" / "fragments.json"


def ensure_vader_data(cache_dir: str | Path) -> Path:
    """Directory of VADER's ground-truth sets under cache_dir; pip-downloads the 3.3.2 sdist if missing."""
    cache = Path(cache_dir)
    found = find_ground_truth(cache)
    if found is None:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
             "vaderSentiment==3.3.2", "-d", str(cache)],
            check=True,
        )
        found = find_ground_truth(cache)
    if found is None:
        raise FileNotFoundError(f"no *_GroundTruth.txt in the vaderSentiment sdist under {cache}")
    return found


def find_ground_truth(root: Path) -> Path | None:
    """The folder holding tweets_GroundTruth.txt under root, unpacking the sdist and its inner archive if needed."""
    if not root.exists():
        return None
    unpacked: set[Path] = set()
    while True:
        hit = next(root.rglob("tweets_GroundTruth.txt"), None)
        if hit is not None:
            return hit.parent
        # the sdist carries the sets as a tarball inside additional_resources/
        archives = {*root.rglob("vaderSentiment-*.tar.gz"), *root.rglob("hutto_ICWSM_2014.tar.gz")} - unpacked
        if not archives:
            return None
        for archive in archives:
            with tarfile.open(archive) as tar:
                tar.extractall(archive.parent, filter="data")
            unpacked.add(archive)


def load_ground_truth(path: Path) -> tuple[list[float], list[str]]:
    """Read one *_GroundTruth.txt file into (ratings, texts)."""
    _ids, ratings, texts = load_rated_lines(path)
    return ratings, texts


def load_rated_lines(path: Path) -> tuple[list[str], list[float], list[str]]:
    """Read one *_GroundTruth.txt file into (line ids, ratings, texts)."""
    ids, ratings, texts = [], [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3:
            ids.append(parts[0].strip())
            ratings.append(float(parts[1]))
            texts.append(parts[2])
    return ids, ratings, texts


def document_of(line_id: str) -> str:
    """The source document of a line: "12" for NYT/Amazon "12_3"; a tweet or movie snippet is its own."""
    return line_id.split("_", 1)[0]


def split_of(set_name: str, document: str) -> str:
    """"dev" or "test" for a document, fixed by a hash of set and document id (see module doc)."""
    return "dev" if hashlib.sha256(f"{set_name}/{document}".encode()).digest()[0] % 2 == 0 else "test"


def load_split(data_dir: Path, set_name: str, split: str) -> tuple[list[float], list[str]]:
    """(ratings, texts) of one set's lines whose documents fall in split ("dev" or "test")."""
    ids, ratings, texts = load_rated_lines(data_dir / f"{set_name}_GroundTruth.txt")
    keep = [i for i, line_id in enumerate(ids) if split_of(set_name, document_of(line_id)) == split]
    return [ratings[i] for i in keep], [texts[i] for i in keep]


def pearson(xs: list[float], ys: list[float]) -> float:
    """Pearson correlation coefficient."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    den = math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))
    return cov / den if den else 0.0


def binary_f1(gold: list[float], compound: list[float]) -> float:
    """Mean F1 of the positive and negative classes (gold 0 left out, see module doc)."""
    f1s = []
    for sign in (1, -1):
        tp = fp = fn = 0
        for g, c in zip(gold, compound, strict=True):
            if g == 0:
                continue
            pred = 1 if c >= 0.05 else (-1 if c <= -0.05 else 0)
            gold_sign = 1 if g > 0 else -1
            tp += pred == sign and gold_sign == sign
            fp += pred == sign and gold_sign != sign
            fn += pred != sign and gold_sign == sign
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / 2


def _timed_runs(vader, texts: list[str]) -> tuple[float, float, float, list[float], list[float]]:
    """Best-of-REPEATS CPU seconds of VADER, of voc's first pass (empty caches) and of voc warm."""
    vader_time = cold_time = warm_time = math.inf
    for _ in range(REPEATS):
        t0 = time.process_time()
        raw = [vader.polarity_scores(t)["compound"] for t in texts]
        t1 = time.process_time()
        clear_token_cache()  # a first pass: nothing learnt from an earlier run over the same texts
        t2 = time.process_time()
        ours = [a.compound for a in analyse_batch(texts)]
        t3 = time.process_time()
        analyse_batch(texts)
        t4 = time.process_time()
        vader_time, cold_time, warm_time = min(vader_time, t1 - t0), min(cold_time, t3 - t2), min(warm_time, t4 - t3)
    return vader_time, cold_time, warm_time, raw, ours


def evaluate_sentiment(data_dir: Path) -> list[dict]:
    """Pearson r, binary F1 and texts/second for raw VADER and voc on each set's test documents.

    Pearson r on the dev documents (what the tuning saw) is kept alongside, for the terminal.
    """
    vader = SentimentIntensityAnalyzer()
    analyse("warm-up")  # load lexicons outside the timed runs
    rows = []
    for name in SETS:
        gold, texts = load_split(data_dir, name, "test")
        vader_time, voc_time, warm_time, raw, ours = _timed_runs(vader, texts)
        dev_gold, dev_texts = load_split(data_dir, name, "dev")
        dev_raw = [vader.polarity_scores(t)["compound"] for t in dev_texts]
        dev_ours = [a.compound for a in analyse_batch(dev_texts)]
        rows.append({
            "set": name, "n": len(texts),
            "vader_r": pearson(gold, raw), "voc_r": pearson(gold, ours),
            "vader_f1": binary_f1(gold, raw), "voc_f1": binary_f1(gold, ours),
            "vader_tps": len(texts) / vader_time, "voc_tps": len(texts) / voc_time,
            "voc_warm_tps": len(texts) / warm_time,
            "dev": {"n": len(dev_texts), "vader_r": pearson(dev_gold, dev_raw), "voc_r": pearson(dev_gold, dev_ours)},
        })
    return rows


def _sign(value: float) -> int:
    return 0 if abs(value) < 0.05 else (1 if value > 0 else -1)


def evaluate_demo_fragments(path: Path = DEMO_FRAGMENTS) -> dict | None:
    """Recall and valence sign of the intended dimension on the demo generator's clauses.

    voc/demo/fragments.json was written by another engineer, clause by clause, each
    under a dimension and a polarity: an independent check, never tuned on. Only
    recall is measured, as a clause may rightly voice a second dimension too.
    """
    if not path.exists():
        return None
    try:
        from voc.demo.texts import _fill  # fills placeholders such as {times} the demo's way
    except ImportError:
        def _fill(_rng, text):
            return text
    rng = random.Random(7)
    topics = json.loads(path.read_text(encoding="utf-8"))
    groups = list(topics["TOUCHPOINT_TOPICS"].values()) + [topics["GENERIC_TOPICS"]]
    rows = [(dim, 1 if polarity == "positive" else -1, _fill(rng, clause))
            for group in groups for dim, polarities in group.items()
            for polarity, clauses in polarities.items() for clause in clauses]
    results = analyse_batch([text for _dim, _sign, text in rows])
    per_dim: dict[str, dict] = {}
    for dim in DIMENSIONS:
        mine = [(sign, result) for (d, sign, _t), result in zip(rows, results, strict=True) if d == dim]
        found = [(sign, result.dimensions[dim]) for sign, result in mine if result.dimensions[dim] is not None]
        per_dim[dim] = {"n": len(mine), "recall": len(found) / len(mine) if mine else 0.0,
                        "sign_acc": sum(_sign(score.valence) == sign for sign, score in found) / len(found)
                        if found else 0.0}
    found_total = sum(d["recall"] * d["n"] for d in per_dim.values())
    return {"n": len(rows), "dimensions": per_dim,
            "recall": found_total / len(rows),
            "sign_acc": sum(d["sign_acc"] * d["recall"] * d["n"] for d in per_dim.values()) / found_total}


def format_text(sentiment: list[dict], dims: dict[str, dict], demo: dict | None = None) -> str:
    """Plain-text tables for the terminal."""
    head = ("set", "n", "r VADER", "r voc", "F1 VADER", "F1 voc", "VADER t/s", "voc t/s", "speed", "warm t/s", "speed")
    out = [f"analyser {ANALYSER_VERSION}; sentiment on test documents only",
           "{:<22}{:>6}{:>9}{:>8}{:>10}{:>8}{:>11}{:>9}{:>7}{:>10}{:>7}".format(*head)]
    for r in sentiment:
        cold, warm = r["voc_tps"] / r["vader_tps"], r["voc_warm_tps"] / r["vader_tps"]
        out.append(
            f"{r['set']:<22}{r['n']:>6}{r['vader_r']:>9.4f}{r['voc_r']:>8.4f}{r['vader_f1']:>10.4f}{r['voc_f1']:>8.4f}"
            f"{r['vader_tps']:>11.0f}{r['voc_tps']:>9.0f}{cold:>6.2f}x{r['voc_warm_tps']:>10.0f}{warm:>6.2f}x"
        )
    out.append("voc t/s: first pass with empty caches; warm t/s: the same texts again (a long-running worker).")
    out += ["", "Pearson r on the dev documents (tuned on) and the test documents (held out)",
            "{:<22}{:>6}{:>9}{:>8}{:>8}{:>6}{:>9}{:>8}{:>8}".format(
                "set", "dev n", "dev V", "voc", "gain", "n", "test V", "voc", "gain")]
    for r in sentiment:
        d = r["dev"]
        out.append(f"{r['set']:<22}{d['n']:>6}{d['vader_r']:>9.4f}{d['voc_r']:>8.4f}{d['voc_r'] - d['vader_r']:>+8.4f}"
                   f"{r['n']:>6}{r['vader_r']:>9.4f}{r['voc_r']:>8.4f}{r['voc_r'] - r['vader_r']:>+8.4f}")
    out.append(format_dimensions_text(dims))
    if demo:
        out += ["", f"independent check: demo generator clauses (n={demo['n']}), intended dimension found",
                f"{'dimension':<10}{'n':>8}{'recall':>8}{'sign':>7}"]
        for dim, d in demo["dimensions"].items():
            out.append(f"{dim:<10}{d['n']:>8}{d['recall']:>8.3f}{d['sign_acc']:>7.3f}")
        out.append(f"{'all':<10}{demo['n']:>8}{demo['recall']:>8.3f}{demo['sign_acc']:>7.3f}")
    return "\n".join(out)


def format_sentiment_markdown(sentiment: list[dict]) -> list[str]:
    """The sentiment table (test documents only) as Markdown lines."""
    out = [
        f"Analyser `{ANALYSER_VERSION}`. VADER's sets: test documents only (split by source document, "
        "see bench/eval_sentiment.py).",
        "",
        "| Set | n | Pearson r VADER | Pearson r voc | F1 VADER | F1 voc | VADER texts/s "
        "| voc texts/s (first pass / warm) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sentiment:
        out.append(f"| {r['set']} | {r['n']} | {r['vader_r']:.3f} | {r['voc_r']:.3f} | {r['vader_f1']:.3f} | "
                   f"{r['voc_f1']:.3f} | {r['vader_tps']:.0f} | {r['voc_tps']:.0f} / {r['voc_warm_tps']:.0f} |")
    return out


def format_markdown(sentiment: list[dict], dims: dict[str, dict], demo: dict | None = None) -> str:
    """The same results as Markdown tables, for README.md."""
    out = format_sentiment_markdown(sentiment)
    out += ["", format_dimensions_markdown(dims)]
    if demo:
        cells = " | ".join(f"{demo['dimensions'][d]['recall']:.2f}" for d in DIMENSIONS)
        header = " | ".join(f"{d} recall" for d in DIMENSIONS)
        out += ["", f"| Independent check | {header} | recall | valence sign |",
                "|---|" + "---:|" * (len(DIMENSIONS) + 2),
                f"| demo clauses (n={demo['n']}) | {cells} | {demo['recall']:.2f} | {demo['sign_acc']:.2f} |"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run both evaluations and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="directory with *_GroundTruth.txt")
    source.add_argument("--fetch", type=Path, metavar="CACHE", help="pip-download VADER's sets into CACHE")
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    args = parser.parse_args(argv)
    data_dir = ensure_vader_data(args.fetch) if args.fetch else find_ground_truth(args.data)
    if data_dir is None:
        parser.error(f"no *_GroundTruth.txt (or vaderSentiment sdist) under {args.data}")
    sentiment = evaluate_sentiment(data_dir)
    dims = evaluate_dimension_sets()
    demo = evaluate_demo_fragments()
    print(format_text(sentiment, dims, demo))
    if args.markdown:
        print()
        print(format_markdown(sentiment, dims, demo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
