"""Choose voc.sentiment's tuned settings on the dev documents of VADER's sets, never on the test ones.

    python bench/tune_sentiment.py --fetch .cache/vader [--weights] [--words]

Reads only the dev documents (bench/eval_sentiment.py splits each set by source
document). --weights: for each tuned constant, Pearson r on each set's dev
documents at every candidate value, the others held at their shipped values;
a constant keeps its shipped value unless another beats it by MIN_GAIN in the
mean over the four sets. --words: for each family of a word list (the decrease
verbs, the privatives, the proper-name rule, the CX valence overrides), what it
adds to dev r per set. A decrease verb or privative family is kept only where
the dev documents of the sets other than the NYT editorials show it helps (voc
reads customers, not editorials).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.eval_sentiment import SETS, ensure_vader_data, find_ground_truth, load_split, pearson  # noqa: E402
from voc.sentiment import analyser, lexicon, scoring, words  # noqa: E402
from voc.sentiment.text import clear_token_cache  # noqa: E402

# A constant moves from its shipped value only for a mean dev r at least this much higher:
# smaller differences change a handful of lines and are noise at these sizes.
MIN_GAIN = 0.001
# Candidate values of each tuned constant: (module, name, candidates).
WEIGHTS = (
    (scoring, "_PATTERN_SHARE", (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)),
    (lexicon, "ADJECTIVE_WEIGHT", (1.0, 1.2, 1.3, 1.4, 1.5, 1.6)),
    (lexicon, "VERB_WEIGHT", (1.0, 1.1, 1.2, 1.3, 1.4)),
    (lexicon, "_GENERAL_MIN_POLARITY", (0.1, 0.2, 0.3, 0.4, 0.5, 1.01)),
    (lexicon, "_GENERAL_SCALE", (1.0, 1.5, 2.0, 2.5)),
    (analyser, "_POSITIVE_WEIGHT", (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)),
    (analyser, "_LENGTH_EXPONENT", (0.25, 0.3, 0.35, 0.4, 0.5)),
    (analyser, "_LENGTH_SCALE", (1.0, 1.5, 2.0, 2.5, 3.0)),
)


def rebuild() -> None:
    """Drop every cache built from the lexicons and constants, so the next analysis uses the current ones."""
    lexicon.general_lexicon.cache_clear()
    words.word_classifier.cache_clear()
    analyser._scorer = None
    clear_token_cache()


@contextmanager
def patched(changes: list[tuple[object, str, object]]) -> Iterator[None]:
    """Set module attributes for the duration, rebuilding the analyser before and after."""
    saved = [(module, name, getattr(module, name)) for module, name, _value in changes]
    for module, name, value in changes:
        setattr(module, name, value)
    rebuild()
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
        rebuild()


class Dev:
    """The dev documents of the four sets and the analyser's Pearson r on them."""

    def __init__(self, data_dir: Path) -> None:
        self.sets = {name: load_split(data_dir, name, "dev") for name in SETS}

    def compounds(self, name: str) -> list[float]:
        return [a.compound for a in analyser.analyse_batch(self.sets[name][1])]

    def scores(self) -> dict[str, float]:
        return {name: pearson(self.sets[name][0], self.compounds(name)) for name in SETS}

    def scores_without(self, words_found: re.Pattern, base: dict[str, list[float]]) -> dict[str, tuple[float, int]]:
        """Pearson r per set, re-analysing only the lines that contain one of the words; (r, lines affected)."""
        result = {}
        for name in SETS:
            gold, texts = self.sets[name]
            compounds = list(base[name])
            lines = [i for i, text in enumerate(texts) if words_found.search(text)]
            changed = 0
            for i in lines:
                value = analyser.analyse(texts[i]).compound
                changed += value != compounds[i]
                compounds[i] = value
            result[name] = (pearson(gold, compounds), changed)
        return result


def _row(label: str, scores: dict[str, float]) -> str:
    mean = sum(scores.values()) / len(scores)
    return f"{label:<34}" + "".join(f"{scores[name]:>9.4f}" for name in SETS) + f"{mean:>9.4f}"


def tune_weights(dev: Dev) -> None:
    """Print dev r for each candidate of each constant, the others at their shipped values, and the verdict."""
    print(f"{'constant = value':<34}" + "".join(f"{name[:8]:>9}" for name in SETS) + f"{'mean':>9}")
    for module, name, candidates in WEIGHTS:
        shipped = getattr(module, name)
        means = {}
        for value in candidates:
            with patched([(module, name, value)]):
                scores = dev.scores()
            means[value] = sum(scores.values()) / len(scores)
            print(_row(f"{name} = {value}{' *' if value == shipped else ''}", scores))
        best = max(means, key=means.get)
        move = means[best] - means[shipped] >= MIN_GAIN
        print(f"{name}: best {best} ({means[best] - means[shipped]:+.5f} over shipped {shipped}): "
              f"{'move to ' + str(best) if move else 'keep'}\n")


def _by_prefix(words_: list[str]) -> list[list[str]]:
    """Group words by their first four letters: "flaw flaws", "surprise surprised" are one family."""
    groups: dict[str, list[str]] = {}
    for word in sorted(words_):
        groups.setdefault(word[:4], []).append(word)
    return list(groups.values())


def _word_pattern(family: list[str]) -> re.Pattern:
    if not family:  # a rule rather than words: every line with a capital
        return re.compile(r"[A-Z]")
    return re.compile(r"\b(" + "|".join(map(re.escape, family)) + r")\b", re.IGNORECASE)


# Families once in scoring.DECREASE_FAMILIES / PRIVATIVES that the dev documents did not keep;
# --words measures what adding each back would do.
DROPPED_DECREASE_FAMILIES = (
    "reduce reduces reduced reducing reduction reductions",
    "decrease decreases decreased decreasing",
    "lessen lessens lessened lessening",
    "lower lowers lowered lowering",
    "combat combats combated combating combatting",
    "curb curbs curbed curbing",
    "limit limits limited limiting",
    "alleviate alleviates alleviated alleviating",
    "eradicate eradicates eradicated eradicating eradication",
    "halt halts halted halting",
    "diminish diminishes diminished diminishing",
    "mitigate mitigates mitigated mitigating",
    "ease eases eased easing",
    "relieve relieves relieved relieving relief",
    "cure cures cured curing",
    "abolish abolishes abolished abolishing",
    "ban bans banned banning",
    "fewer",
    "less",
    "slash slashes slashed slashing",
    "prohibit prohibits prohibited prohibiting",
    "outlaw outlaws outlawed",
    "shrink shrinks shrank shrinking",
)
DROPPED_PRIVATIVES = ("absence",)


def _effect(dev: Dev, base: dict[str, list[float]], base_r: dict[str, float], label: str,
            family: list[str], changes: list[tuple[object, str, object]], shipped: bool, judged: bool = True) -> None:
    """Print what the family adds to dev r per set (with it minus without it) and the verdict outside NYT."""
    with patched(changes):
        found = dev.scores_without(_word_pattern(family), base)
    sign = 1 if shipped else -1  # changes remove a shipped family, or add a dropped one
    gains = {name: sign * (base_r[name] - found[name][0]) for name in SETS}
    cells = "".join(f"{gains[name]:>+9.4f}{found[name][1]:>5}" for name in SETS)
    outside = sum(gains[name] for name in SETS if name != "nytEditorialSnippets")
    verdict = ("keep" if outside > 0 else "drop") if judged else "CX list, not judged here"
    status = "shipped" if shipped else "dropped"
    print(f"{label:<30}{cells}{outside:>+10.5f}  {status}: {verdict}")


def tune_words(dev: Dev) -> None:
    """Print, per word family, what it adds to dev r per set (+ = it helps) and whether it earns its place.

    n is the number of dev lines whose compound it changes; "outside" sums the gains
    over the sets other than the NYT editorials. A decrease verb or privative family
    is kept only where "outside" is positive. The CX overrides (data/overrides.txt)
    are shown for information: they stand on customer-comment reasoning, not on these sets.
    """
    base = {name: dev.compounds(name) for name in SETS}
    base_r = {name: pearson(dev.sets[name][0], base[name]) for name in SETS}
    print(f"{'family':<30}" + "".join(f"{name[:8]:>9}{'n':>5}" for name in SETS) + f"{'outside':>10}")
    decreasers, privatives = scoring.DECREASERS, scoring.PRIVATIVES
    for family, shipped in [(line.split(), True) for line in scoring.DECREASE_FAMILIES] + [
            (line.split(), False) for line in DROPPED_DECREASE_FAMILIES]:
        changed = decreasers - set(family) if shipped else decreasers | set(family)
        _effect(dev, base, base_r, "decrease " + family[0], family,
                [(scoring, "DECREASERS", changed), (words, "DECREASERS", changed)], shipped)
    for family, shipped in [(f, True) for f in _by_prefix(list(privatives))] + [
            ([word], False) for word in DROPPED_PRIVATIVES]:
        changed = privatives - set(family) if shipped else privatives | set(family)
        _effect(dev, base, base_r, "privative " + family[0], family,
                [(scoring, "PRIVATIVES", changed), (words, "PRIVATIVES", changed)], shipped)
    _effect(dev, base, base_r, "proper-name rule", [],
            [(scoring, "_in_proper_name", lambda _words, _i: False)], True)
    overrides = lexicon.overrides()
    for family in _by_prefix(list(overrides)):
        kept = {w: v for w, v in overrides.items() if w not in family}
        _effect(dev, base, base_r, f"override {family[0]} {overrides[family[0]]:g}", family,
                [(scoring, "overrides", _constant(kept))], True, judged=False)


def _constant(value: dict) -> Callable[[], dict]:
    return lambda: value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="directory with *_GroundTruth.txt")
    source.add_argument("--fetch", type=Path, metavar="CACHE", help="pip-download VADER's sets into CACHE")
    parser.add_argument("--weights", action="store_true", help="dev r at each candidate of each constant")
    parser.add_argument("--words", action="store_true", help="dev r without each word-list family")
    args = parser.parse_args(argv)
    data_dir = ensure_vader_data(args.fetch) if args.fetch else find_ground_truth(args.data)
    if data_dir is None:
        parser.error(f"no *_GroundTruth.txt (or vaderSentiment sdist) under {args.data}")
    dev = Dev(data_dir)
    print(_row("shipped", dev.scores()))
    if args.weights:
        tune_weights(dev)
    if args.words:
        tune_words(dev)
    return 0


if __name__ == "__main__":
    sys.exit(main())
