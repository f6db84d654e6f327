"""Contacts: the people voxpop may invite, their consent and language, the suppression list and samples.

Everyone on the staff may read these pages; admins and managers import contacts and draw samples; only admins
change the suppression list (a send may never bypass it, so taking an address off it is audited)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import PurePath
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.core.wording import as_sentence, counted
from voxpop.customers import contacts
from voxpop.customers.contact_list import (
    PAGE_SIZE,
    REASONS,
    ContactFilter,
    filter_options,
    list_contacts,
    list_samples,
    list_suppressions,
    reach_counts,
    sample_roster,
)
from voxpop.customers.contact_schemas import (
    ContactListPublic,
    ContactPublic,
    ContactsImportPublic,
    SampleCreate,
    SampleDetailPublic,
    SamplePlanPublic,
    SamplePublic,
    StratumPublic,
    SuppressionCreate,
    SuppressionListPublic,
    SuppressionPublic,
)
from voxpop.customers.models import Sample
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, client_address, require_role, verify_csrf
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render
from voxpop.web.uploads import upload_name

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app
CONTACT_EDITORS = ("admin", "manager")
Editor = Annotated[User, Depends(require_role(*CONTACT_EDITORS))]
Admin = Annotated[User, Depends(require_role("admin"))]
CONSENT_LABELS = {"yes": "Yes", "unknown": "Not asked", "no": "No"}
REASON_LABELS = {"unsubscribed": "Unsubscribed", "bounced": "Bounced", "complaint": "Complaint", "manual": "Manual"}


def _pages(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


def _now() -> datetime:
    return datetime.now(timezone.utc)


# Contacts --------------------------------------------------------------------------------------------------------

def _contact_filter_or_error(q: str, consent: str, language: str, attribute: list[str] | None,
                             reach: str) -> tuple[ContactFilter | None, tuple[str, str] | None]:
    """The filter asked for, or the field and the sentence saying why it cannot filter."""
    try:
        attributes = contacts.parse_where(pair for pair in attribute or [] if pair)
    except contacts.ContactError as exc:
        return None, ("attribute", as_sentence(str(exc)))
    wanted = ContactFilter(search=q, consent=consent, language=language, attributes=attributes, reach=reach)
    try:
        wanted.check()
    except contacts.ContactError as exc:
        return None, (exc.field, as_sentence(str(exc)))
    return wanted, None


Search = Annotated[str, Query(max_length=200, description="Part of the customer id or e-mail address.")]
Consent = Annotated[str, Query(max_length=16, description="yes, no or unknown.")]
Language = Annotated[str, Query(max_length=16)]
Attribute = Annotated[list[str] | None, Query(max_length=300, description="name=value; repeat it.")]
Reach = Annotated[str, Query(max_length=32, description="reachable, or a reason: no e-mail address, suppressed, "
                                                        "no consent.")]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
SampleId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _contact_public(row) -> ContactPublic:
    return ContactPublic(id=row.id, external_id=row.external_id, email=row.email, language=row.language,
                         consent=row.consent, consent_at=row.consent_at, consent_source=row.consent_source,
                         attributes=row.attributes, not_reachable=row.not_reachable)


@router.get("/contacts", include_in_schema=False)
def contacts_page(request: Request, user: CurrentUser, db: DbDep, q: Search = "", consent: Consent = "",
                  language: Language = "", attribute: Attribute = None, reach: Reach = "", page: Page = 1):
    wanted, error = _contact_filter_or_error(q, consent, language, attribute, reach)
    if error and error[0] == "attribute":
        error = ("attribute-1", error[1])  # the page's first attribute select
    with db.read() as db_session:
        languages, attributes = filter_options(db_session)
        rows, total, counts = [], 0, {}
        if wanted is not None:
            rows, total = list_contacts(db_session, wanted, page=page)
            counts = reach_counts(db_session, wanted)
    kept = [(name, value) for name, value in (("q", q), ("consent", consent), ("language", language),
                                              ("reach", reach)) if value]
    kept += [("attribute", pair) for pair in attribute or [] if pair]

    def href(number: int) -> str:
        return "/contacts?" + urlencode([*kept, ("page", str(number))])

    pages = _pages(total)
    chosen = dict(pair.partition("=")[::2] for pair in attribute or [] if "=" in pair)
    return render(request, "customers/contacts.html", {
        "rows": rows, "total": total, "counts": counts, "reasons": REASONS, "error": error,
        "field_error": dict([error]) if error else {}, "consent_labels": CONSENT_LABELS,
        "asked": {"q": q, "consent": consent, "language": language, "reach": reach}, "chosen": chosen,
        "languages": [(code, code) for code in languages], "attributes": attributes,
        "filtered": bool(kept), "can_edit": user.role in CONTACT_EDITORS,
        "previous_href": href(page - 1) if page > 1 else None, "next_href": href(page + 1) if page < pages else None,
        "page": page, "pages": pages,
        "json_href": "/api/v1/contacts" + (f"?{urlencode(kept)}" if kept else ""),
    }, status_code=400 if error else 200)


@api.get("/contacts", tags=["staff"], response_model=ContactListPublic, responses=problem_responses(401, 422))
def contacts_json(request: Request, user: CurrentUser, db: DbDep, q: Search = "", consent: Consent = "",
                  language: Language = "", attribute: Attribute = None, reach: Reach = "", page: Page = 1):
    """Contacts matching the filter, newest first, 50 a page, with how many of them an e-mail invitation may reach
    and why not the others."""
    wanted, error = _contact_filter_or_error(q, consent, language, attribute, reach)
    if error:
        return problem(422, error[1], code="invalid-filter", instance=request.url.path,
                       errors=[{"field": error[0], "message": error[1]}])
    with db.read() as db_session:
        rows, total = list_contacts(db_session, wanted, page=page)
        counts = reach_counts(db_session, wanted)
    return ContactListPublic(total=total, page=page, pages=_pages(total), counts=counts,
                             contacts=[_contact_public(row) for row in rows])


# Import ------------------------------------------------------------------------------------------------------------

class UploadRefused(ValueError):
    """An upload that is not a UTF-8 CSV text."""


PAGE_IMPORT_BYTES = 20_000_000  # about 250,000 contacts; bigger lists go through the command line


def _read_upload(upload: UploadFile) -> tuple[str, str]:
    name = upload_name(upload.filename, "contacts.csv")  # shown, stored in consent_source and audited
    if PurePath(name).suffix.lower() not in (".csv", ".txt", ".tsv"):
        raise UploadRefused(f"{name!r} is not a CSV file; export the contacts as CSV (UTF-8)")
    data = upload.file.read(PAGE_IMPORT_BYTES + 1)
    if len(data) > PAGE_IMPORT_BYTES:  # checked and written in one request, holding the writer meanwhile
        raise UploadRefused(f"{name} is larger than {PAGE_IMPORT_BYTES // 1_000_000} MB; import it on the server "
                            "with `voxpop contacts import FILE`")
    try:
        return name, data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused(f"{name} is not UTF-8 text; save it as “CSV UTF-8” and upload it again") from None


def _import(db, request: Request, settings, user: User, upload: UploadFile) -> ContactsImportPublic:
    """Import the upload and audit it; UploadRefused or contacts.ImportRefused when nothing was imported."""
    name, text = _read_upload(upload)
    with db.write() as db_session:
        report = contacts.import_contacts(db_session, text, source=f"import:{name}", now=_now())
        accounts.audit(db_session=db_session, actor=user, action="contacts.import", target=name,
                       client=client_address(request, settings), rows=report.rows, created=report.created,
                       updated=report.updated)
    return ContactsImportPublic(file=name, rows=report.rows, created=report.created, updated=report.updated,
                                attributes=report.attributes, suppressed=report.suppressed,
                                summary=as_sentence(report.sentence()))


@router.get("/contacts/import", include_in_schema=False)
def import_page(request: Request, user: Editor):
    return render(request, "customers/contacts_import.html", {"result": None, "error": None, "row_errors": []})


@router.post("/contacts/import", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def import_upload(request: Request, user: Editor, db: DbDep, settings: SettingsDep,
                  file: Annotated[UploadFile, File()]):
    try:
        result = _import(db, request, settings, user, file)
    except UploadRefused as exc:
        return render(request, "customers/contacts_import.html",
                      {"result": None, "error": as_sentence(str(exc)), "row_errors": []}, status_code=400)
    except contacts.ImportRefused as exc:
        return render(request, "customers/contacts_import.html", {
            "result": None, "row_errors": exc.errors[:contacts.SHOWN_ERRORS], "error_count": len(exc.errors),
            "error": f"{counted(len(exc.errors), 'problem')} in the file, so nothing was imported. Correct "
                     f"{'it' if len(exc.errors) == 1 else 'them'} and upload the file again."}, status_code=400)
    return render(request, "customers/contacts_import.html", {"result": result, "error": None, "row_errors": []})


@api.post("/contacts/import", tags=["staff"], dependencies=[Depends(verify_csrf)],
          response_model=ContactsImportPublic, responses=problem_responses(401, 403, 422))
def import_api(request: Request, user: Editor, db: DbDep, settings: SettingsDep,
               file: Annotated[UploadFile, File(description="CSV with a header: external_id (or customer_id, id), "
                                                            "email, language, consent, attributes.")]):
    """Create or update contacts from a CSV file, keyed by the customer id; a bad row imports nothing, and each
    error names its row (the header is row 1) and column."""
    try:
        return _import(db, request, settings, user, file)
    except UploadRefused as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-file", instance=request.url.path)
    except contacts.ImportRefused as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-rows", instance=request.url.path,
                       errors=[{"row": error.row, "field": error.column, "message": error.message}
                               for error in exc.errors[:contacts.SHOWN_ERRORS]])


# Suppressions ------------------------------------------------------------------------------------------------------

def _suppression_public(entry) -> SuppressionPublic:
    return SuppressionPublic(email=entry.email, reason=entry.reason, source=entry.source, detail=entry.detail,
                             created_at=entry.created_at)


def _suppressions_page(request: Request, user: User, db, *, q: str = "", page: int = 1, status: int = 200,
                       error: tuple[str, str] | None = None, form: dict | None = None, notice: str = ""):
    with db.read() as db_session:
        entries, total = list_suppressions(db_session, search=q, page=page)
        db_session.expunge_all()  # the page reads them after the session ends
    pages = _pages(total)
    kept = [("q", q)] if q else []

    def href(number: int) -> str:
        return "/contacts/suppressions?" + urlencode([*kept, ("page", str(number))])

    return render(request, "customers/suppressions.html", {
        "entries": entries, "total": total, "q": q, "reason_labels": REASON_LABELS, "is_admin": user.role == "admin",
        "error": error, "field_error": dict([error]) if error else {}, "notice": notice,
        "form": form or {"email": "", "reason": "manual", "detail": ""},
        "previous_href": href(page - 1) if page > 1 else None, "next_href": href(page + 1) if page < pages else None,
        "page": page, "pages": pages, "csv_href": "/contacts/suppressions?" + urlencode([*kept, ("format", "csv")]),
        "json_href": "/api/v1/contacts/suppressions" + (f"?{urlencode(kept)}" if kept else ""),
    }, status_code=status)


@router.get("/contacts/suppressions", include_in_schema=False)
def suppressions_page(request: Request, user: CurrentUser, db: DbDep, q: Search = "", page: Page = 1,
                      format: Annotated[Literal["html", "csv"], Query()] = "html"):
    if format == "csv":
        with db.read() as db_session:
            entries, _ = list_suppressions(db_session, search=q, page=None)
            rows = [[entry.email, entry.reason, entry.source, entry.detail, entry.created_at.isoformat()]
                    for entry in entries]
        return csv_response("suppressions", ["email", "reason", "source", "detail", "created_at"], rows)
    return _suppressions_page(request, user, db, q=q, page=page)


@router.post("/contacts/suppressions", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def suppress_on_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep,
                     email: Annotated[str, Form(max_length=254)] = "",
                     reason: Annotated[str, Form(max_length=16)] = "manual",
                     detail: Annotated[str, Form(max_length=2000)] = ""):
    try:
        with db.write() as db_session:
            entry = contacts.suppress(db_session, email, reason=reason, source=f"admin:{user.email}", detail=detail,
                                      now=_now())
            accounts.audit(db_session=db_session, actor=user, action="contacts.suppress", target=entry.email,
                           client=client_address(request, settings), reason=reason)
    except contacts.ContactError as exc:
        return _suppressions_page(request, user, db, status=400, error=(exc.field, as_sentence(str(exc))),
                                  form={"email": email, "reason": reason, "detail": detail})
    return RedirectResponse("/contacts/suppressions", status_code=303)


@router.post("/contacts/suppressions/remove", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def unsuppress_on_page(request: Request, user: Admin, db: DbDep, settings: SettingsDep,
                       email: Annotated[str, Form(max_length=254)]):
    try:
        with db.write() as db_session:
            contacts.unsuppress(db_session, email, actor=user, client=client_address(request, settings))
    except contacts.ContactError as exc:
        return _suppressions_page(request, user, db, status=400, error=("email", as_sentence(str(exc))))
    return _suppressions_page(request, user, db, notice=f"{contacts.normalised_email(email)} may be invited again.")


@api.get("/contacts/suppressions", tags=["staff"], response_model=SuppressionListPublic,
         responses=problem_responses(401))
def suppressions_json(user: CurrentUser, db: DbDep, q: Search = "", page: Page = 1):
    """The suppression list, newest first, 50 a page: addresses no invitation or reminder may go to."""
    with db.read() as db_session:
        entries, total = list_suppressions(db_session, search=q, page=page)
        return SuppressionListPublic(total=total, page=page, pages=_pages(total),
                                     suppressions=[_suppression_public(entry) for entry in entries])


@api.post("/contacts/suppressions", tags=["staff"], dependencies=[Depends(verify_csrf)], status_code=201,
          response_model=SuppressionPublic, responses=problem_responses(401, 403, 422))
def suppress_json(request: Request, user: Admin, db: DbDep, settings: SettingsDep, body: SuppressionCreate):
    """Suppress an address (admin). Suppressing it again keeps the first entry; an unsubscribe or complaint also
    withdraws the consent of its customers."""
    try:
        with db.write() as db_session:
            entry = contacts.suppress(db_session, body.email, reason=body.reason, source=f"admin:{user.email}",
                                      detail=body.detail, now=_now())
            accounts.audit(db_session=db_session, actor=user, action="contacts.suppress", target=entry.email,
                           client=client_address(request, settings), reason=body.reason)
            return _suppression_public(entry)
    except contacts.ContactError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-suppression", instance=request.url.path,
                       errors=[{"field": exc.field, "message": as_sentence(str(exc))}])


@api.delete("/contacts/suppressions/{email}", tags=["staff"], dependencies=[Depends(verify_csrf)], status_code=204,
            responses=problem_responses(401, 403, 404))
def unsuppress_json(request: Request, user: Admin, db: DbDep, settings: SettingsDep, email: str):
    """Take an address off the suppression list (admin; audited). Consent withdrawn by an unsubscribe stays no."""
    try:
        with db.write() as db_session:
            contacts.unsuppress(db_session, email, actor=user, client=client_address(request, settings))
    except contacts.ContactError as exc:
        return problem(404, as_sentence(str(exc)), code="not-suppressed", instance=request.url.path)
    return None


# Samples -----------------------------------------------------------------------------------------------------------

def _sample_public(sample: Sample, model=SamplePublic, **more):
    return model(id=sample.id, name=sample.name, method=sample.method, stratify_by=sample.stratify_by,
                 size_asked=sample.size_asked, size_drawn=sample.size_drawn, seed=sample.seed, where=sample.audience,
                 audience_size=sample.audience_size, strata=[StratumPublic(**row) for row in sample.strata],
                 created_at=sample.created_at, **more)


def _samples_page(request: Request, user: User, db, *, status: int = 200, error: tuple[str, str] | None = None,
                  form: dict | None = None, plan: contacts.SamplePlan | None = None):
    with db.read() as db_session:
        samples = list_samples(db_session)
        _, attributes = filter_options(db_session)
        db_session.expunge_all()
    return render(request, "customers/samples.html", {
        "samples": samples, "attributes": [(name, name) for name in attributes], "error": error,
        "field_error": dict([error]) if error else {}, "can_edit": user.role in CONTACT_EDITORS, "plan": plan,
        "form": form or {"name": "", "size": "", "method": "stratified", "stratify_by": "", "where": "",
                         "seed": str(datetime.now(timezone.utc).microsecond % 10_000)},
    }, status_code=status)


@router.get("/contacts/samples", include_in_schema=False)
def samples_page(request: Request, user: CurrentUser, db: DbDep):
    return _samples_page(request, user, db)


def _size(text: str) -> int:
    try:
        return int(text.strip().replace(",", ""))
    except ValueError:
        raise contacts.ContactError(f"the size must be a whole number, not {text.strip()!r}", field="size") from None


def _seed(text: str) -> int:
    try:
        seed = int(text.strip())
    except ValueError:
        seed = -1
    if not 0 <= seed < 2**31:
        raise contacts.ContactError(f"the seed must be a whole number from 0 to {2**31 - 1:,}, not {text.strip()!r}",
                                    field="seed")
    return seed


@router.post("/contacts/samples", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def draw_on_page(request: Request, user: Editor, db: DbDep, settings: SettingsDep,
                 name: Annotated[str, Form(max_length=200)] = "", size: Annotated[str, Form(max_length=20)] = "",
                 method: Annotated[str, Form(max_length=16)] = "stratified",
                 stratify_by: Annotated[str, Form(max_length=100)] = "",
                 where: Annotated[str, Form(max_length=2000)] = "", seed: Annotated[str, Form(max_length=20)] = "",
                 action: Annotated[str, Form(max_length=16)] = "preview"):
    form = {"name": name, "size": size, "method": method, "stratify_by": stratify_by, "where": where, "seed": seed}
    try:
        asked = {"size": _size(size), "method": method, "stratify_by": stratify_by or None, "seed": _seed(seed),
                 "where": contacts.parse_where(pair for pair in where.split(",") if pair.strip())}
        if action != "draw":
            with db.read() as db_session:
                plan = contacts.plan_sample(db_session, **asked)
            return _samples_page(request, user, db, form=form, plan=plan)
        with db.write() as db_session:
            sample = contacts.draw_sample(db_session, name=name, user=user, now=_now(), **asked)
            accounts.audit(db_session=db_session, actor=user, action="contacts.sample", target=sample.name,
                           client=client_address(request, settings), size=sample.size_drawn)
            sample_id = sample.id
    except contacts.ContactError as exc:
        return _samples_page(request, user, db, status=400, error=(exc.field, as_sentence(str(exc))), form=form)
    return RedirectResponse(f"/contacts/samples/{sample_id}", status_code=303)


@router.get("/contacts/samples/{sample_id}", include_in_schema=False)
def sample_page(request: Request, user: CurrentUser, db: DbDep, sample_id: SampleId,
                format: Annotated[Literal["html", "csv"], Query()] = "html"):
    with db.read() as db_session:
        sample = db_session.get(Sample, sample_id)
        if sample is None:
            return render(request, "customers/sample.html", {"sample": None}, status_code=404)
        if format == "csv":
            return csv_response(f"sample-{sample_id}", ["customer", "email", "stratum"],
                                [list(row) for row in sample_roster(db_session, sample_id)])
        creator = db_session.get(User, sample.created_by_id) if sample.created_by_id else None
        made_by = (creator.name or creator.email) if creator else ""
        db_session.expunge(sample)
    return render(request, "customers/sample.html", {
        "sample": sample, "creator": made_by,
        "json_href": f"/api/v1/contacts/samples/{sample_id}", "csv_href": f"/contacts/samples/{sample_id}?format=csv"})


@api.get("/contacts/samples", tags=["staff"], response_model=list[SamplePublic], responses=problem_responses(401))
def samples_json(user: CurrentUser, db: DbDep):
    """Every recorded sample, newest first, with its strata: reachable contacts and members drawn in each."""
    with db.read() as db_session:
        return [_sample_public(sample) for sample in list_samples(db_session)]


@api.post("/contacts/samples", tags=["staff"], dependencies=[Depends(verify_csrf)], status_code=201,
          response_model=SampleDetailPublic | SamplePlanPublic, responses=problem_responses(401, 403, 422))
def draw_json(request: Request, user: Editor, db: DbDep, settings: SettingsDep, body: SampleCreate):
    """Draw and record a random or proportionally stratified sample of the reachable contacts matching `where`;
    with dry_run, answer the strata it would take (200) and record nothing."""
    asked = {"size": body.size, "method": body.method, "stratify_by": body.stratify_by, "where": body.where,
             "seed": body.seed}
    try:
        if body.dry_run:
            with db.read() as db_session:
                plan = contacts.plan_sample(db_session, **asked)
            return JSONResponse(SamplePlanPublic(audience=plan.audience, unreachable=plan.unreachable, strata=[
                StratumPublic(**stratum.as_dict()) for stratum in plan.strata]).model_dump(), status_code=200)
        with db.write() as db_session:
            sample = contacts.draw_sample(db_session, name=body.name, user=user, now=_now(), **asked)
            accounts.audit(db_session=db_session, actor=user, action="contacts.sample", target=sample.name,
                           client=client_address(request, settings), size=sample.size_drawn)
            return _sample_public(sample, SampleDetailPublic,
                                  customer_ids=contacts.sample_members(db_session, sample.id))
    except contacts.ContactError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-sample", instance=request.url.path,
                       errors=[{"field": exc.field, "message": as_sentence(str(exc))}])


@api.get("/contacts/samples/{sample_id}", tags=["staff"], response_model=SampleDetailPublic,
         responses=problem_responses(401, 404))
def sample_json(request: Request, user: CurrentUser, db: DbDep, sample_id: SampleId):
    """A recorded sample: how it was drawn, its strata, and its members' customer ids."""
    with db.read() as db_session:
        sample = db_session.get(Sample, sample_id)
        if sample is None:
            return problem(404, f"There is no sample {sample_id}.", code="unknown-sample", instance=request.url.path)
        return _sample_public(sample, SampleDetailPublic, customer_ids=contacts.sample_members(db_session, sample_id))
