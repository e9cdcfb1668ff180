"""The evaluation's dev/test split of VADER's rated sets: by source document, stable, and what README shows.

Lines of one NYT editorial or one Amazon review share words, topics and a writer, so a
line held out while its neighbour was tuned on is not held out: the split is by document.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.eval_sentiment import (
    SETS,
    document_of,
    find_ground_truth,
    format_sentiment_markdown,
    load_rated_lines,
    load_split,
    split_of,
)
from tests.conftest import IN_CI, skip_or_fail

ROOT = Path(__file__).resolve().parents[2]


def _write_set(path: Path, ids: list[str]) -> None:
    path.write_text("".join(f"{line_id}\t{k % 9 - 4}\ttext {line_id}\n" for k, line_id in enumerate(ids)),
                    encoding="utf-8")


def test_lines_of_one_document_land_in_the_same_half(tmp_path):
    ids = [f"{doc}_{snippet}" for doc in range(1, 201) for snippet in range(1, 1 + doc % 7 + 1)]
    _write_set(tmp_path / "nytEditorialSnippets_GroundTruth.txt", ids)
    halves = {half: load_split(tmp_path, "nytEditorialSnippets", half)[1] for half in ("dev", "test")}
    docs = {half: {text.split()[1].split("_")[0] for text in texts} for half, texts in halves.items()}
    assert not docs["dev"] & docs["test"]  # no editorial has lines on both sides
    assert sorted(halves["dev"] + halves["test"]) == sorted(f"text {i}" for i in ids)  # every line, once
    assert 60 <= len(docs["dev"]) <= 140  # about half the documents each


def test_a_tweet_or_movie_snippet_is_its_own_document():
    assert document_of("12_3") == document_of("12_17") == "12"
    assert document_of("4031") == "4031"
    assert len({split_of("tweets", str(i)) for i in range(1, 50)}) == 2


def test_the_split_is_stable_whatever_the_order_of_the_lines(tmp_path):
    ids = [f"{doc}_{snippet}" for doc in range(1, 60) for snippet in range(1, 4)]
    _write_set(tmp_path / "amazonReviewSnippets_GroundTruth.txt", ids)
    first = load_split(tmp_path, "amazonReviewSnippets", "test")[1]
    random.Random(3).shuffle(ids)
    _write_set(tmp_path / "amazonReviewSnippets_GroundTruth.txt", ids)
    assert sorted(load_split(tmp_path, "amazonReviewSnippets", "test")[1]) == sorted(first)
    # fixed by SHA-256 of "<set>/<document>", not by Python's per-process hash(): the same in every run,
    # on every machine (these were computed once; a changed rule would silently move figures)
    assert [split_of("nytEditorialSnippets", str(doc)) for doc in range(1, 9)] == [
        "dev", "test", "test", "dev", "dev", "dev", "dev", "dev"]
    assert [split_of("amazonReviewSnippets", str(doc)) for doc in range(1, 9)] == [
        "test", "test", "test", "test", "test", "dev", "test", "dev"]


@pytest.mark.xdist_group("vader-data")
def test_no_real_document_straddles_dev_and_test():
    found = find_ground_truth(ROOT / ".cache" / "vader")
    if found is None:
        if not IN_CI:
            skip_or_fail("VADER's rated sets are not in .cache/vader: `make eval` fetches them once")
        from bench.eval_sentiment import ensure_vader_data

        found = ensure_vader_data(ROOT / ".cache" / "vader")
    for name in SETS:
        ids, _ratings, _texts = load_rated_lines(found / f"{name}_GroundTruth.txt")
        halves: dict[str, set[str]] = {"dev": set(), "test": set()}
        for line_id in ids:
            halves[split_of(name, document_of(line_id))].add(document_of(line_id))
        assert not halves["dev"] & halves["test"], name
        share = len(halves["test"]) / (len(halves["dev"]) + len(halves["test"]))
        assert 0.4 < share < 0.6, (name, share)
    nyt = load_rated_lines(found / "nytEditorialSnippets_GroundTruth.txt")[0]
    assert len({document_of(line_id) for line_id in nyt}) == 498  # editorials, not 5190 independent lines


def test_readme_shows_the_table_make_eval_prints():
    row = {"set": "tweets", "n": 1, "vader_r": 0.5, "voc_r": 0.5, "vader_f1": 0.5, "voc_f1": 0.5,
           "vader_tps": 1.0, "voc_tps": 1.0, "voc_warm_tps": 1.0}
    printed = format_sentiment_markdown([row])
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("<!-- eval-table -->"):readme.index("<!-- /eval-table -->")]
    assert printed[0] in table  # "Analyser `voc-x.y`. VADER's sets: test documents only ...": this analyser's run
    assert printed[2] in table and printed[3] in table  # the column header and its alignment row
    assert "test documents only" in printed[0]
