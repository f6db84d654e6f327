"""Understanding what customers write: redaction, language, sentiment, themes, discovery and accuracy."""

from voxpop.text.codebook import (
    DEFAULT_CODEBOOK,
    Codebook,
    CodebookError,
    codebook_from_dict,
    codebook_from_yaml,
)
from voxpop.text.evaluation import EvaluationError, evaluate_sentiment, evaluate_themes
from voxpop.text.pipeline import CommentAnalysis, analyze_comment, analyze_comments
from voxpop.text.redaction import redact

__all__ = [
    "DEFAULT_CODEBOOK", "Codebook", "CodebookError", "CommentAnalysis", "EvaluationError", "analyze_comment",
    "analyze_comments", "codebook_from_dict", "codebook_from_yaml", "evaluate_sentiment", "evaluate_themes", "redact",
]
