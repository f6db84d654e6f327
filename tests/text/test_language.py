"""Language detection: common languages found, short and emoji-only text unknown."""

import pytest

from voxpop.text.language import detect_language, detectors


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


def test_plain_english_is_decided_without_lingua(monkeypatch):
    def no_lingua():
        raise AssertionError("lingua was asked")

    monkeypatch.setattr("voxpop.text.language.detectors", no_lingua)
    guess = detect_language("The staff were friendly but the app keeps crashing at checkout")
    assert (guess.code, guess.confidence) == ("en", 1.0)


@pytest.mark.parametrize(("text", "code"), [
    ("Das Personal war sehr gut", "de"),  # ASCII, but no English function word
    ("Die Lieferung kam nicht, the app is broken and I want my money back", None),  # mixed: lingua decides
    ("Very good, muy bueno, the best", None),
])
def test_text_with_other_languages_function_words_goes_to_lingua(text, code, monkeypatch):
    asked = []
    monkeypatch.setattr("voxpop.text.language.detectors", lambda: asked.append(text) or detectors())
    guess = detect_language(text)
    assert asked == [text]
    assert code is None or guess.code == code
