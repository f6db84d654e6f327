"""Accuracy of sentiment and theme tagging against human ratings and human coders."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from voxpop.text.sentiment import score_sentiment, sentiment_label

SENTIMENT_CLASSES = ("negative", "neutral", "positive")


class EvaluationError(ValueError):
    """Labels that cannot be evaluated, said in a sentence the user can act on."""


@dataclass(frozen=True)
class SentimentEvaluation:
    """Agreement of scores with human labels: correlations for ratings, accuracy and F1 for classes."""

    n: int
    pearson: float | None = None
    spearman: float | None = None
    accuracy: float | None = None
    macro_f1: float | None = None


@dataclass(frozen=True)
class ThemeEvaluation:
    """Agreement of the codebook with a human coder on one theme; None where a figure is undefined."""

    theme: str
    n: int
    precision: float | None
    recall: float | None
    f1: float | None
    kappa: float | None


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's product-moment correlation r (Pearson 1896); None when either side is constant."""
    x, y = np.asarray(x, float) - np.mean(x), np.asarray(y, float) - np.mean(y)
    denominator = math.sqrt(float(x @ x) * float(y @ y))
    return float(x @ y) / denominator if denominator else None


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's ρ (Spearman 1904): Pearson's r of the ranks, ties given their average rank."""
    return pearson(rankdata(x), rankdata(y))


def accuracy(predicted: Sequence[str], actual: Sequence[str]) -> float:
    """Share of items whose predicted label equals the human one."""
    return sum(p == a for p, a in zip(predicted, actual, strict=True)) / len(actual)


def f1(true_positives: int, false_positives: int, false_negatives: int) -> float | None:
    """F1, the harmonic mean of precision and recall (van Rijsbergen 1979): 2TP / (2TP + FP + FN)."""
    denominator = 2 * true_positives + false_positives + false_negatives
    return 2 * true_positives / denominator if denominator else None


def macro_f1(predicted: Sequence[str], actual: Sequence[str]) -> float:
    """Unweighted mean of the per-class F1 over every class that either side uses."""
    scores = []
    for label in sorted(set(predicted) | set(actual)):
        tp = sum(p == label and a == label for p, a in zip(predicted, actual))
        fp = sum(p == label and a != label for p, a in zip(predicted, actual))
        fn = sum(p != label and a == label for p, a in zip(predicted, actual))
        scores.append(f1(tp, fp, fn) or 0.0)
    return sum(scores) / len(scores)


def cohen_kappa(coder_a: Sequence[bool], coder_b: Sequence[bool]) -> float | None:
    """Cohen's κ = (p_o − p_e) / (1 − p_e) for two coders' yes/no codes (Cohen 1960); None if p_e is 1."""
    n = len(coder_a)
    observed = sum(a == b for a, b in zip(coder_a, coder_b, strict=True)) / n
    share_a, share_b = sum(coder_a) / n, sum(coder_b) / n
    expected = share_a * share_b + (1 - share_a) * (1 - share_b)
    return (observed - expected) / (1 - expected) if expected < 1 else None


def correlation_evaluation(scores: Sequence[float], ratings: Sequence[float]) -> SentimentEvaluation:
    """Pearson and Spearman correlation of scores with numeric human ratings."""
    return SentimentEvaluation(len(scores), pearson(scores, ratings), spearman(scores, ratings))


def classification_evaluation(predicted: Sequence[str], actual: Sequence[str]) -> SentimentEvaluation:
    """Accuracy and macro-F1 of predicted labels against human labels."""
    return SentimentEvaluation(len(actual), accuracy=accuracy(predicted, actual), macro_f1=macro_f1(predicted, actual))


def binary_label(score: float) -> str:
    """positive or negative for label sets without neutral: the neutral band counts as not positive."""
    return "positive" if sentiment_label(score) == "positive" else "negative"


def sentiment_classes(labels: Sequence[object]) -> tuple[list[str], Callable[[float], str]] | None:
    """Human labels as class names with the rule that maps a score to one; None for numeric ratings."""
    numbers = [as_number(label) for label in labels]
    if all(number is not None for number in numbers):
        if not set(numbers) <= {0.0, 1.0}:
            return None
        return ["positive" if number else "negative" for number in numbers], binary_label
    names = [str(label).strip().lower() for label in labels]
    unknown = sorted(set(names) - set(SENTIMENT_CLASSES))
    if unknown:
        raise EvaluationError(
            f"sentiment labels must be numeric ratings, 0/1, or negative/neutral/positive; found {unknown[:5]}"
        )
    return names, binary_label if "neutral" not in names else sentiment_label


def as_number(value: object) -> float | None:
    """A label as a number, or None when it is not one."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def is_missing(value: object) -> bool:
    """Whether a label cell is empty (None, NaN or blank)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def improved_score(text: str) -> float:
    """voxpop's comment score: VADER with the customer-feedback lexicon."""
    return score_sentiment(text).score


def evaluate_sentiment(
    texts: Sequence[str], labels: Sequence[object], *, scorer: Callable[[str], float] = improved_score
) -> SentimentEvaluation:
    """Score texts and compare with human labels; rows with an empty label are left out."""
    rows = [(text, label) for text, label in zip(texts, labels, strict=True) if not is_missing(label)]
    if len(rows) < 3:
        raise EvaluationError(f"need at least 3 labelled comments to evaluate, found {len(rows)}")
    scores = [scorer(str(text) if not is_missing(text) else "") for text, _ in rows]
    classes = sentiment_classes([label for _, label in rows])
    if classes is None:
        return correlation_evaluation(scores, [float(label) for _, label in rows])  # type: ignore[arg-type]
    actual, to_label = classes
    return classification_evaluation([to_label(score) for score in scores], actual)


def theme_evaluation(theme: str, machine: Sequence[bool], human: Sequence[bool]) -> ThemeEvaluation:
    """Precision, recall, F1 and Cohen's κ of the machine's codes for one theme against a human coder's."""
    tp = sum(m and h for m, h in zip(machine, human, strict=True))
    fp = sum(m and not h for m, h in zip(machine, human))
    fn = sum(h and not m for m, h in zip(machine, human))
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    return ThemeEvaluation(theme, len(human), precision, recall, f1(tp, fp, fn), cohen_kappa(machine, human))


def evaluate_themes(
    machine: Sequence[Iterable[str]], human: Sequence[Iterable[str]], themes: Iterable[str] | None = None
) -> list[ThemeEvaluation]:
    """Per-theme agreement; by default over every theme the human coder used."""
    machine_sets, human_sets = [set(codes) for codes in machine], [set(codes) for codes in human]
    themes = sorted(set().union(*human_sets) if themes is None else set(themes))
    return [
        theme_evaluation(theme, [theme in codes for codes in machine_sets], [theme in codes for codes in human_sets])
        for theme in themes
    ]
