"""The text pipeline for one free-text answer: redaction, then language, sentiment and themes on the redacted text."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial

from voxpop.text.codebook import DEFAULT_CODEBOOK, Codebook, Tag, tag_comment
from voxpop.text.language import LanguageGuess, detect_language
from voxpop.text.redaction import PersonalData, redact
from voxpop.text.sentiment import Sentiment, score_sentiment

LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "nl": "Dutch",
                  "pt": "Portuguese", "ru": "Russian", "zh": "Chinese", "ja": "Japanese", "ar": "Arabic"}


@dataclass(frozen=True)
class CommentAnalysis:
    """What the pipeline found in one comment; `text` is the redacted text, offsets refer to it."""

    text: str
    personal_data: tuple[PersonalData, ...]
    language: LanguageGuess
    sentiment: Sentiment | None
    no_sentiment_reason: str | None
    tags: tuple[Tag, ...]


def sentiment_of(text: str, language: LanguageGuess) -> tuple[Sentiment | None, str | None]:
    """The sentiment, or None and the reason there is none."""
    if not text.strip():
        return None, "the comment is empty"
    if language.code is not None and not language.has_sentiment_model:
        return None, f"no sentiment model for {LANGUAGE_NAMES.get(language.code, language.code)}"
    # Too short to tell the language ("Great!", "👍"): the English lexicon knows these words and emoji and gives
    # an unknown word 0, so a one-word answer in another language comes out neutral rather than wrong.
    return score_sentiment(text), None


def analyze_comment(text: str, *, codebook: Codebook = DEFAULT_CODEBOOK) -> CommentAnalysis:
    """Redact a comment, then detect its language, score its sentiment and tag its themes."""
    redaction = redact(text)
    language = detect_language(redaction.text)
    sentiment, reason = sentiment_of(redaction.text, language)
    tags = tuple(tag_comment(codebook, redaction.text))
    return CommentAnalysis(redaction.text, redaction.found, language, sentiment, reason, tags)


def analyze_comments(
    texts: Iterable[str], *, codebook: Codebook = DEFAULT_CODEBOOK, workers: int = 1, chunksize: int = 500
) -> list[CommentAnalysis]:
    """analyze_comment over many comments, in order; workers > 1 spreads them over processes."""
    analyze = partial(analyze_comment, codebook=codebook)
    with cyclic_gc_paused():
        if workers <= 1:
            return [analyze(text) for text in texts]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(analyze, texts, chunksize=chunksize))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a batch's results pile up.

    The results hold no reference cycles, yet the collector walks every one of them again and again as they
    accumulate: with two workers, unpickling their results took ten times longer with it on (benchmarks/text.py).
    Reference counting still frees everything; the collector is paused for this process, and only for the batch.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
