"""A free-text question's results: its newest analysed comments (redacted text only, as the comments page shows them)
with their sentiment and themes, and each theme's share of the question's analysed comments (Wilson interval).

A comment is read only once the comment worker has analysed it, so its personal data is already out; the themes
are the effective ones (text.metrics.effective_themes: the codebook's, less those people removed, plus those they
added)."""

from __future__ import annotations

from sqlalchemy import Connection, distinct, func, select

from voxpop.collection.models import Answer, Response
from voxpop.core.estimates import proportion
from voxpop.results.kept import Kept, only_kept
from voxpop.results.schemas import QuestionCommentPublic, ThemeSharePublic
from voxpop.surveys.models import Question, Survey
from voxpop.text.codebooks import current_codebook
from voxpop.text.labels import theme_label, theme_labels
from voxpop.text.metrics import effective_themes
from voxpop.text.models import CommentAnalysis
from voxpop.text.schemas import SentimentPublic, ThemeTagPublic
from voxpop.text.verbatims import nps_scores, theme_tags


def text_results(connection: Connection, *, question_ids: list[int], kept: Kept, min_base: int,
                 limit: int) -> tuple[list[QuestionCommentPublic], int, list[ThemeSharePublic]]:
    """The newest `limit` analysed comments, how many are analysed, and each theme's share of them."""
    labels = theme_labels(current_codebook(connection).codebook)
    analysed = connection.execute(only_kept(select(func.count()).select_from(CommentAnalysis)
                                            .join(Answer, Answer.id == CommentAnalysis.answer_id)
                                            .where(Answer.question_id.in_(question_ids)), kept)).scalar_one()
    return (newest_comments(connection, question_ids=question_ids, kept=kept, limit=limit, labels=labels),
            analysed, theme_shares(connection, question_ids=question_ids, kept=kept, analysed=analysed,
                                   min_base=min_base, labels=labels))


def newest_comments(connection: Connection, *, question_ids: list[int], kept: Kept, limit: int,
                    labels: dict[str, str]) -> list[QuestionCommentPublic]:
    """The newest analysed comments to these question rows, with their themes and the response's NPS answer."""
    rows = connection.execute(only_kept(
        select(CommentAnalysis.answer_id, Survey.key, Survey.title, Question.key, Response.submitted_at,
               CommentAnalysis.text, CommentAnalysis.language, CommentAnalysis.sentiment_score,
               CommentAnalysis.sentiment_label, CommentAnalysis.no_sentiment_reason, CommentAnalysis.personal_data,
               CommentAnalysis.original.is_not(None), Response.id, Response.public_id)
        .join(Answer, Answer.id == CommentAnalysis.answer_id)
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Answer.question_id.in_(question_ids)), kept, joined=True)
        .order_by(Response.submitted_at.desc(), CommentAnalysis.answer_id.desc()).limit(limit)).all()
    themes = theme_tags(connection, [row.answer_id for row in rows])
    scores = nps_scores(connection, [row.id for row in rows])
    return [QuestionCommentPublic(
        answer_id=row.answer_id, survey=row[1], survey_title=row.title, question=row[3], submitted_at=row.submitted_at,
        text=row.text, language=row.language,
        sentiment=None if row.sentiment_label is None else SentimentPublic(score=row.sentiment_score,
                                                                           label=row.sentiment_label),
        no_sentiment_reason=row.no_sentiment_reason, personal_data_redacted=list(row.personal_data or ()),
        has_original=bool(row[11]), nps=scores.get(row.id), response=row.public_id,
        themes=[ThemeTagPublic(theme=tag.theme, label=theme_label(labels, tag.theme), matches=list(tag.matches),
                               source=tag.source) for tag in themes.get(row.answer_id, ())])
        for row in rows]


def theme_shares(connection: Connection, *, question_ids: list[int], kept: Kept, analysed: int,
                 min_base: int, labels: dict[str, str]) -> list[ThemeSharePublic]:
    """Each theme's share of the analysed comments to these question rows, most frequent first."""
    themes = effective_themes(list(labels))
    tagged = connection.execute(only_kept(
        select(themes.c.theme, func.count(distinct(themes.c.answer_id)))
        .select_from(themes).join(Answer, Answer.id == themes.c.answer_id)
        .where(Answer.question_id.in_(question_ids)), kept)
        .group_by(themes.c.theme)).all()
    return [ThemeSharePublic(theme=theme, label=theme_label(labels, theme), comments=count,
                             share=proportion(successes=count, n=analysed, min_base=min_base))
            for theme, count in sorted(tagged, key=lambda row: (-row[1], row[0]))]
