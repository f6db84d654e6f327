"""Language detection: common languages found, short and emoji-only text unknown."""

import pytest

from voxpop.text.language import detect_language


@pytest.mark.parametrize(("text", "code"), [
    ("The delivery was quick and the staff were friendly", "en"),
    ("Sehr gut, aber die Lieferung war langsam", "de"),
    ("La livraison était en retard mais le personnel était sympa", "fr"),
    ("El servicio fue muy malo y nadie respondió", "es"),
    ("Отличный сервис, спасибо", "ru"),
    ("とても良いサービスでした", "ja"),
])
def test_the_usual_languages_are_detected(text, code):
    assert detect_language(text).code == code


@pytest.mark.parametrize(("text", "reason"), [
    ("", "no words"), ("👍👍🔥", "no words"), ("12345 !!", "no words"), ("Great!", "too short"),
])
def test_short_or_wordless_text_is_unknown_with_the_reason(text, reason):
    guess = detect_language(text)
    assert guess.code is None and reason in guess.reason and not guess.has_sentiment_model


def test_only_english_has_a_sentiment_model():
    assert detect_language("The staff were lovely").has_sentiment_model
    assert not detect_language("Das Personal war sehr freundlich").has_sentiment_model
