"""The whole pipeline on awkward comments, one by one and in a batch."""

import pytest

from voxpop.text.pipeline import analyze_comment, analyze_comments

AWKWARD = ["", "   \n", "👍🔥😡", "Great!", "x" * 10_000, "The app keeps crashing. " * 420,
           "The delivery was late. La livraison était en retard, mais le personnel était sympa.",
           "<script>alert(1)</script> call +44 20 7946 0958", "\x00\u200b\ufeff", "🇬🇧🇩🇪 ok"]


@pytest.mark.parametrize("text", AWKWARD)
def test_the_pipeline_survives_awkward_comments(text):
    result = analyze_comment(text)
    assert (result.sentiment is None) == (result.no_sentiment_reason is not None)
    assert "+44" not in result.text


def test_an_english_comment_gets_every_part():
    result = analyze_comment("Great staff but the app keeps crashing, mail me at anna@example.com")
    assert result.text == "Great staff but the app keeps crashing, mail me at [email]"
    assert [item.kind for item in result.personal_data] == ["email"]
    assert result.language.code == "en"
    assert [s.label for s in result.sentiment.sentences] == ["positive", "negative"]
    assert [tag.theme for tag in result.tags] == ["staff", "app_website"]


def test_a_language_without_a_model_gets_no_score_and_the_reason():
    result = analyze_comment("Das Personal war sehr unfreundlich und die Lieferung kam zu spät")
    assert result.language.code == "de" and result.sentiment is None
    assert result.no_sentiment_reason == "no sentiment model for German"


def test_empty_and_emoji_only_comments():
    assert analyze_comment("").no_sentiment_reason == "the comment is empty"
    emoji = analyze_comment("😍😍")
    assert emoji.language.code is None and emoji.sentiment.label == "positive"


def test_a_batch_gives_the_same_results_in_order_with_two_workers():
    texts = AWKWARD * 3
    assert analyze_comments(texts, workers=2, chunksize=4) == analyze_comments(texts) == [
        analyze_comment(text) for text in texts]
