"""Key drivers of a survey's outcome question over the responses a filter keeps: Johnson's relative weights with
bootstrap intervals and the importance × performance quadrants, computed by the function `voxpop drivers` calls
(voxpop.metrics.drivers), on the same scales it chooses, so the page's figures are the command's."""

from __future__ import annotations

import ibis
import pandas as pd
from sqlalchemy import Connection, case, func, select

from voxpop.collection.filters import FilterError, ResponseFilter, matching_responses
from voxpop.collection.models import Answer
from voxpop.metrics import drivers
from voxpop.results.analysis_counts import SurveyCatalogue, SurveyQuestion
from voxpop.results.analysis_schemas import DriverPublic, DriversPublic

RESAMPLES = 1000  # the page's bootstrap resamples, as the docs suggest for `voxpop drivers --bootstrap`
SEED = 1  # a fixed seed, so a page shows the same intervals each time it is opened


class DriversUnavailable(ValueError):
    """The data cannot give the weights (too few complete responses, a constant or collinear question), said in a
    sentence; `outcome` and `drivers` are the questions that were asked for, so a page can show them chosen."""

    def __init__(self, message: str, *, outcome: str, drivers: list[str]):
        super().__init__(message)
        self.outcome, self.drivers = outcome, drivers


def chosen_questions(catalogue: SurveyCatalogue, *, outcome: str | None,
                     driver: list[str]) -> tuple[SurveyQuestion, list[SurveyQuestion]]:
    """The outcome and driver questions asked for; by default the first NPS question (else the first scored one)
    and every other scored question. A question that is not there is a FilterError naming the parameter; a survey
    without the questions to analyse, a plain ValueError."""
    scored = catalogue.scored
    offered = ", ".join(question.key for question in scored) or "none"
    if outcome:
        chosen = catalogue.question(outcome)
        if chosen is None or not chosen.scored:
            raise FilterError(f"outcome must be a scored question of this survey ({offered}), not {outcome!r}",
                              parameter="outcome")
    else:
        chosen = next((question for question in scored if question.kind == "nps"), scored[0] if scored else None)
        if chosen is None:
            raise ValueError("this survey has no scored question (NPS, CSAT, CES or rating) to explain")
    keys = [key for key in dict.fromkeys(driver) if key] or [question.key for question in scored
                                                            if question.key != chosen.key]
    unknown = [key for key in keys if catalogue.question(key) is None or not catalogue.question(key).scored]
    if unknown:
        raise FilterError(f"driver must name scored questions of this survey ({offered}), not "
                          f"{', '.join(map(repr, unknown))}", parameter="driver")
    if chosen.key in keys:
        raise FilterError(f"{chosen.key!r} is the outcome; a driver must be another question", parameter="driver")
    if not keys:
        raise ValueError("key-driver analysis needs a driver question besides the outcome, and this survey has no "
                         "other scored question")
    return chosen, [catalogue.question(key) for key in keys]


def scores_by_response(connection: Connection, *, questions: list[SurveyQuestion], responses) -> pd.DataFrame:
    """One row per response the filter keeps and one score column per question (NaN when skipped), pivoted by the
    database; only answers on the question's current scale count, as the command refuses to pool unlike scales."""
    columns = [func.max(case((Answer.question_id.in_(question.ids), Answer.score))) for question in questions]
    statement = (select(*columns).where(Answer.response_id.in_(responses),
                                        Answer.question_id.in_([i for question in questions for i in question.ids]))
                 .group_by(Answer.response_id))
    keys = [question.key for question in questions]
    return pd.DataFrame.from_records(connection.execute(statement).all(), columns=keys).astype("float64")


def key_drivers(connection: Connection, *, catalogue: SurveyCatalogue, response_filter: ResponseFilter, zone: str,
                outcome: str | None, driver: list[str], resamples: int, seed: int, confidence: float) -> DriversPublic:
    """The weights, intervals and quadrants of the drivers of `outcome`; DriversUnavailable says why there are
    none (too few complete responses, a constant or collinear question)."""
    chosen, drivers_asked = chosen_questions(catalogue, outcome=outcome, driver=driver)
    responses = matching_responses(response_filter, zone=zone, survey=catalogue.key)
    frame = scores_by_response(connection, questions=[chosen, *drivers_asked], responses=responses)
    if not driver:  # by default, the scored questions these responses answered
        drivers_asked = [question for question in drivers_asked if frame[question.key].notna().any()] or drivers_asked
    keys = [question.key for question in drivers_asked]
    complete = int(frame[[chosen.key, *keys]].notna().all(axis=1).sum())
    if complete < 3:
        raise DriversUnavailable(f"{complete:,} of these responses answered “{chosen.text}” and every driver; key-driver "
                                 "analysis needs at least 3 (and some hundreds to be useful), so widen the filter or "
                                 "choose fewer drivers", outcome=chosen.key, drivers=keys)
    # As the command does for a survey: the drivers' shared scale, checked; the outcome on any scale.
    scales = {question.bounds for question in drivers_asked}
    notes = []
    if len(scales) > 1:
        notes.append("The drivers are on different scales (" + ", ".join(
            f"{question.key} {question.bounds[0]}–{question.bounds[1]}" for question in drivers_asked) + "), so each "
            "performance is a mean on its own scale and the quadrants compare unlike means; choose drivers on one "
            "scale for quadrants that mean something")
    engine = ibis.duckdb.connect()
    try:
        result = drivers(engine.create_table("scores", frame), outcome=chosen.key, drivers=keys,
                         scale=next(iter(scales)) if len(scales) == 1 else None, bootstrap=resamples,
                         confidence=confidence, seed=seed)
    except ValueError as exc:  # core's refusals: a question that never varies, collinear drivers
        raise DriversUnavailable(str(exc), outcome=chosen.key, drivers=keys) from None
    finally:
        engine.disconnect()
    texts = {question.key: question.text for question in drivers_asked}
    rows = [DriverPublic(**row, text=texts[row["driver"]]) for row in result["rows"]]
    command = None
    if response_filter.is_empty:
        command = " ".join([f"voxpop drivers --survey {catalogue.key} --outcome {chosen.key}",
                            *(f"--driver {key}" for key in keys),
                            f"--bootstrap {resamples} --seed {seed}" if resamples else "",
                            f"--confidence {confidence}" if resamples and confidence != 0.95 else ""]).strip()
    return DriversPublic(
        survey=catalogue.key, title=catalogue.title, outcome=chosen.key, outcome_text=chosen.text, drivers=keys,
        filter=response_filter.describe(), n=result["n"], r_squared=result["r_squared"],
        confidence=result["confidence"], resamples=result["resamples"], seed=result["seed"], rows=rows,
        mean_importance=100 / len(rows), mean_performance=sum(row.performance for row in rows) / len(rows),
        command=command, notes=notes)
