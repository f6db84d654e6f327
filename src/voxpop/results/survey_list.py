"""The survey list's data: each survey with its status, owner, current version, responses, last response and
responses per month. It reads surveys and responses together, so it sits above both domains."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Connection, func, or_, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.collection.models import Response
from voxpop.surveys.models import Survey, SurveyVersion
from voxpop.surveys.public import SurveyListPublic, SurveyPublic
from voxpop.web.tables import csv_text

TREND_MONTHS = 12
def trend_months(now: datetime) -> list[str]:
    """The first days (YYYY-MM-01, UTC) of the last TREND_MONTHS months, oldest first, ending with now's month."""
    year, month = now.year, now.month
    months = []
    for _ in range(TREND_MONTHS):
        months.append(f"{year:04d}-{month:02d}-01")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def list_surveys(*, db_session: Session | Connection, now: datetime, search: str | None = None,
                 status: str | None = None, owner: str | None = None, key: str | None = None, offset: int = 0,
                 limit: int | None = None) -> SurveyListPublic:
    """Surveys matching the filters, the most recently answered first, with response counts and a monthly trend."""
    totals = (select(Response.survey_id, func.count().label("responses"),
                     func.max(Response.submitted_at).label("last_response_at"))
              .group_by(Response.survey_id).subquery())
    versions = (select(SurveyVersion.survey_id, func.max(SurveyVersion.number).label("version"))
                .group_by(SurveyVersion.survey_id).subquery())
    query = (select(Survey.id, Survey.key, Survey.title, Survey.status, Survey.languages, User.email, User.name,
                    func.coalesce(totals.c.responses, 0), totals.c.last_response_at, versions.c.version)
             .outerjoin(User, User.id == Survey.owner_id)
             .outerjoin(totals, totals.c.survey_id == Survey.id)
             .outerjoin(versions, versions.c.survey_id == Survey.id))
    if search:
        query = query.where(or_(Survey.title.icontains(search, autoescape=True),
                                Survey.key.icontains(search, autoescape=True)))
    if key:
        query = query.where(Survey.key == key)
    if status:
        query = query.where(Survey.status == status)
    if owner:
        query = query.where(User.email == owner.strip().lower())  # stored lower-case (accounts.create_user)
    total = db_session.scalar(select(func.count()).select_from(query.subquery()))
    query = query.order_by(totals.c.last_response_at.desc().nulls_last(), Survey.created_at.desc(),
                           Survey.key).offset(offset)
    rows = db_session.execute(query if limit is None else query.limit(limit)).all()
    months = trend_months(now)
    monthly = _monthly_responses(db_session, [row[0] for row in rows], months)
    surveys = [
        SurveyPublic(key=key, title=title, status=state, languages=list(languages or []), responses=responses,
                     last_response_at=last, owner=email, owner_name=(name or email) if email else None,
                     version=version, monthly_responses=[monthly.get((survey_id, month), 0) for month in months])
        for survey_id, key, title, state, languages, email, name, responses, last, version in rows
    ]
    return SurveyListPublic(months=[month[:7] for month in months], total=total, offset=offset, limit=limit,
                            surveys=surveys)


def _monthly_responses(db_session: Session | Connection, survey_ids: list[int],
                       months: list[str]) -> dict[tuple[int, str], int]:
    """(survey id, YYYY-MM-01): responses, from one grouped query over the months shown."""
    # Imported here: the rollups module loads Ibis, which `survey apply` and the survey page need not.
    from voxpop.analysis.rollups import month_start

    if not survey_ids:
        return {}
    dialect = db_session.get_bind().dialect.name
    # PostgreSQL would write the month in the session's time zone; the trend's months are UTC's.
    submitted = Response.submitted_at if dialect == "sqlite" else func.timezone("UTC", Response.submitted_at)
    month = month_start(submitted, dialect)
    since = datetime.fromisoformat(months[0]).replace(tzinfo=timezone.utc)
    return {(survey_id, first_day): count for survey_id, first_day, count in db_session.execute(
        select(Response.survey_id, month, func.count())
        .where(Response.survey_id.in_(survey_ids), Response.submitted_at >= since)
        .group_by(Response.survey_id, month))}


def responses_per_version(*, db_session: Session | Connection, survey_id: int) -> dict[int, int]:
    """Version id: the responses given on it."""
    return dict(db_session.execute(select(Response.version_id, func.count())
                                   .where(Response.survey_id == survey_id).group_by(Response.version_id)).all())


SURVEY_COLUMNS = ("title", "key", "status", "responses", "last_response_at", "owner", "version")


def survey_table(listing: SurveyListPublic) -> tuple[list[str], list[list[object]]]:
    """The survey list as a table, one column per trend month."""
    return [*SURVEY_COLUMNS, *(f"responses_{month}" for month in listing.months)], [
        [survey.title, survey.key, survey.status, survey.responses,
         survey.last_response_at.isoformat() if survey.last_response_at else "", survey.owner or "",
         survey.version or "", *survey.monthly_responses] for survey in listing.surveys]


def survey_csv(listing: SurveyListPublic) -> str:
    """The survey list as CSV (the command line's `voxpop surveys list --format csv`)."""
    return csv_text(*survey_table(listing))
