"""Who did not answer and whether it matters: respondents against the invited audience, and weighted results."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request

from voxpop.results.analysis_views import CONFIDENCES, Confidence
from voxpop.results.nonresponse import NonresponseError, diagnose
from voxpop.results.nonresponse_schemas import NonresponsePublic
from voxpop.results.service import UnknownSurvey
from voxpop.text.labels import as_sentence
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])

SendKey = Annotated[str | None, Query(max_length=200, description="A send's key: its invitations make the audience "
                                                                   "(default every invitation to the survey).")]
WeightBy = Annotated[list[str] | None, Query(max_length=64, description="A categorical customer attribute to rake "
                                                                         "on; repeat for several. Default: those on "
                                                                         "which respondents differ.")]


def _confidence(text: str | None) -> float:
    if text in (None, ""):
        return 0.95
    if text not in CONFIDENCES:
        raise NonresponseError(f"confidence must be one of {', '.join(CONFIDENCES)}, not {text!r}",
                               parameter="confidence")
    return float(text)


LifetimeValue = Annotated[bool, Query(description="Compare predicted CLV too: fits the lifetime-value models on "
                                                   "every transaction, which takes seconds.")]


def nonresponse_of(db, *, key: str, send: str | None, weight: list[str] | None, confidence: str | None,
                   min_base: int, clv: bool = False) -> NonresponsePublic:
    """The survey's non-response figures; raises UnknownSurvey or NonresponseError (a bad parameter)."""
    level = _confidence(confidence)
    with db.read_connection() as connection:
        return diagnose(connection, survey_key=key, send=send or None, weight_by=[name for name in weight or [] if name],
                        confidence=level, min_base=min_base, lifetime_value=clv)


@router.get("/surveys/{key}/nonresponse", include_in_schema=False)
def nonresponse_page(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep,
                     send: SendKey = None, weight: WeightBy = None, confidence: Confidence = None,
                     clv: LifetimeValue = False):
    error = None
    try:
        data = nonresponse_of(db, key=key, send=send, weight=weight, confidence=confidence, min_base=settings.min_base,
                              clv=clv)
    except UnknownSurvey:
        raise HTTPException(404) from None
    except NonresponseError as exc:
        error = (exc.parameter, as_sentence(str(exc)))
        data = nonresponse_of(db, key=key, send=None if exc.parameter == "send" else send,
                              weight=None if exc.parameter == "weight" else weight,
                              confidence=None if exc.parameter == "confidence" else confidence,
                              min_base=settings.min_base, clv=clv)
    pairs = [("send", send or ""), *(("weight", name) for name in weight or [] if name),
             ("confidence", confidence or ""), ("clv", "true" if clv else "")]
    query = urlencode([(name, value) for name, value in pairs if value])
    offered = data.weightable
    weighted = data.weighting.by if data.weighting else []
    return render(request, "results/nonresponse.html", {
        "key": key, "title": data.title, "data": data, "error": error, "send": send or "", "clv": clv,
        "json_href": f"/api/v1/surveys/{key}/nonresponse" + (f"?{query}" if query else ""),
        "reset_href": f"/surveys/{key}/nonresponse", "confidences": list(CONFIDENCES.items()),
        "confidence": confidence or "0.95", "offered": offered,
        "sends_options": [(name, f"Send {name}") for name in data.sends], "weighted": weighted, "min_base": settings.min_base,
    }, status_code=400 if error else 200)


@api.get("/surveys/{key}/nonresponse", response_model=NonresponsePublic, responses=problem_responses(401, 404, 422))
def nonresponse_json(request: Request, key: str, user: CurrentUser, db: DbDep, settings: SettingsDep,
                     send: SendKey = None, weight: WeightBy = None, confidence: Confidence = None,
                     clv: LifetimeValue = False):
    """The invited audience against its respondents on each known attribute (response rate per category with its
    Wilson interval, chi-square or Fisher, Welch's t on tenure and spend, Holm-adjusted p and a verdict), then the
    respondents raked to the audience's margins: weighted and unweighted figures with n, n_eff and the design
    effect, and every conclusion that changes when weighted."""
    try:
        return nonresponse_of(db, key=key, send=send, weight=weight, confidence=confidence,
                              min_base=settings.min_base, clv=clv)
    except UnknownSurvey as exc:
        return problem(404, as_sentence(str(exc)), code="unknown-survey", instance=request.url.path)
    except NonresponseError as exc:
        message = as_sentence(f"Parameter {exc.parameter}: {exc}")
        return problem(422, message, code="invalid-parameter", instance=request.url.path,
                       errors=[{"field": exc.parameter, "message": as_sentence(str(exc))}])
