"""Per-word valences: VADER's rules on each clause, then the CX domain layer on top.

VADER's lexicon is used with Pattern's English adjective lexicon (via
textblob): a word both rate takes 70% of VADER's valence and 30% of Pattern's,
a word only Pattern rates takes Pattern's where its polarity is clear. Then our
changes (data/overrides.txt: CX department words neutralised, missing fault
words added) and the regular inflections VADER lacks ("delays", "lacking",
"terribly"). Adjectives weigh 1.4 and verbs 1.2 times a noun or any other word
(lexicon.word_classes): they evaluate, while a noun often only names a topic.
"like" counts as liking only after a subject or adverb, "pretty good" is not
two compliments, and "hardly"/"barely" negate.

A capitalised word inside a proper name ("a room at the Best Western", "bought
at Best Buy") names something rather than voicing an opinion: mid-clause, next
to another capitalised word, it carries no valence, unless most of the clause
is capitalised (a shouted or title-case comment).

Polarity shifters (apply_shifters): a verb of decrease turns the harm it
governs into a gain ("eliminates the risk of mistakes", "prevents errors"), and
"lack of", "devoid of" and a bare "few" negate what follows ("lacked courtesy",
"few guests liked it"), both up to four words on and not across a pause.

Every weight here, and which decrease verbs and privatives count, was chosen on
the dev documents of VADER's rated sets, never on their test documents
(bench/tune_sentiment.py).
"""

from __future__ import annotations

import math

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    scalar_inc_dec,
)

from voc.sentiment.lexicon import (
    Entry,
    class_weight,
    duration_prior,
    evaluative_forms,
    general_lexicon,
    overrides,
    pattern_polarities,
    word_classes,
)
from voc.sentiment.stemming import word_set

# "like" is mostly a preposition ("felt like a number"); it is liking only after these.
_LIKE_SUBJECTS = word_set(
    "i we you they he she people everyone really also just still totally definitely actually "
    "genuinely do did does don't didn't doesn't dont didnt doesnt would i'd we'd"
)
_VADER_NEGATE = frozenset(NEGATE)
_NEGATORS = frozenset(NEGATE) | word_set(
    "no not never nobody noone no-one nothing nowhere neither nor without hardly barely cannot"
)
_BOOSTERS = frozenset(BOOSTER_DICT) | {"super", "really", "so", "very", "extremely"}
_NEGATION_WINDOW = 4
# Verbs of decrease: what they govern loses its harm ("prevented a mistake", "tackled
# the problem"). Only the families that help on the dev documents of VADER's sets
# other than the NYT editorials stay (bench/tune_sentiment.py --words); "reduce",
# "less", "ban", "curb" and the like did not, or were met only in the editorials.
DECREASE_FAMILIES = (
    "prevent prevents prevented preventing prevention",
    "avoid avoids avoided avoiding",
    "eliminate eliminates eliminated eliminating elimination",
    "fight fights fought fighting",
    "minimize minimizes minimized minimizing minimise minimises minimised minimising",
    "overcome overcomes overcame overcoming",
    "tackle tackles tackled tackling",
)
DECREASERS = word_set(" ".join(DECREASE_FAMILIES))
# Words that deny what follows them, whatever its polarity ("lack of care", "devoid of humour");
# chosen like DECREASE_FAMILIES ("absence" showed nothing outside the editorials).
PRIVATIVES = word_set("lack lacks lacked lacking devoid few")
_NOT_PRIVATIVE_BEFORE_FEW = word_set("a quite the every")  # "a few good points" denies nothing
_ALMOST_NOT = frozenset({"hardly", "barely", "scarcely"})
# Inflecting these would coin unrelated words ("fines", "kinds", "likes" as nouns).
_NO_INFLECTION = word_set("fine kind like well pretty please sure mean lean cool free")


def _inflections(lexicon: dict[str, float], neutral: set[str]) -> dict[str, float]:
    """Regular inflections of VADER's words that its lexicon lacks ("delays", "lacking", "poorly")."""
    found: dict[str, list[float]] = {}
    for word, value in lexicon.items():
        if len(word) < 4 or not word.isalpha() or word in _NO_INFLECTION or word in neutral:
            continue
        forms = {word + "s", word + "ed", word + "ing", word + "ly"}
        if word.endswith(("s", "x", "sh", "ch")):
            forms.add(word + "es")
        if word.endswith("e"):
            forms |= {word + "d", word[:-1] + "ing"}
            if word.endswith("ble"):
                forms.add(word[:-1] + "y")  # "terrible" -> "terribly"
        if word.endswith("ic"):
            forms.add(word + "ally")  # "tragic" -> "tragically"
        if word.endswith("y") and word[-2] not in "aeiou":
            forms |= {word[:-1] + "ies", word[:-1] + "ied", word[:-1] + "ily"}
        if word[-1] in "bdgmnprt" and word[-2] in "aeiou" and word[-3] not in "aeiou":
            forms |= {word + word[-1] + "ed", word + word[-1] + "ing"}
        for form in forms:
            if form not in lexicon and form not in neutral:
                found.setdefault(form, []).append(value)
    return {form: sum(values) / len(values) for form, values in found.items()}
_PAUSE = (",", ";", ":", ".", "!", "?")
_PATTERN_SHARE = 0.3  # Pattern's share of a word both lexicons rate (chosen on dev documents of VADER's sets)


class ClauseScorer(SentimentIntensityAnalyzer):
    """VADER, loaded once with the CX lexicon overrides, scoring clauses word by word."""

    def __init__(self) -> None:
        super().__init__()
        # Two human-rated lexicons know more than one: where Pattern rates a word of
        # VADER's too, the valence is 70% VADER's and 30% Pattern's (polarity -1..1
        # taken to VADER's -4..4), which shrinks either rater pool's slips.
        pattern = pattern_polarities()
        for word, value in self.lexicon.items():
            polarity = pattern.get(word)
            if polarity:
                self.lexicon[word] = (1 - _PATTERN_SHARE) * value + _PATTERN_SHARE * 4.0 * polarity
        neutral = set()
        for word, value in overrides().items():
            if value == 0:
                self.lexicon.pop(word, None)
                neutral.add(word)
            else:
                self.lexicon[word] = value
        # A word the CX layer gives its own valence keeps it ("quickly" as service speed)
        cx_words = evaluative_forms()
        for word, value in general_lexicon().items():
            if word not in neutral and word not in self.lexicon and word not in cx_words:
                self.lexicon[word] = value
        for form, value in _inflections(self.lexicon, neutral).items():
            self.lexicon.setdefault(form, value)
        classes = word_classes()
        for word, value in self.lexicon.items():
            weight = class_weight(classes.get(word))
            if weight != 1.0:
                self.lexicon[word] = value * weight
        # VADER replaces emoji one character at a time, so only single characters count
        self.emojis = {ch: text for ch, text in self.emojis.items() if len(ch) == 1}

    def word_valences(
        self, words: list[str], lower: list[str] | None = None, hits: list[int] | None = None
    ) -> list[float]:
        """VADER's valence of each word of one clause (negation, boosters, caps, idioms).

        lower (the words lowercased) and hits (indexes of lexicon words) may be passed
        when the caller already knows them.
        """
        lexicon = self.lexicon
        if lower is None:
            lower = [w.lower() for w in words]
        n = len(words)
        sentiments = [0.0] * n
        if hits is None:
            hits = [i for i, low in enumerate(lower) if low in lexicon]
        if not hits:
            return sentiments
        # VADER's allcap_differential: some words, not all, are in capitals
        is_cap_diff = any(map(str.isupper, words)) and not all(map(str.isupper, words))
        shouted = None  # most words capitalised: capitals mark no names
        for i in hits:
            low = lower[i]
            if (
                low in BOOSTER_DICT
                or (low == "kind" and i < n - 1 and lower[i + 1] == "of")
                or (low == "like" and (i == 0 or lower[i - 1] not in _LIKE_SUBJECTS))
                # "pretty good": a hedge, not a second compliment
                or (low == "pretty" and i < n - 1 and lower[i + 1] in lexicon)
            ):
                continue
            if i and words[i][:1].isupper() and _in_proper_name(words, i):
                if shouted is None:
                    shouted = sum(1 for word in words if word[:1].isupper()) * 2 > n
                if not shouted:
                    continue
            value = _word_valence(lexicon, words, lower, i, is_cap_diff)
            # "hardly helpful" is unhelpful: VADER only dampens after these, we negate
            if (i > 0 and lower[i - 1] in _ALMOST_NOT) or (i > 1 and lower[i - 2] in _ALMOST_NOT):
                value *= N_SCALAR
            sentiments[i] = value
        return sentiments

    def punctuation_emphasis(self, text: str) -> float:
        """VADER's extra intensity for "!" and "??" in a sentence."""
        return self._punctuation_emphasis(text)


def _is_title(word: str) -> bool:
    return len(word) > 1 and word[0].isupper() and word[1:].islower() and word.isalpha()


def _in_proper_name(words: list[str], i: int) -> bool:
    """Whether words[i] (not the first word) is a capitalised word next to another one, as in a name."""
    if not _is_title(words[i]):
        return False
    before = words[i - 1]
    if _is_title(before) and before != "I":
        return True
    return i + 1 < len(words) and _is_title(words[i + 1].strip(".,;:!?'\""))


# VADER 3.3.2's SentimentIntensityAnalyzer.sentiment_valence and its helpers,
# unchanged in behaviour but lowercasing the clause once instead of once per
# rule (VADER rebuilds the lowercased word list for every check). The test
# suite checks it gives VADER's exact valences.
def _word_valence(lexicon: dict, words: list[str], lower: list[str], i: int, is_cap_diff: bool) -> float:
    low = lower[i]
    n = len(lower)
    valence = lexicon[low]
    if low == "no" and i != n - 1 and lower[i + 1] in lexicon:
        valence = 0.0
    if (i > 0 and lower[i - 1] == "no") or (i > 1 and lower[i - 2] == "no") or (
        i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor")
    ):
        valence = lexicon[low] * N_SCALAR
    if is_cap_diff and words[i].isupper():
        valence += C_INCR if valence > 0 else -C_INCR
    for start_i in range(3 if i > 2 else i):
        before = lower[i - (start_i + 1)]
        if before not in lexicon:
            # scalar_inc_dec is 0 for any word that is not a booster
            if before in BOOSTER_DICT:
                s = scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
            valence = _negation_check(valence, lower, start_i, i)
            if start_i == 2:
                valence = _special_idioms_check(valence, lower, i)
    if i > 0 and lower[i - 1] == "least":
        return _least_check(lexicon, valence, lower, i)
    return valence


def _negated(word: str) -> bool:
    return word in _VADER_NEGATE or "n't" in word


def _negation_check(valence: float, lower: list[str], start_i: int, i: int) -> float:
    if start_i == 0:
        if _negated(lower[i - 1]):
            valence = valence * N_SCALAR
    elif start_i == 1:
        if lower[i - 2] == "never" and lower[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
            pass
        elif _negated(lower[i - 2]):
            valence = valence * N_SCALAR
    else:
        if (lower[i - 3] == "never" and lower[i - 2] in ("so", "this")) or lower[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lower[i - 3] == "without" and (lower[i - 2] == "doubt" or lower[i - 1] == "doubt"):
            pass
        elif _negated(lower[i - 3]):
            valence = valence * N_SCALAR
    return valence


# Words of VADER's idioms and multi-word boosters: where none is near, no idiom can match.
_IDIOM_WORDS = frozenset(
    word for phrase in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in phrase for word in phrase.split()
)


def _special_idioms_check(valence: float, lower: list[str], i: int) -> float:
    if _IDIOM_WORDS.isdisjoint(lower[i - 3:i + 3]):
        return valence
    onezero = f"{lower[i - 1]} {lower[i]}"
    twoonezero = f"{lower[i - 2]} {lower[i - 1]} {lower[i]}"
    twoone = f"{lower[i - 2]} {lower[i - 1]}"
    threetwoone = f"{lower[i - 3]} {lower[i - 2]} {lower[i - 1]}"
    threetwo = f"{lower[i - 3]} {lower[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(lower) - 1 > i:
        zeroone = f"{lower[i]} {lower[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(lower) - 1 > i + 1:
        zeroonetwo = f"{lower[i]} {lower[i + 1]} {lower[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _least_check(lexicon: dict, valence: float, lower: list[str], i: int) -> float:
    if i > 1 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
        if lower[i - 2] != "at" and lower[i - 2] != "very":
            valence = valence * N_SCALAR
    elif i > 0 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
        valence = valence * N_SCALAR
    return valence


def apply_shifters(
    vals: list[float], norms, raws, lexicon: dict[str, float], start: int, stop: int, shifters: list[int]
) -> None:
    """Turn valences governed by a decrease verb or a privative word (see module docstring), in place."""
    for i in shifters:
        word = norms[i]
        if word == "few" and i > start and norms[i - 1] in _NOT_PRIVATIVE_BEFORE_FEW:
            continue
        privative = word in PRIVATIVES
        for j in range(i + 1, min(stop, i + 1 + _NEGATION_WINDOW)):
            if raws[j - 1].endswith(_PAUSE):
                break
            value = vals[j]
            if not value:
                continue
            if privative:
                vals[j] = value * N_SCALAR
            elif lexicon.get(norms[j], value) < 0:
                # a harm (even one VADER negated: "didn't prevent the errors") is turned around
                vals[j] = value * N_SCALAR if value < 0 else -value


def _negator_before(norms: list[str], raws: list[str], start: int, lower: int) -> int:
    """Index of a negator up to four words before start (not across a pause), else -1."""
    for j in range(start - 1, max(lower, start - _NEGATION_WINDOW) - 1, -1):
        if raws[j].endswith(_PAUSE):
            return -1
        word = norms[j]
        if word in _NEGATORS or word.endswith("n't"):
            return j
    return -1


def apply_domain(
    vals: list[float],
    norms: list[str],
    stems: list[str],
    raws: list[str],
    matches: list[tuple[int, int, Entry]],
    clause_start: int,
) -> None:
    """Add CX phrase priors to VADER's valences in place (negation and boosters applied)."""
    for start, stop, entry in matches:
        prior = entry.prior
        if prior is None:
            continue
        if prior == "dur":
            prior = duration_prior(norms, stems, start, stop)
        if stop - start == 1 and vals[start] != 0:
            continue  # VADER's human-rated valence wins for a single known word
        first = norms[start]
        if prior and first not in _NEGATORS and not first.endswith("n't"):
            j = _negator_before(norms, raws, start, clause_start)
            if j >= 0:
                prior *= N_SCALAR
                if norms[j] == "no":
                    vals[j] = 0.0  # "no hassle": "no" negates here, it is not a complaint itself
            elif start > clause_start and norms[start - 1] in _BOOSTERS:
                prior += math.copysign(0.293, prior)
        for j in range(start, stop):
            vals[j] = 0.0
        vals[start] = prior
