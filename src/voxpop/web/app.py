"""The application factory: settings and store in, FastAPI app out."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from voxpop import __version__
from voxpop.settings import Settings, get_settings
from voxpop.store.database import Database
from voxpop.web.auth import CsrfFailed, CurrentUser, LoginRequired, RoleForbidden, client_from_scope
from voxpop.web.middleware import (
    BodyLimitMiddleware,
    FormEncodingMiddleware,
    NulByteMiddleware,
    RateLimitMiddleware,
    SecurityHeadersMiddleware,
)
from voxpop.web.problems import TITLES, UNPARSABLE_BODY, add_problem_schemas, is_api, problem, unparsable_body
from voxpop.web.ratelimit import RateLimiter
from voxpop.web.routing import allowed_methods
from voxpop.web.templating import render

log = logging.getLogger("voxpop.web")


class HealthPublic(BaseModel):
    status: str
    version: str

STATIC = Path(__file__).parent / "static"
THREADS = 8
API_PREFIX = "/api/v1"


def error_page(request: Request, status: int, detail: str, *, title: str | None = None,
               headers: dict[str, str] | None = None):
    return render(request, "error.html", {"status": status, "title": title or TITLES.get(status, "Error"),
                                          "detail": detail}, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        headers = dict(exc.headers or {})
        if exc.status_code == 404:
            detail = "There is nothing at this address. Check the link, or start from the menu."
        if exc.status_code == 400 and detail == UNPARSABLE_BODY:  # FastAPI's words for any body it cannot read
            detail = unparsable_body(exc.__cause__)
        if exc.status_code == 405 and (allowed := allowed_methods(request.app.routes, request.url.path)):
            # (a mounted app such as /static names its own methods, or none: its answer stands as it is)
            headers["Allow"] = ", ".join(allowed)
            detail = f"This address answers {', '.join(allowed)}, not {request.method}."
        if is_api(request.url.path):
            return problem(exc.status_code, detail, instance=request.url.path, headers=headers)
        return error_page(request, exc.status_code, detail, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        errors = [
            {"field": ".".join(str(part) for part in error["loc"] if part != "body"), "message": error["msg"]}
            for error in exc.errors()
        ]
        detail = "The request is not valid: " + "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:5])
        if is_api(request.url.path):
            return problem(422, detail, code="invalid-request", instance=request.url.path, errors=errors)
        return error_page(request, 400, detail)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if is_api(request.url.path):
            return problem(401, "Log in first: this API needs a staff session.", code="login-required",
                           headers={"WWW-Authenticate": 'Cookie realm="voxpop"'})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(RoleForbidden)
    async def forbidden(request: Request, exc: RoleForbidden):
        if is_api(request.url.path):
            return problem(403, str(exc), code="forbidden")
        return error_page(request, 403, str(exc))

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed):
        detail = "This form has expired or did not come from this site. Reload the page and try again."
        if is_api(request.url.path):
            return problem(403, detail, code="csrf")
        return error_page(request, 403, detail, title="Form expired")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        detail = "Something went wrong on our side, and what you sent may not have been recorded. Try again, or tell the admin."
        if is_api(request.url.path):
            return problem(500, detail, code="internal")
        return error_page(request, 500, detail)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """Build the voxpop web application."""
    settings = settings or get_settings()
    db = db or Database(settings.sqlalchemy_url)
    @asynccontextmanager
    async def lifespan(_app):
        # Fewer worker threads than anyio's default 40: writes are serialised anyway, and every extra
        # thread only adds GIL handovers to the single writer's critical section.
        to_thread.current_default_thread_limiter().total_tokens = THREADS
        worker = turns = None
        if settings.text_worker:
            from voxpop.qualitative.worker import turn_worker
            from voxpop.text.flows import CommentWorker

            worker = CommentWorker(db, keep_original=settings.keep_original_comments,
                                   interval=settings.text_worker_interval)
            worker.start()
            turns = turn_worker(db, settings)  # focus-group and interview turns re-tagged after a codebook change
            turns.start()
        case_worker = delivery_worker = sends = None
        if settings.case_worker:
            from voxpop.cases.worker import CaseWorker
            from voxpop.distribution.worker import send_worker
            from voxpop.scorecard.worker import delivery_worker as scorecard_delivery

            case_worker = CaseWorker(db, settings)
            case_worker.start()
            delivery_worker = scorecard_delivery(db, settings)
            delivery_worker.start()
            sends = send_worker(db, settings)  # invitation runs, triggers, reminders and their send log
            sends.start()
        retention = None
        if settings.case_worker and settings.retention_months is not None:
            from voxpop.privacy.retention import retention_worker

            retention = retention_worker(db, settings)  # anonymises responses older than the retention setting
            retention.start()
        try:
            yield
        finally:
            for running in (worker, turns, case_worker, delivery_worker, sends, retention):
                if running is not None:
                    await to_thread.run_sync(running.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="voxpop",
        version=__version__,
        description="Collection and staff API of voxpop. Errors are application/problem+json.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # staff read the reference at /api-reference, behind login, from a vendored Swagger UI
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    from voxpop.accounts.service import audit
    from voxpop.accounts.sessions import find_staff

    app.state.find_staff = find_staff  # (db, user id, session key): the user of an open session, or None
    # The audit log belongs to accounts; lower layers (notify's admin pages) record through this hook.
    app.state.audit = audit

    from voxpop.accounts.account_views import api as account_api
    from voxpop.accounts.account_views import router as account_router
    from voxpop.accounts.audit_views import api as audit_api
    from voxpop.accounts.audit_views import router as audit_router
    from voxpop.accounts.two_factor_views import api as two_factor_api
    from voxpop.accounts.two_factor_views import router as two_factor_router
    from voxpop.accounts.users_views import api as users_api
    from voxpop.accounts.users_views import router as users_router
    from voxpop.accounts.views import api as accounts_api
    from voxpop.accounts.views import router as accounts_router
    from voxpop.cases.loop_views import api as loop_api
    from voxpop.cases.loop_views import router as loop_router
    from voxpop.cases.rules_views import api as case_rules_api
    from voxpop.cases.rules_views import router as case_rules_router
    from voxpop.cases.views import api as cases_api
    from voxpop.cases.views import router as cases_router
    from voxpop.collection.preview_views import router as preview_router
    from voxpop.collection.reach_views import api as reach_api
    from voxpop.collection.reach_views import router as reach_router
    from voxpop.collection.views import api as collection_api
    from voxpop.collection.views import router as collection_router
    from voxpop.customers.contacts_views import api as contacts_api
    from voxpop.customers.contacts_views import router as contacts_router
    from voxpop.customers.views import api as customers_api
    from voxpop.customers.views import router as customers_router
    from voxpop.dashboard.views import api as dashboard_api
    from voxpop.dashboard.views import router as dashboard_router
    from voxpop.distribution.log_views import api as send_log_api
    from voxpop.distribution.log_views import router as send_log_router
    from voxpop.distribution.public_views import api as send_public_api
    from voxpop.distribution.public_views import router as send_public_router
    from voxpop.distribution.views import api as sends_api
    from voxpop.distribution.views import router as sends_router
    from voxpop.imports.views import api as imports_api
    from voxpop.imports.views import router as imports_router
    from voxpop.notify.views import api as notify_api
    from voxpop.notify.views import router as notify_router
    from voxpop.privacy.views import api as privacy_api
    from voxpop.privacy.views import router as privacy_router
    from voxpop.qualitative.views import api as qualitative_api
    from voxpop.qualitative.views import router as qualitative_router
    from voxpop.results.analysis_views import api as results_analysis_api
    from voxpop.results.analysis_views import router as results_analysis_router
    from voxpop.results.export_views import api as export_api
    from voxpop.results.export_views import router as export_router
    from voxpop.results.list_views import api as survey_list_api
    from voxpop.results.list_views import router as survey_list_router
    from voxpop.results.nonresponse_views import api as nonresponse_api
    from voxpop.results.nonresponse_views import router as nonresponse_router
    from voxpop.results.views import api as results_api
    from voxpop.results.views import router as results_router
    from voxpop.scorecard.edit_views import api as scorecard_edit_api
    from voxpop.scorecard.edit_views import router as scorecard_edit_router
    from voxpop.scorecard.map_views import api as scorecard_map_api
    from voxpop.scorecard.map_views import router as scorecard_map_router
    from voxpop.scorecard.report_views import api as scorecard_report_api
    from voxpop.scorecard.report_views import router as scorecard_report_router
    from voxpop.scorecard.review_views import api as scorecard_review_api
    from voxpop.scorecard.review_views import router as scorecard_review_router
    from voxpop.scorecard.views import api as scorecard_api
    from voxpop.scorecard.views import router as scorecard_router
    from voxpop.surveys.builder_views import router as builder_router
    from voxpop.surveys.views import api as surveys_api
    from voxpop.surveys.views import router as surveys_router
    from voxpop.text.codebook_views import api as codebook_api
    from voxpop.text.codebook_views import router as codebook_router
    from voxpop.text.views import api as text_api
    from voxpop.text.views import router as text_router

    app.include_router(accounts_router)
    app.include_router(account_router)
    app.include_router(two_factor_router)
    app.include_router(collection_router)
    app.include_router(dashboard_router)
    app.include_router(customers_router)
    app.include_router(imports_router)
    app.include_router(survey_list_router)
    app.include_router(surveys_router)
    app.include_router(builder_router)
    app.include_router(preview_router)
    app.include_router(results_router)
    app.include_router(results_analysis_router)
    app.include_router(export_router)
    app.include_router(users_router)
    app.include_router(text_router)
    app.include_router(codebook_router)
    app.include_router(cases_router)
    app.include_router(case_rules_router)
    app.include_router(loop_router)
    app.include_router(notify_router)
    app.include_router(scorecard_router)
    app.include_router(scorecard_map_router)
    app.include_router(scorecard_review_router)
    app.include_router(scorecard_edit_router)
    app.include_router(scorecard_report_router)
    app.include_router(reach_router)
    app.include_router(contacts_router)
    app.include_router(sends_router)
    app.include_router(send_log_router)
    app.include_router(send_public_router)
    app.include_router(nonresponse_router)
    app.include_router(qualitative_router)
    app.include_router(audit_router)
    app.include_router(privacy_router)
    # Every domain's JSON routes, under one prefix: a new version of the API is one more prefix here.
    api = APIRouter(prefix=API_PREFIX)
    for domain_api in (accounts_api, account_api, two_factor_api, users_api, collection_api, dashboard_api, customers_api, imports_api,
                       survey_list_api, surveys_api, results_api, results_analysis_api, export_api, text_api, codebook_api,
                       cases_api, case_rules_api, loop_api, notify_api, scorecard_api, scorecard_map_api,
                       scorecard_review_api, scorecard_edit_api, scorecard_report_api, reach_api, contacts_api, sends_api,
                       send_log_api, send_public_api, nonresponse_api, qualitative_api, audit_api, privacy_api):
        api.include_router(domain_api)
    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse("/dashboard", status_code=303)

    @app.get("/api-reference", include_in_schema=False)
    def api_reference(request: Request, user: CurrentUser):
        return render(request, "api_reference.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        # Browsers ask for /favicon.ico whatever the page links; answer with the SVG instead of a 404 each time.
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/healthz", tags=["ops"])
    def healthz() -> HealthPublic:
        """Liveness for a load balancer."""
        return HealthPublic(status="ok", version=__version__)

    _install_error_handlers(app)

    def openapi_with_problems():
        if app.openapi_schema is None:
            app.openapi_schema = add_problem_schemas(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi_with_problems

    def client_of(scope) -> str:
        return client_from_scope(scope, trust_proxy_headers=settings.trust_proxy_headers)

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.signing_key,
        session_cookie="voxpop_session",
        max_age=settings.session_max_age,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    from voxpop.collection.i18n import MESSAGES, choose_language, message

    def for_respondent(code: str, accept_language: str | None) -> str:
        return message(choose_language(list(MESSAGES), None, accept_language), code)

    # Inside the rate limit (a flood is refused before its form is read) and the body limit (which bounds it).
    app.add_middleware(FormEncodingMiddleware, respondent_message=for_respondent)
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(settings.rate_limit_per_minute),
                       login_limiter=RateLimiter(settings.login_rate_limit_per_minute), client_of=client_of,
                       respondent_message=for_respondent)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(NulByteMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    return app
