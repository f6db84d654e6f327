"""What a customer reaches from an invitation e-mail without logging in: the unsubscribe link, and its one-click
POST (RFC 8058). The score clicked in the e-mail opens the survey page itself (collection.views.survey_page).

The GET never unsubscribes: mail scanners fetch every link of a message. It shows a page with one button, a form
that POSTs back. The POST needs no session or CSRF token: the signed token in the address is the secret, and a
mail program's one-click POST (body `List-Unsubscribe=One-Click`) carries no cookie. Both answer 200 whatever
the state (a second unsubscribe changes nothing), never a redirect.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool

from voxpop.collection.i18n import choose_language
from voxpop.collection.models import Invitation
from voxpop.customers.contacts import normalised_email
from voxpop.customers.models import Customer, Suppression
from voxpop.distribution import delivery
from voxpop.distribution.links import UNSUBSCRIBE_SALT
from voxpop.distribution.models import SendInvitation
from voxpop.settings import Settings
from voxpop.store.base import utcnow
from voxpop.web.auth import DbDep, SettingsDep
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()

TEXTS: dict[str, dict[str, str]] = {
    "en": {"title": "Unsubscribe", "ask": "Stop survey invitations and reminders to {email}?",
           "ask_no_email": "Stop survey invitations and reminders to you?", "button": "Unsubscribe",
           "done_title": "You are unsubscribed", "done": "We will not send survey invitations or reminders to {email} "
           "any more.", "done_no_email": "We will not send you survey invitations or reminders any more.",
           "invalid_title": "This unsubscribe link is not valid",
           "invalid": "It may be incomplete. Please use the link from the e-mail itself, or reply to it and ask."},
    "de": {"title": "Abmelden", "ask": "Keine Umfrage-Einladungen und Erinnerungen mehr an {email} senden?",
           "ask_no_email": "Keine Umfrage-Einladungen und Erinnerungen mehr an Sie senden?", "button": "Abmelden",
           "done_title": "Sie sind abgemeldet", "done": "Wir senden keine Umfrage-Einladungen oder Erinnerungen mehr "
           "an {email}.", "done_no_email": "Wir senden Ihnen keine Umfrage-Einladungen oder Erinnerungen mehr.",
           "invalid_title": "Dieser Abmeldelink ist ungültig",
           "invalid": "Er ist vielleicht unvollständig. Bitte nutzen Sie den Link aus der E-Mail selbst, oder "
           "antworten Sie auf die E-Mail."},
    "fr": {"title": "Se désabonner", "ask": "Ne plus envoyer d'invitations ni de rappels d'enquête à {email} ?",
           "ask_no_email": "Ne plus vous envoyer d'invitations ni de rappels d'enquête ?", "button": "Se désabonner",
           "done_title": "Vous êtes désabonné(e)", "done": "Nous n'enverrons plus d'invitations ni de rappels "
           "d'enquête à {email}.", "done_no_email": "Nous ne vous enverrons plus d'invitations ni de rappels "
           "d'enquête.", "invalid_title": "Ce lien de désabonnement n'est pas valide",
           "invalid": "Il est peut-être incomplet. Utilisez le lien de l'e-mail lui-même, ou répondez à l'e-mail."},
    "es": {"title": "Darse de baja", "ask": "¿Dejar de enviar invitaciones y recordatorios de encuestas a {email}?",
           "ask_no_email": "¿Dejar de enviarle invitaciones y recordatorios de encuestas?", "button": "Darse de baja",
           "done_title": "Se ha dado de baja", "done": "No enviaremos más invitaciones ni recordatorios de encuestas "
           "a {email}.", "done_no_email": "No le enviaremos más invitaciones ni recordatorios de encuestas.",
           "invalid_title": "Este enlace de baja no es válido",
           "invalid": "Puede que esté incompleto. Use el enlace del propio correo, o responda al correo."},
}


def invitation_of(settings: Settings, token: str) -> int | None:
    """The invitation id a token was signed for; None for a forged, mangled or foreign token."""
    if len(token) > 200:
        return None
    try:
        value = URLSafeSerializer(settings.signing_key, salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31 else None


def _language(request: Request, preferred: str | None) -> str:
    return choose_language(list(TEXTS), preferred, request.headers.get("accept-language"))


def _page(request: Request, language: str, *, state: str, email: str | None = None, token: str = "",
          status: int = 200):
    texts = TEXTS[language]
    say = {key: value.format(email=email) if "{email}" in value else value for key, value in texts.items()}
    return render(request, "distribution/unsubscribe.html", {
        "lang": language, "state": state, "texts": say, "email": email, "action": f"/u/{token}",
        "ask": say["ask"] if email else say["ask_no_email"], "done": say["done"] if email else say["done_no_email"],
    }, status_code=status)


def _invalid(request: Request):
    return _page(request, _language(request, None), state="invalid", status=404)


def _current(db, invitation_id: int) -> tuple[bool, str | None, str | None, bool]:
    """(exists, language, e-mail, unsubscribed already) of the invitation's customer."""
    with db.read() as db_session:
        invitation = db_session.get(Invitation, invitation_id)
        if invitation is None:
            return False, None, None, False
        row = db_session.query(SendInvitation).filter_by(invitation_id=invitation_id).one_or_none()
        customer = db_session.get(Customer, invitation.customer_id) if invitation.customer_id else None
        email = customer.email.strip() if customer is not None and customer.email else None
        language = row.language if row else (customer.language if customer is not None else None)
        done = email is not None and db_session.query(Suppression).filter_by(
            email=normalised_email(email)).one_or_none() is not None
        return True, language, email, done


@router.get("/u/{token}", include_in_schema=False)
def unsubscribe_page(request: Request, token: str, db: DbDep, settings: SettingsDep):
    """The page behind the e-mail's unsubscribe link: it asks, and its button unsubscribes (a GET never does)."""
    invitation_id = invitation_of(settings, token)
    found = _current(db, invitation_id) if invitation_id is not None else (False, None, None, False)
    if not found[0]:
        return _invalid(request)
    _, language, email, done = found
    return _page(request, _language(request, language), state="done" if done else "ask", email=email, token=token)


def _unsubscribe(db, invitation_id: int) -> delivery.Unsubscribed | None:
    with db.write() as db_session:
        return delivery.unsubscribe(db_session, invitation_id=invitation_id, now=utcnow())


@router.post("/u/{token}", include_in_schema=False)
async def unsubscribe_post(request: Request, token: str, db: DbDep, settings: SettingsDep):
    """The page's button, or a mail program's RFC 8058 one-click POST: both unsubscribe, and answer 200."""
    invitation_id = invitation_of(settings, token)
    if invitation_id is None:
        return _invalid(request)
    result = await run_in_threadpool(_unsubscribe, db, invitation_id)
    if result is None:
        return _invalid(request)
    return _page(request, _language(request, result.language), state="done", email=result.email, token=token)
