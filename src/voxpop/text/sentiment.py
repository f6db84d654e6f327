"""Sentiment of English comments: VADER (Hutto & Gilbert 2014) with a customer-feedback lexicon and clauses.

Scores are VADER's compound, from −1 to 1. The labels use the paper's thresholds: ≥ 0.05 positive, ≤ −0.05
negative, neutral between. A comment is scored as a whole and per sentence; a sentence that turns at a
contrast ("great staff but the app keeps crashing") is split there, so each clause carries its own polarity.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
    normalize,
    scalar_inc_dec,
)

VADER_ALPHA = 15  # the normalisation constant of VADER's compound score
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
# Words whose customer-feedback sense VADER's general-purpose lexicon misses or underrates, on its −4..4
# valence scale. Together they raise accuracy on the human-rated sets (tests/text/test_real_accuracy.py).
FEEDBACK_LEXICON = {
    "crashes": -1.7, "crashing": -1.7, "crashed": -1.7, "crashy": -1.7, "buggy": -1.8, "glitch": -1.3,
    "glitches": -1.3, "glitchy": -1.5, "laggy": -1.5, "freezes": -1.2, "unresponsive": -1.5, "slow": -1.0,
    "slower": -1.0, "slowest": -1.4, "sluggish": -1.2, "late": -0.8, "delay": -0.9, "delays": -0.9,
    "canceled": -1.0, "overpriced": -1.8, "overcharged": -2.0, "ripoff": -2.3, "unhelpful": -1.8,
    "unprofessional": -2.0, "refund": -0.5, "wait": -0.5, "waiting": -0.7, "waited": -0.6, "stranded": -1.6,
    "fast": 1.0, "quick": 0.9, "speedy": 1.3, "seamless": 1.5, "user-friendly": 1.8, "hassle-free": 1.8,
    "knowledgeable": 1.6, "courteous": 1.8,
    # In feedback "support" names the department ("support was unhelpful"), not a kindness (VADER: +1.7).
    "support": 0.0,
}
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
# A contrast starts a new clause; the clause keeps its conjunction for display but is scored without it, as
# VADER would otherwise weight everything after "but" by half again.
CONTRAST = re.compile(r"[,;]?\s+\b(but|however|although|though|except|whereas)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SentenceSentiment:
    """One sentence or clause: its [start, end) offsets in the comment, score and label."""

    start: int
    end: int
    score: float
    label: str


@dataclass(frozen=True)
class Sentiment:
    """A comment's score and label, with the score of each sentence or clause."""

    score: float
    label: str
    sentences: tuple[SentenceSentiment, ...]


def sentiment_label(score: float) -> str:
    """negative, neutral or positive by the compound thresholds of Hutto & Gilbert (2014)."""
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    return "negative" if score <= NEGATIVE_THRESHOLD else "neutral"


NEGATIONS = frozenset(NEGATE)


class QuickVader(SentimentIntensityAnalyzer):
    """VADER 3.3.2 with the same scores, lower-casing each word once instead of once per word it modifies.

    The published code lower-cases the whole sentence for every sentiment word it checks for negation, which
    makes a long comment cost the square of its length; tests/text/test_sentiment.py checks the scores match.
    """

    def polarity_scores(self, text: str) -> dict[str, float]:
        """VADER's scores: neg, neu, pos and compound."""
        sentitext, sentiments = self.valences(text)
        return self.score_valence(sentiments, sentitext.text)

    def compound(self, text: str) -> float:
        """VADER's compound score alone, as polarity_scores gives it, without working out neg, neu and pos."""
        sentitext, sentiments = self.valences(text)
        if not sentiments:
            return 0.0
        total, emphasis = float(sum(sentiments)), self._punctuation_emphasis(sentitext.text)
        total += emphasis if total > 0 else -emphasis if total < 0 else 0.0
        return round(normalize(total), 4)

    def valences(self, text: str) -> tuple[SentiText, list[float]]:
        """The text as VADER reads it and the valence of each of its words."""
        # The emoji lexicon holds no ASCII character, so ASCII text skips VADER's character-by-character copy.
        sentitext = SentiText(text.strip() if text.isascii() else self.without_emoji(text))
        words = sentitext.words_and_emoticons
        lower = [word.lower() for word in words]
        sentiments: list[float] = []
        for i, word in enumerate(lower):
            if (word not in self.lexicon or word in BOOSTER_DICT
                    or (word == "kind" and i < len(lower) - 1 and lower[i + 1] == "of")):
                sentiments.append(0)
            else:
                sentiments.append(self.word_valence(words, lower, i, sentitext.is_cap_diff))
        return sentitext, self._but_check(words, sentiments)

    def without_emoji(self, text: str) -> str:
        """Each emoji replaced by its description, as VADER does before scoring."""
        pieces, previous_space = [], True
        for char in text:
            description = self.emojis.get(char)
            if description is None:
                pieces.append(char)
                previous_space = char == " "
            else:
                pieces.append(description if previous_space else " " + description)
                previous_space = False
        return "".join(pieces).strip()

    def word_valence(self, words: list[str], lower: list[str], i: int, is_cap_diff: bool) -> float:
        """VADER's sentiment_valence for the i-th word, one in the lexicon, reading the lower-cased words given."""
        word = lower[i]
        valence = self.lexicon[word]
        if word == "no" and i != len(lower) - 1 and lower[i + 1] in self.lexicon:
            valence = 0.0
        if ((i > 0 and lower[i - 1] == "no") or (i > 1 and lower[i - 2] == "no")
                or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor"))):
            valence = self.lexicon[word] * N_SCALAR
        if words[i].isupper() and is_cap_diff:
            valence += C_INCR if valence > 0 else -C_INCR
        for start_i in range(3):
            if i > start_i and lower[i - (start_i + 1)] not in self.lexicon:
                scalar = scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if scalar != 0:
                    scalar *= (1.0, 0.95, 0.9)[start_i]
                valence = negation_check(valence + scalar, lower, start_i, i)
                if start_i == 2:
                    valence = special_idioms_check(valence, lower, i)
        return self._least_check(valence, words, i)


def is_negation(word: str) -> bool:
    """VADER's negated() for one lower-cased word."""
    return word in NEGATIONS or "n't" in word


def negation_check(valence: float, lower: list[str], start_i: int, i: int) -> float:
    """VADER's _negation_check on lower-cased words."""
    if start_i == 0:
        return valence * N_SCALAR if is_negation(lower[i - 1]) else valence
    if start_i == 1:
        if lower[i - 2] == "never" and lower[i - 1] in ("so", "this"):
            return valence * 1.25
        if lower[i - 2] == "without" and lower[i - 1] == "doubt":
            return valence
        return valence * N_SCALAR if is_negation(lower[i - 2]) else valence
    if (lower[i - 3] == "never" and lower[i - 2] in ("so", "this")) or lower[i - 1] in ("so", "this"):
        return valence * 1.25
    if lower[i - 3] == "without" and "doubt" in (lower[i - 2], lower[i - 1]):
        return valence
    return valence * N_SCALAR if is_negation(lower[i - 3]) else valence


def special_idioms_check(valence: float, lower: list[str], i: int) -> float:
    """VADER's _special_idioms_check on lower-cased words."""
    onezero, twoonezero = f"{lower[i - 1]} {lower[i]}", f"{lower[i - 2]} {lower[i - 1]} {lower[i]}"
    twoone, threetwoone = f"{lower[i - 2]} {lower[i - 1]}", f"{lower[i - 3]} {lower[i - 2]} {lower[i - 1]}"
    threetwo = f"{lower[i - 3]} {lower[i - 2]}"
    for sequence in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if sequence in SPECIAL_CASES:
            valence = SPECIAL_CASES[sequence]
            break
    if len(lower) - 1 > i and f"{lower[i]} {lower[i + 1]}" in SPECIAL_CASES:
        valence = SPECIAL_CASES[f"{lower[i]} {lower[i + 1]}"]
    if len(lower) - 1 > i + 1 and f"{lower[i]} {lower[i + 1]} {lower[i + 2]}" in SPECIAL_CASES:
        valence = SPECIAL_CASES[f"{lower[i]} {lower[i + 1]} {lower[i + 2]}"]
    for n_gram in (threetwoone, threetwo, twoone):
        valence += BOOSTER_DICT.get(n_gram, 0)
    return valence


@cache
def plain_vader() -> SentimentIntensityAnalyzer:
    """VADER as published, the baseline."""
    return SentimentIntensityAnalyzer()


@cache
def feedback_vader() -> QuickVader:
    """VADER with the customer-feedback lexicon added."""
    analyzer = QuickVader()
    analyzer.lexicon.update(FEEDBACK_LEXICON)
    return analyzer


def vader_score(text: str) -> float:
    """Plain VADER compound score of a whole text."""
    return plain_vader().polarity_scores(text)["compound"]


def clauses(text: str) -> list[tuple[int, int, int]]:
    """(start, end, scoring start) of each sentence, split again before each contrast."""
    pieces = []
    for start, end in sentence_spans(text):
        # Each cut: where the clause before it ends, where the next one starts, and where its scoring starts.
        cuts = [(match.start(), match.start(1), match.end(1)) for match in CONTRAST.finditer(text, start, end)]
        for (_, piece_start, scoring_start), (piece_end, _, _) in zip([(start, start, start), *cuts],
                                                                       [*cuts, (end, end, end)]):
            if text[scoring_start:piece_end].strip():
                pieces.append((piece_start, piece_end, scoring_start))
    return pieces


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence, trimmed of surrounding space."""
    spans, start = [], 0
    for match in [*SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        if piece.strip():
            left = start + len(piece) - len(piece.lstrip())
            spans.append((left, start + len(piece.rstrip())))
        start = match.end() if match else end
    return spans


def raw_valence(compound: float) -> float:
    """Invert VADER's normalisation x / √(x² + α), α = 15, to the summed valence behind a compound score."""
    compound = max(min(compound, 0.9999), -0.9999)  # VADER rounds to 4 places, so ±1 can appear
    return compound * math.sqrt(VADER_ALPHA) / math.sqrt(1 - compound * compound)


def score_sentiment(text: str) -> Sentiment:
    """Per-clause sentiment with the customer-feedback lexicon, and the comment's score from its clauses.

    The comment score is VADER's own aggregation over the clauses: their summed valences, the clause before a
    "but" weighted 0.5 and the one after 1.5 (VADER's rule), normalised again. This gives plain VADER's
    accuracy with one scoring pass instead of two.
    """
    analyzer = feedback_vader()
    sentences, total = [], 0.0
    pieces = clauses(text)
    for index, (start, end, scoring_start) in enumerate(pieces):
        score = analyzer.compound(text[scoring_start:end])
        sentences.append(SentenceSentiment(start, end, score, sentiment_label(score)))
        follows_but = text[start:scoring_start].lower() == "but"
        precedes_but = index + 1 < len(pieces) and text[pieces[index + 1][0]:pieces[index + 1][2]].lower() == "but"
        total += raw_valence(score) * (1.5 if follows_but else 0.5 if precedes_but else 1.0)
    whole = round(total / math.sqrt(total * total + VADER_ALPHA), 4)
    return Sentiment(whole, sentiment_label(whole), tuple(sentences))
