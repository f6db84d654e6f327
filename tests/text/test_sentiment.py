"""Sentiment: VADER's scale and labels, clauses that carry their own polarity, the feedback lexicon."""

import pytest

from voxpop.text.sentiment import (
    QuickVader,
    plain_vader,
    score_sentiment,
    sentiment_label,
    vader_score,
)

# VADER's special rules: negation up to three words back, "no", idioms, boosters, capitals, "least", "but", emoji.
VADER_CASES = ["not bad at all", "NOT BAD at all", "no no no good", "no good", "no or nor good", "never so good",
               "never this bad", "without doubt good", "without a doubt great", "kind of great", "sort of good stuff",
               "the shit", "not the bomb", "yeah right", "to die for", "least good", "at least good", "very least good",
               "GREAT but SLOW!!!", "good but bad but good", "really really good??", "I don't hate it", "ain't nice",
               "😍 but 😡", "café 👍🏽 good", "  spaced   out  ", "", "!!!", ":) :( :D", "kind of", "good " * 200]


def test_a_contrast_gives_each_clause_its_own_polarity():
    text = "great staff but the app keeps crashing"
    result = score_sentiment(text)
    assert [(text[s.start:s.end], s.label) for s in result.sentences] == [
        ("great staff", "positive"), ("but the app keeps crashing", "negative")]
    assert vader_score(text) > 0 > result.score  # plain VADER misses the crash


def test_sentences_are_scored_one_by_one_with_offsets():
    text = "Lovely people.  Delivery was slow!\nWould buy again"
    result = score_sentiment(text)
    assert [text[s.start:s.end] for s in result.sentences] == ["Lovely people.", "Delivery was slow!", "Would buy again"]
    assert [s.label for s in result.sentences][:2] == ["positive", "negative"]


@pytest.mark.parametrize(("score", "label"), [(0.05, "positive"), (0.0499, "neutral"), (-0.05, "negative"),
                                              (-0.0499, "neutral")])
def test_labels_follow_the_published_thresholds(score, label):
    assert sentiment_label(score) == label


@pytest.mark.parametrize("text", ["", "   ", "!!!", "😍", "a" * 10_000, "Great!" * 2000])
def test_scores_stay_within_minus_one_and_one(text):
    result = score_sentiment(text)
    assert -1 <= result.score <= 1 and all(-1 <= s.score <= 1 for s in result.sentences)


def test_customer_feedback_words_count():
    for text in ["The app is so buggy", "Support was unhelpful", "We were stranded for hours", "Overpriced"]:
        assert score_sentiment(text).label == "negative", text
    assert score_sentiment("Fast delivery").label == "positive"
    assert score_sentiment("Can't wait to order again!").label == "positive"


@pytest.mark.parametrize("text", VADER_CASES)
def test_the_quick_vader_scores_exactly_as_published_vader(text):
    published = plain_vader().polarity_scores(text)
    assert QuickVader().polarity_scores(text) == published
    assert QuickVader().compound(text) == published["compound"]
