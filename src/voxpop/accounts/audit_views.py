"""The audit log as admins read it: a page with filters and a CSV export, and its JSON twin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, NamedTuple
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from voxpop.accounts import audit
from voxpop.accounts.audit_schemas import AuditEntryPublic, AuditPagePublic
from voxpop.accounts.models import User
from voxpop.analysis.periods import SINCE_HELP, UNTIL_HELP
from voxpop.core.wording import as_sentence
from voxpop.web.auth import DbDep, SettingsDep, require_role
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
Admin = Annotated[User, Depends(require_role("admin"))]


class AuditQuery(NamedTuple):
    """The filters as the query string sends them: empty means any."""

    actor: str
    action: str
    since: str
    until: str
    target: str

    def given(self) -> list[tuple[str, str]]:
        """The filters that have a value, for links that keep them."""
        return [(name, value) for name, value in self._asdict().items() if value]


def audit_query(
    actor: Annotated[str, Query(max_length=254, description="A user's id or e-mail, or 'none' for the command line "
                                                            "and the system.")] = "",
    action: Annotated[str, Query(max_length=80, description="An action (case.status), or a prefix ending in a dot "
                                                            "(case.) for all of its kind.")] = "",
    since: Annotated[str, Query(max_length=20, description=SINCE_HELP)] = "",
    until: Annotated[str, Query(max_length=20, description=UNTIL_HELP)] = "",
    target: Annotated[str, Query(max_length=200, description="Words the target contains.")] = "",
) -> AuditQuery:
    return AuditQuery(actor.strip(), action.strip(), since.strip(), until.strip(), target.strip())


QueryDep = Annotated[AuditQuery, Depends(audit_query)]
Before = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Entries older than this entry's id (the "
                                                                     "previous page's next_before).")]
Limit = Annotated[int, Query(ge=1, le=audit.MAX_PAGE_SIZE, description="Entries per page.")]


def _filter(db, query: AuditQuery) -> audit.AuditFilter:
    """The filter to apply; AuditFilterError names the value that cannot be used."""
    with db.read() as db_session:
        return audit.make_filter(db_session=db_session, **query._asdict())


def entry_public(row: audit.AuditRow) -> AuditEntryPublic:
    entry = row.entry
    return AuditEntryPublic(id=entry.id, at=entry.at, actor_id=entry.actor_id, actor_email=row.actor_email,
                            actor_name=row.actor_name, by=row.by, action=entry.action,
                            action_words=audit.action_in_words(entry.action), target=entry.target,
                            details=entry.details or {}, details_words=audit.details_in_words(entry.details),
                            client=entry.client)


def audit_list(db, query: AuditQuery, *, zone: str, before: int | None, limit: int) -> AuditPagePublic:
    """A page of the log as the filters keep it; AuditFilterError when a filter cannot be applied."""
    filters = _filter(db, query)
    with db.read() as db_session:
        rows, next_before = audit.audit_page(db_session=db_session, filters=filters, zone=zone, before=before,
                                             limit=limit)
        return AuditPagePublic(entries=[entry_public(row) for row in rows], next_before=next_before, limit=limit,
                               total=audit.count_entries(db_session=db_session, filters=filters, zone=zone),
                               filters=dict(query.given()))


@router.get("/admin/audit", include_in_schema=False)
def audit_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep, query: QueryDep,
               before: Before = None, limit: Limit = audit.PAGE_SIZE):
    listed, error = None, None
    try:
        listed = audit_list(db, query, zone=settings.timezone, before=before, limit=limit)
    except audit.AuditFilterError as exc:
        error = exc
    with db.read() as db_session:
        actions, actors = audit.action_choices(db_session=db_session), audit.actor_choices(db_session=db_session)
    kept = query.given()
    paged = kept + ([("limit", limit)] if limit != audit.PAGE_SIZE else [])
    return render(request, "accounts/audit.html", {
        "listed": listed, "query": query, "filtered": bool(kept), "actions": actions, "actors": actors,
        "timezone": settings.timezone,
        "filter_error": error and as_sentence(str(error)), "error_field": error.field if error else "",
        "json_href": "/api/v1/audit" + (f"?{request.url.query}" if request.url.query else ""),
        "csv_href": "/admin/audit.csv" + (f"?{urlencode(kept)}" if kept else ""),
        "first_href": "/admin/audit" + (f"?{urlencode(paged)}" if paged else "") if before else None,
        "next_href": f"/admin/audit?{urlencode([*paged, ('before', listed.next_before)])}"
                     if listed and listed.next_before else None,
    }, status_code=400 if error else 200)


@router.get("/admin/audit.csv", include_in_schema=False)
def audit_csv(request: Request, user: Admin, db: DbDep, settings: SettingsDep, query: QueryDep):
    """Every entry the filters keep, newest first, streamed as it is read; formula cells quoted."""
    try:
        filters = _filter(db, query)
    except audit.AuditFilterError:
        return audit_page(request, user, db, settings, query)  # the page says which filter cannot be applied
    today = datetime.now(ZoneInfo(settings.timezone)).date().isoformat()

    def stream() -> Iterator[str]:
        with db.read() as db_session:
            yield from audit.csv_chunks(audit.csv_rows(db_session=db_session, filters=filters, zone=settings.timezone))

    return StreamingResponse(stream(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="audit-{today}.csv"'})


@api.get("/audit", response_model=AuditPagePublic, responses=problem_responses(422))
def audit_json(request: Request, user: Admin, db: DbDep, settings: SettingsDep, query: QueryDep,
               before: Before = None, limit: Limit = audit.PAGE_SIZE):
    """The audit log, newest first (admins only): filter by actor, action (or a prefix such as case.), days in the
    workspace's time zone and words in the target; page with `before`."""
    try:
        return audit_list(db, query, zone=settings.timezone, before=before, limit=limit)
    except audit.AuditFilterError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-filter", instance=request.url.path,
                       errors=[{"field": exc.field, "message": str(exc)}])
