"""Evaluation formulas against scipy, scikit-learn and textbook values."""

import pytest
from scipy import stats
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    f1_score,
    precision_score,
    recall_score,
)

from voxpop.text.evaluation import (
    EvaluationError,
    accuracy,
    cohen_kappa,
    evaluate_sentiment,
    evaluate_themes,
    macro_f1,
    pearson,
    spearman,
)

SCORES = [0.9, -0.4, 0.1, 0.0, 0.7, -0.8, 0.3, 0.3, -0.1, 0.5]
RATINGS = [3.2, -1.0, 0.5, 0.4, 2.0, -2.5, 1.0, 0.2, 0.0, 1.0]
PREDICTED = ["positive", "negative", "neutral", "neutral", "positive", "negative", "positive", "neutral", "negative",
             "positive"]
ACTUAL = ["positive", "negative", "positive", "neutral", "positive", "negative", "neutral", "neutral", "neutral",
          "positive"]


def test_correlations_match_scipy_including_ties():
    assert pearson(SCORES, RATINGS) == pytest.approx(stats.pearsonr(SCORES, RATINGS).statistic)
    assert spearman(SCORES, RATINGS) == pytest.approx(stats.spearmanr(SCORES, RATINGS).statistic)
    assert pearson([1, 1, 1], [1, 2, 3]) is None


def test_accuracy_and_macro_f1_match_scikit_learn():
    assert accuracy(PREDICTED, ACTUAL) == pytest.approx(accuracy_score(ACTUAL, PREDICTED))
    assert macro_f1(PREDICTED, ACTUAL) == pytest.approx(f1_score(ACTUAL, PREDICTED, average="macro"))


def test_kappa_reproduces_a_textbook_example():
    # 50 items, yes/yes 20, yes/no 5, no/yes 10, no/no 15: p_o = 0.7, p_e = 0.5, κ = 0.4
    # (the worked example in Wikipedia's "Cohen's kappa" article).
    coder_a = [True] * 25 + [False] * 25
    coder_b = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    assert cohen_kappa(coder_a, coder_b) == pytest.approx(0.4)
    assert cohen_kappa(coder_a, coder_b) == pytest.approx(cohen_kappa_score(coder_a, coder_b))
    assert cohen_kappa([False] * 5, [False] * 5) is None


def test_theme_figures_match_scikit_learn():
    machine = [{"price"}, {"price", "staff"}, set(), {"staff"}, {"price"}, set(), {"staff"}, {"price"}]
    human = [{"price"}, {"staff"}, {"price"}, {"staff"}, set(), set(), {"staff", "price"}, {"price"}]
    price = next(row for row in evaluate_themes(machine, human) if row.theme == "price")
    m, h = ["price" in codes for codes in machine], ["price" in codes for codes in human]
    assert (price.n, price.precision, price.recall, price.f1, price.kappa) == pytest.approx(
        (8, precision_score(h, m), recall_score(h, m), f1_score(h, m), cohen_kappa_score(h, m)))


def test_numeric_ratings_give_correlations_and_labels_give_accuracy():
    texts = ["I love it", "terrible, awful service", "it is a chair", "wonderful staff", "broken and late"]
    numeric = evaluate_sentiment(texts, [4, 1, 3, 5, 1])
    assert numeric.n == 5 and numeric.pearson > 0.8 and numeric.accuracy is None
    binary = evaluate_sentiment(texts, [1, 0, 0, 1, 0])  # 0/1: the neutral chair counts as not positive
    assert (binary.accuracy, binary.macro_f1, binary.pearson) == (1.0, 1.0, None)
    classes = evaluate_sentiment(texts, ["positive", "Negative", "neutral", "positive", None])
    assert classes.n == 4 and classes.accuracy == 1.0


def test_unusable_labels_are_refused_with_a_sentence():
    with pytest.raises(EvaluationError, match="negative/neutral/positive; found \\['great'\\]"):
        evaluate_sentiment(["a", "b", "c"], ["great", "positive", "negative"])
    with pytest.raises(EvaluationError, match="at least 3"):
        evaluate_sentiment(["a", "b"], [1, 0])
