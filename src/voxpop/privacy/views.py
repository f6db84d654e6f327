"""Staff pages for a customer's data on request: find the customer, export what is held, erase it.

Admins only, on the page and in the API: an export is all of a person's data, and an erasure cannot be undone.
Both are audited; an erasure is confirmed by typing the customer's external id again.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from voxpop.accounts import service as accounts
from voxpop.accounts.models import AuditEntry, User
from voxpop.core.wording import as_sentence
from voxpop.customers.models import Customer
from voxpop.privacy.customers import PrivacyError, get_customer, search_customers
from voxpop.privacy.erasure import Erasure, erase_customer
from voxpop.privacy.export import customer_document, export_name, export_zip, held_counts
from voxpop.privacy.retention import cutoff_for, plan_retention
from voxpop.privacy.schemas import (
    CustomerMatchPublic,
    CustomerPrivacyPublic,
    ErasureCreate,
    ErasurePublic,
    PrivacySearchPublic,
    RetentionPublic,
)
from voxpop.settings import Settings
from voxpop.web.auth import DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app
Admin = Annotated[User, Depends(require_role("admin"))]
CustomerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Search = Annotated[str, Query(max_length=254, description="Part of the customer's external id or e-mail address.")]
DryRun = Annotated[bool, Query(description="Count what the next retention run would anonymise (reads every old "
                                           "response).")]
HELD_LABELS = {"responses": "Survey responses", "transactions": "Transactions", "invitations": "Invitations",
               "sends": "Invitation sends", "send_log": "Send log entries", "trigger_events": "Trigger events",
               "samples": "Samples", "suppressions": "Suppression entries", "mails": "E-mails",
               "cases": "Cases", "focus_groups": "Focus groups and interviews"}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _retention(db_session, settings: Settings, *, dry_run: bool) -> RetentionPublic:
    """The retention setting, its last run, and (with `dry_run`) what its next run would do."""
    last_run_at = db_session.scalar(select(AuditEntry.at).where(AuditEntry.action == "privacy.retention")
                                    .order_by(AuditEntry.id.desc()).limit(1))
    if settings.retention_months is None:
        return RetentionPublic(months=None, cutoff=None, last_run_at=last_run_at, due=None, text_answers=None,
                               customer_links=None)
    cutoff = cutoff_for(_now(), settings.retention_months)
    plan = plan_retention(db_session, cutoff=cutoff) if dry_run else None
    return RetentionPublic(months=settings.retention_months, cutoff=cutoff, last_run_at=last_run_at,
                           due=plan and plan.responses, text_answers=plan and plan.text_answers,
                           customer_links=plan and plan.customer_links)


def _match(customer: Customer) -> CustomerMatchPublic:
    return CustomerMatchPublic(id=customer.id, external_id=customer.external_id, email=customer.email,
                               erased_at=customer.erased_at)


def _held(db_session, customer: Customer) -> CustomerPrivacyPublic:
    held = held_counts(customer_document(db_session, customer, now=_now()))
    return CustomerPrivacyPublic(**_match(customer).model_dump(), held=held)


@router.get("/privacy", include_in_schema=False)
def privacy_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep, q: Search = "",
                 dry_run: DryRun = False):
    with db.read() as db_session:
        found = [_match(customer) for customer in search_customers(db_session, q)]
        retention = _retention(db_session, settings, dry_run=dry_run)
    asked = {name: value for name, value in (("q", q), ("dry_run", "true" if dry_run else "")) if value}
    return render(request, "privacy/privacy.html", {
        "q": q, "customers": found, "retention": retention,
        "json_href": "/api/v1/privacy" + (f"?{urlencode(asked)}" if asked else "")})


@api.get("/privacy", tags=["staff"], response_model=PrivacySearchPublic, responses=problem_responses(401, 403))
def privacy_json(user: Admin, db: DbDep, settings: SettingsDep, q: Search = "", dry_run: DryRun = False):
    """Customers whose external id or e-mail address contains `q` (admin), and the retention setting; with
    `dry_run`, what its next run would anonymise."""
    with db.read() as db_session:
        return PrivacySearchPublic(q=q, customers=[_match(c) for c in search_customers(db_session, q)],
                                   retention=_retention(db_session, settings, dry_run=dry_run))


def _customer_page(request: Request, db, customer_id: int, *, status: int = 200, error: str | None = None,
                   erasure: Erasure | None = None, confirm: str = ""):
    with db.read() as db_session:
        try:
            customer = _held(db_session, get_customer(db_session, customer_id))
        except PrivacyError as exc:
            return render(request, "error.html", {"status": 404, "title": "No such customer",
                                                  "detail": as_sentence(str(exc))}, status_code=404)
    return render(request, "privacy/customer.html", {
        "customer": customer, "held_labels": HELD_LABELS, "error": error, "erasure": erasure, "confirm": confirm,
        "json_href": f"/api/v1/customers/{customer_id}/privacy"}, status_code=status)


@router.get("/privacy/customers/{customer_id}", include_in_schema=False)
def customer_page(request: Request, user: Admin, db: DbDep, customer_id: CustomerId):
    return _customer_page(request, db, customer_id)


@api.get("/customers/{customer_id}/privacy", tags=["staff"], response_model=CustomerPrivacyPublic,
         responses=problem_responses(401, 403, 404))
def customer_json(request: Request, user: Admin, db: DbDep, customer_id: CustomerId):
    """What is held about a customer (admin): how many items of each kind an export would hold."""
    with db.read() as db_session:
        try:
            return _held(db_session, get_customer(db_session, customer_id))
        except PrivacyError as exc:
            return problem(404, as_sentence(str(exc)), code="no-customer", instance=request.url.path)


def _export(request: Request, user: User, db, settings: Settings, customer_id: int, *, via: str) -> Response:
    """The ZIP download, audited in the transaction that reads it; a PrivacyError when there is no such customer."""
    now = _now()
    with db.write() as db_session:
        customer = get_customer(db_session, customer_id)
        archive = export_zip(customer_document(db_session, customer, now=now))
        accounts.audit(db_session=db_session, actor=user, action="customer.export", target=f"customer:{customer_id}",
                       client=client_address(request, settings), via=via)
    return Response(archive, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{export_name(customer_id, now)}"'})


@router.get("/privacy/customers/{customer_id}/export", include_in_schema=False)
def export_download(request: Request, user: Admin, db: DbDep, settings: SettingsDep, customer_id: CustomerId):
    try:
        return _export(request, user, db, settings, customer_id, via="web")
    except PrivacyError:
        return _customer_page(request, db, customer_id)  # says there is no such customer


@api.get("/customers/{customer_id}/export", tags=["staff"], responses={
    200: {"content": {"application/zip": {}}, "description": "customer-<id>.json and README.md in a ZIP."},
    **problem_responses(401, 403, 404)})
def export_json(request: Request, user: Admin, db: DbDep, settings: SettingsDep, customer_id: CustomerId):
    """Everything held about a customer, as one JSON document with a README of its fields, in a ZIP (admin;
    audited). GDPR articles 15 and 20."""
    try:
        return _export(request, user, db, settings, customer_id, via="api")
    except PrivacyError as exc:
        return problem(exc.status, as_sentence(str(exc)), code="no-customer", instance=request.url.path)


def _erase(request: Request, user: User, db, settings: Settings, customer_id: int, confirm: str) -> Erasure:
    """Erase after checking the typed confirmation; a PrivacyError says what to do otherwise."""
    with db.write() as db_session:
        customer = get_customer(db_session, customer_id)
        if customer.erased_at is None and confirm.strip() != customer.external_id:
            raise PrivacyError("type the customer's external id exactly as shown to confirm the erasure", status=422)
        return erase_customer(db_session, customer, now=_now(), actor=user,
                              client=client_address(request, settings), via="web")


@router.post("/privacy/customers/{customer_id}/erase", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def erase_on_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep, customer_id: CustomerId,
                  confirm: Annotated[str, Form(max_length=200)] = ""):
    try:
        erasure = _erase(request, user, db, settings, customer_id, confirm)
    except PrivacyError as exc:
        return _customer_page(request, db, customer_id, status=400, error=as_sentence(str(exc)), confirm=confirm)
    return _customer_page(request, db, customer_id, erasure=erasure)


@api.post("/customers/{customer_id}/erase", tags=["staff"], dependencies=[Depends(verify_csrf)],
          response_model=ErasurePublic, responses=problem_responses(401, 403, 404, 409, 422))
def erase_json(request: Request, user: Admin, db: DbDep, settings: SettingsDep, customer_id: CustomerId,
               body: ErasureCreate):
    """Erase a customer's personal data and free text (admin; audited with counts only). Their scores stay,
    anonymised, so the metrics do not change. `confirm` is the customer's external id. GDPR article 17."""
    try:
        erasure = _erase(request, user, db, settings, customer_id, body.confirm)
    except PrivacyError as exc:
        return problem(exc.status, as_sentence(str(exc)), code="erasure-refused", instance=request.url.path)
    return ErasurePublic(customer_id=erasure.customer_id, counts=erasure.counts, message=erasure.sentence() + ".")
