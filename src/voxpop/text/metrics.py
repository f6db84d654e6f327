"""Theme metrics: how often each theme comes up, how customers feel when they raise it, and whether the
customers who raise it recommend us less than those who don't.

The store counts (tagged comments, sentiment sums, NPS groups of the responses that mention a theme); core
computes the estimates. A theme is on a comment when the codebook tagged it and nobody removed it, or a person
added it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    distinct,
    exists,
    false,
    func,
    select,
    union,
)
from sqlalchemy.orm import aliased

from voxpop.collection.models import Answer, Response
from voxpop.core import comparisons, estimates
from voxpop.core.estimates import NpsCuts
from voxpop.surveys.models import Question, Survey
from voxpop.text.models import CommentAnalysis, CommentTheme

CUTS = NpsCuts()


def effective_themes():
    """(answer_id, theme) of every theme on a comment after people's corrections."""
    correction = aliased(CommentTheme)
    removed = exists().where(correction.answer_id == CommentTheme.answer_id, correction.theme == CommentTheme.theme,
                             correction.source == "correction", correction.removed.is_(True))
    tagged = select(CommentTheme.answer_id, CommentTheme.theme).where(
        CommentTheme.source == "codebook", CommentTheme.removed == false(), ~removed)
    added = select(CommentTheme.answer_id, CommentTheme.theme).where(
        CommentTheme.source == "correction", CommentTheme.removed == false())
    return union(tagged, added).subquery("themes")


def _in_survey(statement, survey: str | None):
    if survey is None:
        return statement
    return statement.join(Survey, Survey.id == Response.survey_id).where(Survey.key == survey)


def theme_metrics(connection: Connection, *, survey: str | None = None, min_base: int = 30,
                  confidence: float = 0.95) -> dict[str, Any]:
    """Per theme: its share of analysed comments (Wilson), mean sentiment (t), and the NPS of the responses
    that mention it against the rest (trinomial z, Rocks 2016), most frequent theme first."""
    themes = effective_themes()
    comments = _in_survey(select(func.count()).select_from(CommentAnalysis)
                          .join(Answer, Answer.id == CommentAnalysis.answer_id)
                          .join(Response, Response.id == Answer.response_id), survey)
    analysed = connection.execute(comments).scalar_one()
    score = CommentAnalysis.sentiment_score
    per_theme = connection.execute(_in_survey(
        select(themes.c.theme, func.count(distinct(themes.c.answer_id)), func.count(score), func.sum(score),
               func.sum(score * score))
        .select_from(themes).join(CommentAnalysis, CommentAnalysis.answer_id == themes.c.answer_id)
        .join(Answer, Answer.id == themes.c.answer_id).join(Response, Response.id == Answer.response_id),
        survey).group_by(themes.c.theme)).all()
    nps_answer = aliased(Answer)
    group = case((nps_answer.score >= CUTS.promoter_min, "promoters"),
                 (nps_answer.score <= CUTS.detractor_max, "detractors"), else_="passives")
    scored = (select(nps_answer.response_id.label("response_id"), func.max(group).label("group"))
              .join(Question, and_(Question.id == nps_answer.question_id, Question.kind == "nps"))
              .where(nps_answer.score.is_not(None)).group_by(nps_answer.response_id).subquery("scored"))
    totals = dict(connection.execute(_in_survey(
        select(scored.c.group, func.count()).select_from(scored).join(Response, Response.id == scored.c.response_id),
        survey).group_by(scored.c.group)).all())
    mentioned: dict[str, dict[str, int]] = {}
    for theme, nps_group, count in connection.execute(_in_survey(
            select(themes.c.theme, scored.c.group, func.count(distinct(scored.c.response_id))).select_from(themes)
            .join(Answer, Answer.id == themes.c.answer_id)
            .join(scored, scored.c.response_id == Answer.response_id)
            .join(Response, Response.id == Answer.response_id), survey)
            .group_by(themes.c.theme, scored.c.group)):
        mentioned.setdefault(theme, {})[nps_group] = count
    rows = []
    for theme, tagged, scored_n, total, squares in sorted(per_theme, key=lambda row: (-row[1], row[0])):
        row: dict[str, Any] = {
            "theme": theme, "comments": tagged,
            "share": asdict(estimates.proportion(successes=tagged, n=analysed, min_base=min_base,
                                                 confidence=confidence)),
            "sentiment": asdict(estimates.mean(n=scored_n, total=float(total or 0), total_squares=float(squares or 0),
                                               min_base=min_base, confidence=confidence)),
        }
        mention = tuple(mentioned.get(theme, {}).get(name, 0) for name in ("promoters", "passives", "detractors"))
        rest = tuple(totals.get(name, 0) - count for name, count in zip(("promoters", "passives", "detractors"),
                                                                         mention))
        for label, counts in (("nps_mentioning", mention), ("nps_not_mentioning", rest)):
            row[label] = asdict(estimates.nps(promoters=counts[0], passives=counts[1], detractors=counts[2],
                                              min_base=min_base, confidence=confidence))
        try:
            difference = comparisons.nps_difference(a=mention, b=rest, confidence=confidence)
            low_base = sum(mention) < min_base or sum(rest) < min_base
            row["nps_difference"] = None if low_base else asdict(difference)
        except ValueError:  # nobody, or everybody, who gave an NPS mentions it
            row["nps_difference"] = None
        rows.append(row)
    return {"survey": survey, "analysed_comments": analysed, "themes": rows,
            "note": "a theme counts when the codebook tagged it and nobody removed it, or a person added it; "
                    "NPS groups use the standard cuts (detractors up to 6, promoters from 9)"}


