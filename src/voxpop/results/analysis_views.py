"""Comparing, cross-tabulating and finding the key drivers of a survey's results, on pages and as JSON. Each page
and its twin are filled by one data function (results.compare, results.crosstab, results.drivers) under the
response filter, and each page's table is also a CSV (`?format=csv`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request

from voxpop.collection.filter_params import FilterDep, FilterQuery, error_field, filter_form
from voxpop.collection.filters import FilterError, ResponseFilter, unknown_questions
from voxpop.results import compare, crosstab, drivers
from voxpop.results.analysis_counts import SurveyCatalogue, survey_catalogue
from voxpop.results.analysis_schemas import ComparisonPublic, CrosstabPublic, DriversPublic
from voxpop.results.service import UnknownSurvey
from voxpop.text.labels import as_sentence
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])
CONFIDENCES = {"0.9": "90%", "0.95": "95%", "0.99": "99%"}
Confidence = Annotated[str | None, Query(max_length=8, description="Confidence level of intervals and tests: 0.9, "
                                                                   "0.95 (default) or 0.99.")]
Format = Annotated[str | None, Query(max_length=8, description="csv for the page's table as CSV.")]


class NotEnoughData(ValueError):
    """The data cannot give the figures (too few complete responses, a constant question); said in a sentence.
    `chosen` is what the page's form should show chosen, when the analysis got as far as choosing."""

    def __init__(self, message: str, *, chosen: dict[str, Any] | None = None):
        super().__init__(message)
        self.chosen = chosen or {}


def _confidence(text: str | None) -> float:
    if text in (None, ""):
        return 0.95
    if text not in CONFIDENCES:
        raise FilterError(f"confidence must be one of {', '.join(CONFIDENCES)}, not {text!r}", parameter="confidence")
    return float(text)


def _analysed(db, key: str, query: FilterQuery, analysis: Callable[..., Any]) -> Any:
    """Run one analysis on the survey under the query's filter; raises UnknownSurvey, FilterError (a bad parameter)
    or NotEnoughData."""
    response_filter = query.parse()
    with db.read_connection() as connection:
        catalogue = survey_catalogue(connection, survey_key=key)
        unknown = unknown_questions(response_filter, survey_id=catalogue.survey_id, db_session=connection)
        if unknown:
            raise FilterError(f"this survey has no question {', '.join(map(repr, unknown))}; an answer filter names "
                              "one of its question keys", parameter="answer")
        return analysis(connection, catalogue, response_filter)


def _problem(request: Request, exc: Exception):
    if isinstance(exc, UnknownSurvey):
        return problem(404, str(exc), code="unknown-survey", instance=request.url.path)
    if isinstance(exc, NotEnoughData):
        return problem(422, as_sentence(str(exc)), code="not-enough-data", instance=request.url.path)
    return problem(422, as_sentence(f"Parameter {exc.parameter}: {exc}"), code="invalid-parameter",
                   instance=request.url.path, errors=[{"field": exc.parameter or "", "message": as_sentence(str(exc))}])


def _filter_pairs(query: FilterQuery) -> list[tuple[str, str]]:
    """The filter's query values as sent, so the tabs and links keep the filter as typed."""
    pairs = [(name, getattr(query, name)) for name in ("period", "since", "until") if getattr(query, name)]
    return pairs + [("attribute", value) for value in query.attribute if value] + \
        [("answer", value) for value in query.answer if value]


def _page(request: Request, db, key: str, query: FilterQuery, template: str, tab: str, own: list[tuple[str, str]],
          context: dict[str, Any], failed: FilterError | None, status_code: int = 200):
    """Render one of the three pages with what they share: the tabs, the filter bar and the links; a filter's
    error is shown at its field and linked from the summary."""
    with db.read_connection() as connection:
        try:
            catalogue = survey_catalogue(connection, survey_key=key)
        except UnknownSurvey:
            raise HTTPException(404) from None
        form = filter_form(query, connection, survey=key)
    error, field_error = None, {}
    if failed is not None:
        # The drivers' select is the drivers page's own field, beside the filter bar's.
        error = ("driver-1" if failed.parameter == "driver" else error_field(failed, form), as_sentence(str(failed)))
        field_error = {failed.parameter or "period": error[1], error[0]: error[1]}
    kept = _filter_pairs(query)
    everything = urlencode(kept + [(name, value) for name, value in own if value])
    return render(request, f"results/{template}", {
        "key": key, "title": catalogue.title, "catalogue": catalogue, "form": form, "error": error,
        "field_error": field_error, "query": urlencode(kept),
        "json_href": f"/api/v1/surveys/{key}/{tab}" + (f"?{everything}" if everything else ""),
        "csv_href": f"/surveys/{key}/{tab}?" + urlencode([*kept, *((n, v) for n, v in own if v), ("format", "csv")]),
        "reset_href": f"/surveys/{key}/{tab}", "confidences": list(CONFIDENCES.items()),
        "attribute_options": [(name, name.replace("_", " ").capitalize()) for name in catalogue.attributes], **context,
    }, status_code=400 if error else status_code)


def _check_format(output: str | None) -> None:
    if output not in (None, "", "csv", "html"):
        raise FilterError(f"format must be csv (or left out for the page), not {output!r}", parameter="format")


# Compare ------------------------------------------------------------------------------------------------------------


def _attempt(format: str | None, compute: Callable[[], Any]) -> tuple[Any, FilterError | None, NotEnoughData | None]:
    """A page's figures, or why there are none: (data, the filter's error, too little data); an unknown survey is
    a 404; an unknown format is a filter error, shown at its field."""
    try:
        _check_format(format)
        return compute(), None, None
    except UnknownSurvey:
        raise HTTPException(404) from None
    except FilterError as exc:
        return None, exc, None
    except NotEnoughData as exc:
        return None, None, exc


def comparison_of(db, *, key: str, query: FilterQuery, mode: str | None, segment_by: str | None,
                  confidence: str | None, min_base: int) -> ComparisonPublic:
    """The survey's figures compared: with the previous period (mode=period, the default when the filter has days)
    or each value of an attribute with the rest (mode=segment, the default otherwise)."""
    level = _confidence(confidence)
    today = datetime.now(ZoneInfo(query.zone)).date()

    def analysis(connection, catalogue: SurveyCatalogue, response_filter: ResponseFilter) -> ComparisonPublic:
        if not mode and not response_filter.since and not catalogue.attributes:
            raise NotEnoughData("choose a period, or a first day, to compare with the days before; these responses "
                                "carry no attributes whose segments could be compared instead")
        chosen = mode or ("period" if response_filter.since else "segment")
        if chosen == "period":
            return compare.compare_periods(connection, catalogue=catalogue, response_filter=response_filter,
                                           zone=query.zone, today=today, min_base=min_base, confidence=level)
        if chosen == "segment":
            attribute = segment_by or (catalogue.attributes[0] if catalogue.attributes else "")
            return compare.compare_segments(connection, catalogue=catalogue, response_filter=response_filter,
                                            zone=query.zone, segment_by=attribute, min_base=min_base,
                                            confidence=level)
        raise FilterError(f"mode must be period or segment, not {chosen!r}", parameter="mode")

    return _analysed(db, key, query, analysis)


CompareMode = Annotated[str | None, Query(max_length=16, description="period: the filter's days against the period "
                                                                     "before; segment: each value of segment_by "
                                                                     "against the rest.")]
SegmentBy = Annotated[str | None, Query(max_length=64, description="The attribute whose values are compared "
                                                                    "(mode=segment); default the first.")]


@router.get("/surveys/{key}/compare", include_in_schema=False)
def compare_page(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep, query: FilterDep,
                 mode: CompareMode = None, segment_by: SegmentBy = None, confidence: Confidence = None,
                 format: Format = None):
    data, error, short = _attempt(format, lambda: comparison_of(
        db, key=key, query=query, mode=mode, segment_by=segment_by, confidence=confidence, min_base=settings.min_base))
    shortfall = as_sentence(str(short)) if short else None
    if data is not None and format == "csv":
        return csv_response(f"{key}-compare", *comparison_table(data))
    own = [("mode", data.mode if data else mode or ""), ("segment_by", (data.segment_by if data else segment_by) or ""),
           ("confidence", confidence or "")]
    return _page(request, db, key, query, "compare.html", "compare", own, {
        "data": data, "shortfall": shortfall, "mode": own[0][1], "segment_by": own[1][1], "confidence": confidence or "0.95",
        "modes": list(compare.MODES.items()), "min_base": settings.min_base}, error)


@api.get("/surveys/{key}/compare", response_model=ComparisonPublic, responses=problem_responses(401, 404, 422))
def compare_json(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep, query: FilterDep,
                 mode: CompareMode = None, segment_by: SegmentBy = None, confidence: Confidence = None):
    """Every scored question's headline and every choice option's share on two sides (the filter's days and the
    period before, or each segment and the rest) with their difference, its interval and p-value; `significant`
    only where the difference survives Holm's adjustment, with a sentence for each."""
    try:
        return comparison_of(db, key=key, query=query, mode=mode, segment_by=segment_by, confidence=confidence,
                             min_base=settings.min_base)
    except (UnknownSurvey, FilterError, NotEnoughData) as exc:
        return _problem(request, exc)


def comparison_table(data: ComparisonPublic) -> tuple[list[str], list[list[Any]]]:
    """The compared figures as one table: a row per question, figure and segment."""
    header = ["question", "figure", "option", "segment", "a_value", "a_n", "a_ci_low", "a_ci_high", "b_value", "b_n",
              "b_ci_low", "b_ci_high", "difference", "ci_low", "ci_high", "p_value", "p_holm", "significant",
              "low_base"]
    rows = [[question.question, measure.metric, measure.option, row.segment, row.a.value, row.a.n, row.a.ci_low,
             row.a.ci_high, row.b.value, row.b.n, row.b.ci_low, row.b.ci_high, row.difference, row.ci_low, row.ci_high,
             row.p_value, row.p_holm, row.significant, row.a.low_base or row.b.low_base]
            for question in data.questions for measure in question.measures for row in measure.rows]
    return header, rows


# Crosstab -----------------------------------------------------------------------------------------------------------


def crosstab_of(db, *, key: str, query: FilterQuery, row: str | None, column: str | None, row_by: str | None,
                confidence: str | None, min_base: int) -> CrosstabPublic:
    """The crosstab of `row` by `column`; by default the first choice or scored question by the first attribute."""
    level = _confidence(confidence)

    def analysis(connection, catalogue: SurveyCatalogue, response_filter: ResponseFilter) -> CrosstabPublic:
        rows = [question for question in catalogue.questions if question.choice or question.scored]
        chosen_row = row or (rows[0].key if rows else "")
        others = [question.key for question in catalogue.choices if question.key != chosen_row]
        if not rows:
            raise NotEnoughData("this survey has no choice or scored question to cross-tabulate")
        if not (column or catalogue.attributes or others):
            raise NotEnoughData("there is nothing to cross the answers by: these responses carry no attributes and "
                                "the survey has no other choice question")
        chosen_column = column or next(iter([*catalogue.attributes, *others]))
        return crosstab.crosstab(connection, catalogue=catalogue, response_filter=response_filter, zone=query.zone,
                                 row=chosen_row, column=chosen_column, row_by=row_by, min_base=min_base,
                                 confidence=level)

    return _analysed(db, key, query, analysis)


Row = Annotated[str | None, Query(max_length=64, description="The row question's key: a choice or scored question.")]
Column = Annotated[str | None, Query(max_length=64, description="An attribute's name or another choice question's "
                                                                "key.")]
RowBy = Annotated[str | None, Query(max_length=8, description="A scored row question's rows: score, or group (NPS "
                                                              "groups, the default for NPS).")]


@router.get("/surveys/{key}/crosstab", include_in_schema=False)
def crosstab_page(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep, query: FilterDep,
                  row: Row = None, column: Column = None, row_by: RowBy = None, confidence: Confidence = None,
                  format: Format = None):
    data, error, short = _attempt(format, lambda: crosstab_of(
        db, key=key, query=query, row=row, column=column, row_by=row_by, confidence=confidence,
        min_base=settings.min_base))
    shortfall = as_sentence(str(short)) if short else None
    if data is not None and format == "csv":
        return csv_response(f"{key}-crosstab-{data.row}-by-{data.column}", *crosstab_table(data))
    own = [("row", data.row if data else row or ""), ("column", data.column if data else column or ""),
           ("row_by", row_by or ""), ("confidence", confidence or "")]
    return _page(request, db, key, query, "crosstab.html", "crosstab", own, {
        "data": data, "shortfall": shortfall, "row": own[0][1], "column": own[1][1], "row_by": data.row_by if data else row_by or "",
        "confidence": confidence or "0.95", "min_base": settings.min_base}, error)


@api.get("/surveys/{key}/crosstab", response_model=CrosstabPublic, responses=problem_responses(401, 404, 422))
def crosstab_json(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep, query: FilterDep,
                  row: Row = None, column: Column = None, row_by: RowBy = None, confidence: Confidence = None):
    """A question by an attribute or a choice question: counts, column percentages with Wilson intervals, each cell
    against the rest of its row (Holm-adjusted across the table; `mark` only where that survives) and the
    chi-square test of independence, with its caveat when expected counts are small."""
    try:
        return crosstab_of(db, key=key, query=query, row=row, column=column, row_by=row_by, confidence=confidence,
                           min_base=settings.min_base)
    except (UnknownSurvey, FilterError, NotEnoughData) as exc:
        return _problem(request, exc)


def crosstab_table(data: CrosstabPublic) -> tuple[list[str], list[list[Any]]]:
    """The crosstab in long form: a row per cell, the total column as column "(all)"."""
    header = ["row", "row_label", "column", "column_label", "count", "base", "percent", "ci_low", "ci_high",
              "p_value", "p_holm", "mark"]
    rows = []
    for table_row in data.rows:
        for column, cell in [*zip(data.columns, table_row.cells), (None, table_row.total)]:
            rows.append([table_row.value, table_row.label, column.value if column else "(all)",
                         column.label if column else "All", cell.count, column.base if column else data.base,
                         cell.percent, cell.ci_low, cell.ci_high, cell.p_value, cell.p_holm, cell.mark])
    return header, rows


# Drivers ------------------------------------------------------------------------------------------------------------


def drivers_of(db, *, key: str, query: FilterQuery, outcome: str | None, driver: list[str], resamples: int,
               seed: int, confidence: str | None) -> DriversPublic:
    """The key drivers of `outcome` under the filter, as `voxpop drivers` computes them."""
    level = _confidence(confidence)

    def analysis(connection, catalogue: SurveyCatalogue, response_filter: ResponseFilter) -> DriversPublic:
        try:
            return drivers.key_drivers(connection, catalogue=catalogue, response_filter=response_filter,
                                       zone=query.zone, outcome=outcome, driver=driver, resamples=resamples, seed=seed,
                                       confidence=level)
        except drivers.DriversUnavailable as exc:
            raise NotEnoughData(str(exc), chosen={"outcome": exc.outcome, "drivers": exc.drivers}) from None
        except FilterError:
            raise
        except ValueError as exc:  # a survey without the questions to analyse
            raise NotEnoughData(str(exc)) from None

    return _analysed(db, key, query, analysis)


Outcome = Annotated[str | None, Query(max_length=64, description="The outcome question's key; default the first NPS "
                                                                 "question.")]
Driver = Annotated[list[str] | None, Query(description="A driver question's key; repeat for each. Default every "
                                                       "other scored question.")]
Resamples = Annotated[int, Query(ge=0, le=5000, description="Bootstrap resamples for the intervals (0: none).")]
Seed = Annotated[int, Query(ge=0, le=2**31 - 1, description="Random seed of the resampling.")]


def quadrant_chart(data: DriversPublic) -> charts.Chart:
    return charts.quadrant_chart(
        [charts.QuadrantPoint(row.driver, row.performance, row.rescaled, row.ci_low, row.ci_high,
                              f"{row.text}: importance {row.rescaled:.1f}% of R²"
                              + (f" ({row.ci_low:.1f} to {row.ci_high:.1f})" if row.ci_low is not None else "")
                              + f", performance {row.performance:.2f}, {row.quadrant}") for row in data.rows],
        title=f"Importance and performance of the drivers of {data.outcome}", x_title="Performance: the driver's mean",
        y_title="Importance (% of R²)", mean_performance=data.mean_performance, mean_importance=data.mean_importance)


@router.get("/surveys/{key}/drivers", include_in_schema=False)
def drivers_page(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep, query: FilterDep,
                 outcome: Outcome = None, driver: Driver = None, resamples: Resamples = drivers.RESAMPLES,
                 seed: Seed = drivers.SEED, confidence: Confidence = None, format: Format = None):
    data, error, short = _attempt(format, lambda: drivers_of(
        db, key=key, query=query, outcome=outcome, driver=driver or [], resamples=resamples, seed=seed,
        confidence=confidence))
    shortfall, chosen = (as_sentence(str(short)), short.chosen) if short else (None, {})
    if data is not None and format == "csv":
        return csv_response(f"{key}-drivers-{data.outcome}", *drivers_table(data))
    if data is not None:
        chosen = {"outcome": data.outcome, "drivers": data.drivers}
    own = [("outcome", outcome or ""), *(("driver", name) for name in driver or []),
           ("resamples", str(resamples) if resamples != drivers.RESAMPLES else ""),
           ("seed", str(seed) if seed != drivers.SEED else ""), ("confidence", confidence or "")]
    return _page(request, db, key, query, "drivers.html", "drivers", own, {
        "data": data, "shortfall": shortfall, "outcome": chosen.get("outcome", outcome or ""),
        "drivers_chosen": chosen.get("drivers", driver or []), "resamples": resamples, "seed": seed,
        "confidence": confidence or "0.95", "chart": quadrant_chart(data) if data and len(data.rows) > 1 else None}, error)


@api.get("/surveys/{key}/drivers", response_model=DriversPublic, responses=problem_responses(401, 404, 422))
def drivers_json(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep, query: FilterDep,
                 outcome: Outcome = None, driver: Driver = None, resamples: Resamples = drivers.RESAMPLES,
                 seed: Seed = drivers.SEED, confidence: Confidence = None):
    """Key drivers of an outcome question under the filter: Johnson's relative weights with bootstrap percentile
    intervals and each driver's importance × performance quadrant, computed as `voxpop drivers` computes them (the
    same figures for the same responses; `command` is that command when no filter narrows them)."""
    try:
        return drivers_of(db, key=key, query=query, outcome=outcome, driver=driver or [], resamples=resamples,
                          seed=seed, confidence=confidence)
    except (UnknownSurvey, FilterError, NotEnoughData) as exc:
        return _problem(request, exc)


def drivers_table(data: DriversPublic) -> tuple[list[str], list[list[Any]]]:
    """The drivers' table with the columns `voxpop drivers --format csv` prints."""
    header = ["driver", "raw_weight", "rescaled", "ci_low", "ci_high", "raw_ci_low", "raw_ci_high", "performance",
              "quadrant", "n", "r_squared"]
    return header, [[row.driver, row.raw_weight, row.rescaled, row.ci_low, row.ci_high, row.raw_ci_low,
                     row.raw_ci_high, row.performance, row.quadrant, data.n, data.r_squared] for row in data.rows]
