"""Language detection with lingua, restricted to the languages customer feedback usually comes in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# Each Latin-script language makes detection slower and short texts easier to confuse; the four other
# scripts are told apart by their alphabet, almost for free.
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "ru", "zh", "ja", "ar")
SENTIMENT_LANGUAGES = frozenset({"en"})
MIN_WORDS = 2
MIN_CONFIDENCE = 0.5
# The first characters settle the language of a long comment; reading all of a 10,000-character one is waste.
SAMPLE_CHARACTERS = 1000
WORD = re.compile(r"[^\W\d_]{2,}")
# Chinese and Japanese write no spaces, so a single "word" there can be a whole sentence.
UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# Function words that are words in English only among LANGUAGES ("was", "is", "of", "on", "will", "also" are not:
# German, Dutch and French use them too), and the commonest ones of the other Latin-script languages.
ENGLISH_ONLY = frozenset(["the", "and", "to", "it", "my", "with", "this", "that", "have", "were", "they", "you",
                          "not", "but", "very", "are", "for", "we", "our", "your", "be", "been", "would", "can",
                          "just", "at", "from", "what", "when", "there", "their", "did", "could", "should", "only",
                          "after", "again", "about", "because", "if", "how", "any", "than", "then", "which", "who",
                          "why", "where", "them", "its", "by", "off", "into", "got", "get", "too", "much", "ever",
                          "never", "really", "took", "didn", "doesn", "isn", "wasn", "won"])
OTHER_LATIN = frozenset(["der", "die", "das", "und", "ist", "nicht", "ich", "sehr", "le", "la", "les", "et", "est",
                         "pas", "je", "une", "des", "el", "los", "las", "es", "muy", "que", "il", "di", "che",
                         "non", "een", "het", "niet", "ik", "van", "os", "um", "uma", "nao", "por", "para", "con",
                         "avec"])
# The commonest of them: plainly English text has one.
ENGLISH_COMMONEST = frozenset(["the", "and", "with", "this", "that", "have", "were", "they", "you", "would", "could",
                               "should", "from", "what", "when", "there", "their", "which"])
# Plainly English text skips lingua (its most costly step). On the human-rated English sets of the real-data folder (VOXPOP_REAL_DATA)
# the rule decided 25,002 of 37,153 texts, rightly every time (lingua's accurate model called 28 of them another
# language, wrongly); of 11,503 answers to the Spanish R survey, the 8 it passed are written in English. Its guess
# carries confidence 1.0, which is also lingua's median confidence on English comments.
ENGLISH_MIN_WORDS = 3
ENGLISH_MIN_SHARE = 0.2


@dataclass(frozen=True)
class LanguageGuess:
    """An ISO 639-1 code (None when unknown), the detector's confidence, and why it is unknown."""

    code: str | None
    confidence: float
    reason: str | None = None

    @property
    def has_sentiment_model(self) -> bool:
        """Whether voxpop can score sentiment in this language."""
        return self.code in SENTIMENT_LANGUAGES


@cache
def detectors() -> tuple[LanguageDetector, LanguageDetector]:
    """The fast (trigram) and the accurate (1- to 5-gram) detectors, built once per process.

    Models load on first need: the English fast path in 0.1 s, the accurate models (3 s) on the first comment
    that is not plainly English.
    """
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LANGUAGES]
    fast = LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode()
    accurate = LanguageDetectorBuilder.from_languages(*languages)
    return fast.build(), accurate.build()


def detect_language(text: str) -> LanguageGuess:
    """The language of a comment, or unknown when it is too short, has no words, or is ambiguous."""
    words = WORD.findall(text, 0, SAMPLE_CHARACTERS)
    if not words:
        return LanguageGuess(None, 0.0, "no words to tell the language from")
    if len(words) < MIN_WORDS and not UNSPACED_SCRIPT.search(words[0]):
        return LanguageGuess(None, 0.0, "too short to tell the language")
    if plainly_english(words):
        return LanguageGuess("en", 1.0)
    sample = text[:SAMPLE_CHARACTERS]
    fast, accurate = detectors()
    # Most comments are English, and the trigram model almost never calls another language English (1.7% of
    # Spanish survey answers, all lists of product names), so only the rest pay for the accurate model.
    first = fast.compute_language_confidence_values(sample)[0]
    if first.language == Language.ENGLISH:
        return LanguageGuess("en", confidence(first.value))
    best = accurate.compute_language_confidence_values(sample)[0]
    if best.value < MIN_CONFIDENCE:
        return LanguageGuess(None, confidence(best.value), "no language is clearly ahead")
    return LanguageGuess(best.language.iso_code_639_1.name.lower(), confidence(best.value))


def plainly_english(words: list[str]) -> bool:
    """Words all in ASCII, one of them among the commonest English ones, a fifth English-only, none foreign."""
    if len(words) < ENGLISH_MIN_WORDS or not "".join(words).isascii():
        return False
    lowered = [word.lower() for word in words]
    return (not ENGLISH_COMMONEST.isdisjoint(lowered) and OTHER_LATIN.isdisjoint(lowered)
            and sum(word in ENGLISH_ONLY for word in lowered) >= ENGLISH_MIN_SHARE * len(lowered))


def confidence(value: float) -> float:
    """A confidence rounded to 4 places: lingua's last digits vary between processes."""
    return round(value, 4)
