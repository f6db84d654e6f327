"""Theme metrics: how often each theme comes up, how customers feel when they raise it, and whether the
customers who raise it recommend us less than those who don't.

The store counts (tagged comments, sentiment sums, NPS groups of the responses that mention a theme); core
computes the estimates. A theme is on a comment when the codebook tagged it and nobody removed it, or a person
added it. Months are counted in UTC; the one still running is left out of the emerging themes' control limits and
run rules (analysis.periods), and shown beside them as a partial point.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
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

from voxpop.analysis.periods import current_period, split_at
from voxpop.analysis.rollups import month_start
from voxpop.collection.models import Answer, Response
from voxpop.core import comparisons, estimates, spc
from voxpop.core.estimates import NpsCuts
from voxpop.surveys.models import Question, Survey
from voxpop.text.codebooks import codebook_keys
from voxpop.text.models import CommentAnalysis, CommentTheme

CUTS = NpsCuts()
MONTHS_ZONE = "UTC"  # monthly_counts names each comment by the UTC month of its response's submitted_at


def effective_themes(keys: list[str] | None = None):
    """(answer_id, theme) of every theme on a comment after people's corrections, of the given theme keys only
    (a theme taken out of the codebook keeps the corrections people made, but is no longer reported)."""
    correction = aliased(CommentTheme)
    removed = exists().where(correction.answer_id == CommentTheme.answer_id, correction.theme == CommentTheme.theme,
                             correction.source == "correction", correction.removed.is_(True))
    tagged = select(CommentTheme.answer_id, CommentTheme.theme).where(
        CommentTheme.source == "codebook", CommentTheme.removed == false(), ~removed)
    added = select(CommentTheme.answer_id, CommentTheme.theme).where(
        CommentTheme.source == "correction", CommentTheme.removed == false())
    if keys is not None:
        tagged, added = tagged.where(CommentTheme.theme.in_(keys)), added.where(CommentTheme.theme.in_(keys))
    return union(tagged, added).subquery("themes")


def _in_survey(statement, survey: str | None, responses: tuple = ()):
    """The statement (which reads `responses`) narrowed to one survey's, and to the response filter's conditions
    (collection.filters.response_conditions)."""
    statement = statement.where(*responses)
    if survey is None:
        return statement
    return statement.join(Survey, Survey.id == Response.survey_id).where(Survey.key == survey)


def theme_metrics(connection: Connection, *, survey: str | None = None, min_base: int = 30,
                  confidence: float = 0.95, now: datetime | None = None, responses: tuple = ()) -> dict[str, Any]:
    """Per theme: its share of analysed comments (Wilson), mean sentiment (t), and the NPS of the responses
    that mention it against the rest (trinomial z, Rocks 2016), and its monthly share; most frequent first.
    The month `now` (default: the present) falls in has not ended, so no emerging theme is read from it.
    `responses` are the response filter's conditions, when a page filters the responses the comments belong to."""
    keys = codebook_keys(connection)
    themes = effective_themes(keys)
    comments = _in_survey(select(func.count()).select_from(CommentAnalysis)
                          .join(Answer, Answer.id == CommentAnalysis.answer_id)
                          .join(Response, Response.id == Answer.response_id), survey, responses)
    analysed = connection.execute(comments).scalar_one()
    score = CommentAnalysis.sentiment_score
    per_theme = connection.execute(_in_survey(
        select(themes.c.theme, func.count(distinct(themes.c.answer_id)), func.count(score), func.sum(score),
               func.sum(score * score),
               func.count(distinct(case((CommentAnalysis.sentiment_label == "negative", themes.c.answer_id)))))
        .select_from(themes).join(CommentAnalysis, CommentAnalysis.answer_id == themes.c.answer_id)
        .join(Answer, Answer.id == themes.c.answer_id).join(Response, Response.id == Answer.response_id),
        survey, responses).group_by(themes.c.theme)).all()
    nps_answer = aliased(Answer)
    group = case((nps_answer.score >= CUTS.promoter_min, "promoters"),
                 (nps_answer.score <= CUTS.detractor_max, "detractors"), else_="passives")
    scored = (select(nps_answer.response_id.label("response_id"), func.max(group).label("group"))
              .join(Question, and_(Question.id == nps_answer.question_id, Question.kind == "nps"))
              .where(nps_answer.score.is_not(None)).group_by(nps_answer.response_id).subquery("scored"))
    totals = dict(connection.execute(_in_survey(
        select(scored.c.group, func.count()).select_from(scored).join(Response, Response.id == scored.c.response_id),
        survey, responses).group_by(scored.c.group)).all())
    mentioned: dict[str, dict[str, int]] = {}
    for theme, nps_group, count in connection.execute(_in_survey(
            select(themes.c.theme, scored.c.group, func.count(distinct(scored.c.response_id))).select_from(themes)
            .join(Answer, Answer.id == themes.c.answer_id)
            .join(scored, scored.c.response_id == Answer.response_id)
            .join(Response, Response.id == Answer.response_id), survey, responses)
            .group_by(themes.c.theme, scored.c.group)):
        mentioned.setdefault(theme, {})[nps_group] = count
    rows = []
    for theme, tagged, scored_n, total, squares, negative in sorted(per_theme, key=lambda row: (-row[1], row[0])):
        row: dict[str, Any] = {
            "theme": theme, "comments": tagged, "negative_comments": negative,
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
    periods, totals_by_month, counted = monthly_counts(connection, survey=survey, keys=keys, responses=responses)
    for row in rows:
        by_month = counted.get(row["theme"], {})
        row["monthly_share"] = [round(100 * by_month.get(period, 0) / totals_by_month[period], 2)
                                for period in periods]
    return {"survey": survey, "analysed_comments": analysed, "months": periods, "themes": rows,
            "pareto": pareto(rows),
            "emerging": emerging_themes(connection, survey=survey, now=now,
                                        counts=(periods, totals_by_month, counted)),
            "codebook_accuracy": codebook_accuracy(connection, keys=keys),
            "note": "a theme counts when the codebook tagged it and nobody removed it, or a person added it; "
                    "NPS groups use the standard cuts (detractors up to 6, promoters from 9)"}


def monthly_counts(connection: Connection, *, survey: str | None = None, keys: list[str] | None = None,
                   responses: tuple = ()) -> tuple[list[str], dict[str, int], dict[str, dict[str, int]]]:
    """The months with analysed comments (UTC, oldest first), the analysed comments per month, and per theme the
    comments that mention it per month."""
    month = month_start(Response.submitted_at, connection.dialect.name).label("month")  # UTC months
    base = (select(month, func.count()).select_from(CommentAnalysis)
            .join(Answer, Answer.id == CommentAnalysis.answer_id).join(Response, Response.id == Answer.response_id))
    totals = dict(connection.execute(_in_survey(base, survey, responses).group_by(month)).all())
    themes = effective_themes(codebook_keys(connection) if keys is None else keys)
    counted: dict[str, dict[str, int]] = {}
    for theme, period, count in connection.execute(_in_survey(
            select(themes.c.theme, month, func.count(distinct(themes.c.answer_id))).select_from(themes)
            .join(Answer, Answer.id == themes.c.answer_id).join(Response, Response.id == Answer.response_id),
            survey, responses).group_by(themes.c.theme, month)):
        counted.setdefault(theme, {})[period] = count
    return sorted(totals), totals, counted


def emerging_themes(connection: Connection, *, survey: str | None = None, now: datetime | None = None,
                    min_periods: int = 6, recent: int = 2, counts=None) -> list[dict[str, Any]]:
    """Themes whose monthly share of comments rises beyond its control limits: a p-chart per theme (Laney's
    p′ when the months vary more than binomially) of the ended months, read with Nelson's rules; a theme is
    emerging when an upward signal ends in the last `recent` ended months. The month `now` (default: the present)
    falls in, and any after it, follow as partial points: their share so far and n, without limits or signals.
    `counts` are monthly_counts already read."""
    periods, totals, counted = counts or monthly_counts(connection, survey=survey)
    ended, running = split_at(periods, current_period(now or datetime.now(timezone.utc), MONTHS_ZONE),
                              period=str)
    if len(ended) < min_periods:
        return []
    sizes = [totals[period] for period in ended]
    found = []
    for theme, by_month in sorted(counted.items()):
        tagged = [by_month.get(period, 0) for period in ended]
        laney = spc.laney_advisable(nonconforming=tagged, sizes=sizes)
        chart = (spc.laney_p_chart if laney else spc.p_chart)(nonconforming=tagged, sizes=sizes)
        rising = [signal for signal in spc.nelson_signals(chart=chart)
                  if signal.direction == "up" and signal.points[-1] >= len(ended) - recent]
        if rising:
            so_far = [by_month.get(period, 0) / totals[period] for period in running]
            found.append({"theme": theme, "chart": chart.chart, "periods": ended + running,
                          "shares": [round(100 * value, 2) for value in (*chart.values, *so_far)],
                          "n": sizes + [totals[period] for period in running],
                          "partial": [False] * len(ended) + [True] * len(running),
                          "centre": round(100 * float(chart.centre[-1]), 2),
                          "upper": [round(100 * value, 2) for value in chart.upper] + [None] * len(running),
                          "signals": [{"rule": signal.rule.id, "description": signal.rule.description,
                                       "periods": [ended[index] for index in signal.points]} for signal in rising]})
    return found


def codebook_accuracy(connection: Connection, *, keys: list[str] | None = None) -> list[dict[str, Any]]:
    """Per theme: the codebook's tags against the corrected themes of every comment a person corrected
    (precision, recall, F1 and Cohen's κ); empty until someone corrects a comment."""
    from voxpop.text.evaluation import evaluate_themes

    keys = codebook_keys(connection) if keys is None else keys
    reviewed = select(CommentTheme.answer_id).where(CommentTheme.source == "correction").distinct().subquery()
    machine: dict[int, set[str]] = {}
    for answer_id, theme in connection.execute(
            select(CommentTheme.answer_id, CommentTheme.theme)
            .join(reviewed, reviewed.c.answer_id == CommentTheme.answer_id)
            .where(CommentTheme.source == "codebook", CommentTheme.removed == false(), CommentTheme.theme.in_(keys))):
        machine.setdefault(answer_id, set()).add(theme)
    themes = effective_themes(keys)
    human: dict[int, set[str]] = {}
    for answer_id, theme in connection.execute(
            select(themes.c.answer_id, themes.c.theme).join(reviewed, reviewed.c.answer_id == themes.c.answer_id)):
        human.setdefault(answer_id, set()).add(theme)
    answers = sorted(set(machine) | set(human) | set(connection.execute(select(reviewed.c.answer_id)).scalars()))
    if not answers:
        return []
    return [asdict(result) for result in evaluate_themes([machine.get(a, set()) for a in answers],
                                                         [human.get(a, set()) for a in answers],
                                                         themes=set().union(*machine.values(), *human.values()))]


def pareto(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Negative comments per top-level theme, most first, with the cumulative share: the vital few (Juran)."""
    top = sorted((row for row in rows if "." not in row["theme"] and row["negative_comments"]),
                 key=lambda row: (-row["negative_comments"], row["theme"]))
    total = sum(row["negative_comments"] for row in top)
    running, found = 0, []
    for row in top:
        running += row["negative_comments"]
        found.append({"theme": row["theme"], "negative_comments": row["negative_comments"],
                      "cumulative_share": round(100 * running / total, 1)})
    return found
