"""A score clicked in a real invitation e-mail, in Chromium on a phone: the mail goes to a real SMTP server
(aiosmtpd), its HTML part's score link opens the survey with that score chosen, the customer finishes and
submits, the response has it, and the send log shows started and completed. Then the mail's one-click
unsubscribe (RFC 8058) is POSTed with the headers the mail carries."""

from __future__ import annotations

import re
from html import unescape

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import PHONE
from tests.browser.test_journey import scrolls_sideways
from tests.distribution.sent import send_wave
from tests.helpers import PASSWORD, apply_survey, make_user
from tests.smtp import running_smtp_server
from voxpop.collection.models import Answer, Response
from voxpop.customers.models import Suppression
from voxpop.distribution.delivery import sync_outcomes
from voxpop.distribution.models import InvitationEvent
from voxpop.store.base import utcnow
from voxpop.surveys.models import Question

pytestmark = pytest.mark.browser

ANN = [("C-ann", "ann@example.com", "en", {"name": "Ann", "segment": "SMB"})]


def test_a_score_clicked_in_the_mail_is_chosen_submitted_and_logged(db, settings, live_server, open_context,
                                                                    screenshot):
    apply_survey(db)
    with running_smtp_server() as server:
        world = send_wave(db, settings, server, ANN, public_url=live_server)
        [mail] = server.messages
    html = mail.get_body(preferencelist=("html",)).get_content()
    link = unescape(re.search(r'href="([^"]*score=9)"', html).group(1))
    assert link.startswith(live_server + "/s/feedback?")

    page = open_context(PHONE).new_page()
    page.goto(link, timeout=30_000)  # the first page of a cold server on a busy machine
    expect(page.locator('input[name="q_nps"][value="9"]')).to_be_checked()
    assert not scrolls_sideways(page)
    screenshot(page, "phone-score-chosen")
    for _ in range(6):  # the customer goes on to the end
        submit = page.get_by_role("button", name="Send my answers")
        if submit.count():
            submit.click()
            break
        page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()

    invitation_id = world.invitations["C-ann"]
    with db.read() as db_session:
        scores = db_session.scalars(select(Answer.score).join(Response).join(Question).where(
            Response.invitation_id == invitation_id, Question.key == "nps")).all()
    assert scores == [9]
    with db.write() as db_session:
        sync_outcomes(db_session, now=utcnow())
    with db.read() as db_session:
        kinds = list(db_session.scalars(select(InvitationEvent.kind).where(
            InvitationEvent.invitation_id == invitation_id).order_by(InvitationEvent.id)))
    assert kinds == ["queued", "sent", "started", "completed"]

    staff = open_context(PHONE).new_page()
    staff.goto("/login")
    staff.fill("#email", make_user(db, "viewer"))
    staff.fill("#password", PASSWORD)
    staff.get_by_role("button", name="Log in").click()
    staff.wait_for_url("**/dashboard")
    staff.goto("/sends/wave/log")
    log = staff.get_by_test_id("send-log")
    expect(log).to_contain_text("Started")
    expect(log).to_contain_text("Completed")
    assert not scrolls_sideways(staff)
    screenshot(staff, "phone-send-log")


def test_one_click_unsubscribe_with_the_mails_headers(db, settings, live_server, open_context):
    apply_survey(db)
    with running_smtp_server() as server:
        send_wave(db, settings, server, ANN, public_url=live_server)
        [mail] = server.messages
    target = mail["List-Unsubscribe"].strip("<>")
    assert target.startswith(live_server + "/u/")
    body = mail["List-Unsubscribe-Post"]  # "List-Unsubscribe=One-Click", posted as the mail program would
    request = open_context(PHONE).request
    answer = request.post(target, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                          max_redirects=0)
    assert answer.status == 200
    with db.read() as db_session:
        assert db_session.scalar(select(Suppression.reason).where(Suppression.email == "ann@example.com")) \
            == "unsubscribed"
