"""Issue 14's whole inner loop in real Chromium, with the case worker running and a real SMTP server: a detractor
answers on a phone; a case opens in the department the rules route it to; the agent, on a phone, e-mails the
customer from a template and the e-mail arrives; the agent closes the case with a root cause; the follow-up survey
goes out; the manager sees the loop metrics change."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import SCREENSHOTS, serving
from tests.cases.test_rules import SHOP_SURVEY
from tests.helpers import apply_survey
from tests.smtp import running_smtp_server
from voxpop.accounts import service as accounts
from voxpop.cases.models import Case
from voxpop.cases.rules import apply_rules, load_rules
from voxpop.collection.service import create_invitation, get_or_create_customer
from voxpop.settings import Settings
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade
from voxpop.surveys.models import Survey
from voxpop.web.app import create_app

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "en-US"}
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "en-US"}
PASSWORD = "a-long-test-password-1"
RULES = """
policy:
  first_contact_hours: {urgent: 4, high: 24, normal: 24, low: 40}
  workday: "00:00-23:59"
  workdays: [mon, tue, wed, thu, fri, sat, sun]
  default_department: Customer care
  followup: {survey: shop, days: 0}
routes:
  - {attribute: channel, value: app, department: Digital}
root_causes:
  - {key: no-call-back, name: Promised call-back not made}
  - {key: late-delivery, name: Late delivery}
rules:
  - key: detractor
    name: Detractor in the shop survey
    survey: shop
    when: {answer: ["nps:0-6"]}
    priority: high
    department: Customer care
    consent_question: may_contact
"""


def shot(page, step: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"closed-loop-{step}.png", full_page=True)


def wait_for(found, *, seconds: float = 30.0):
    """Poll until `found()` gives something: the workers run on their own clock (a bound, not a speed test)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := found():
            return result
        time.sleep(0.1)
    raise AssertionError(f"nothing after {seconds} s")


def log_in(context, email: str):
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")
    return page


def workspace(db: Database) -> str:
    """The shop survey, two departments with an agent each, a manager, the rules, and one invited customer;
    returns the customer's survey link."""
    upgrade(db.write_engine)
    apply_survey(db, SHOP_SURVEY)
    with db.write() as db_session:
        for name in ("Customer care", "Digital"):
            accounts.create_department(db_session=db_session, name=name)
    with db.write() as db_session:
        for email, role, department in (("care@shop.example", "agent", "Customer care"),
                                        ("digital@shop.example", "agent", "Digital"),
                                        ("manager@shop.example", "manager", "Digital")):
            accounts.create_user(db_session=db_session, email=email, password=PASSWORD, role=role,
                                 department=department)
        apply_rules(db_session=db_session, rules=load_rules(RULES, source="rules.yaml"), source="rules.yaml")
    with db.write() as db_session:
        survey = db_session.scalar(select(Survey).where(Survey.key == "shop"))
        customer = get_or_create_customer(db_session=db_session, external_id="C-1042", email="dana@example.com")
        token = create_invitation(db_session=db_session, survey=survey, customer=customer)
    return f"/s/shop?t={token}&channel=app"


def test_a_detractor_gets_a_case_an_e_mail_and_a_follow_up(browser, tmp_path):
    url = f"sqlite:///{tmp_path / 'voxpop.db'}"
    db = Database(url)
    link = workspace(db)
    with running_smtp_server() as smtp:
        settings = Settings(data_dir=tmp_path, database_url=url, secret_key="test-secret-not-for-production-0123456789",
                            rate_limit_per_minute=10_000, text_worker=False, case_worker=True,
                            case_worker_interval=0.2, min_base=1, **smtp.settings())
        with serving(create_app(settings, db)) as base:
            manager = browser.new_context(base_url=base, **DESKTOP)
            manager.set_default_timeout(15_000)
            loop = log_in(manager, "manager@shop.example")
            loop.goto("/improvement")
            expect(loop.get_by_test_id("loop-rows")).to_have_count(0)

            # The customer answers on a phone: a detractor who may be contacted.
            customer = browser.new_context(base_url=base, **PHONE)
            customer.set_default_timeout(15_000)
            answer = customer.new_page()
            answer.goto(link)
            answer.locator("label", has=answer.locator('input[name="q_nps"][value="2"]')).tap()
            answer.get_by_label("What is the main reason for your score?").fill("Nobody called me back.")
            answer.locator("label", has=answer.locator('input[name="q_may_contact"][value="yes"]')).tap()
            shot(answer, "1-answering-on-a-phone")
            answer.locator('button[type="submit"]').last.click()
            expect(answer.get_by_role("heading", level=1)).to_contain_text("Thank")

            # The worker opens the case in Digital (the route for the app channel), owned by its agent.
            def opened():
                with db.read() as db_session:
                    return db_session.execute(select(Case.id, Case.owner_id, Case.department_id)).first()

            case = wait_for(opened)
            assignment = wait_for(lambda: [m for m in smtp.messages if m["To"] == "digital@shop.example"])
            assert assignment[0]["Subject"].startswith(f"Case {case.id} is yours")

            # The agent works it on a phone: e-mails the customer from a template, resolves and closes it.
            agent = browser.new_context(base_url=base, **PHONE)
            agent.set_default_timeout(15_000)
            page = log_in(agent, "digital@shop.example")
            page.goto("/cases")
            page.locator(f'a[href="/cases/{case.id}"]').first.click()
            page.wait_for_url(f"**/cases/{case.id}")
            expect(page.get_by_text("Nobody called me back.")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]
            shot(page, "2-the-agent-opens-the-case")
            page.get_by_role("button", name="Send the e-mail").click()
            mail = wait_for(lambda: [m for m in smtp.messages if m["To"] == "dana@example.com"])
            assert "dana@example.com" == mail[0]["To"]
            page.goto(f"/cases/{case.id}")
            page.get_by_role("button", name="Move to resolved").click()
            close = page.get_by_test_id("close-form")
            close.get_by_label("Root cause").select_option(label="Promised call-back not made")
            close.get_by_label("Action taken").fill("Called Dana, apologised, rebooked the repair.")
            close.get_by_label("Yes").check()
            close.get_by_role("button", name="Close the case").click()
            expect(page.get_by_text("Closed").first).to_be_visible()
            shot(page, "3-closed")

            # The follow-up survey reaches the customer (the policy asks for it on the day of closing).
            followup = wait_for(lambda: [m for m in smtp.messages if m["To"] == "dana@example.com"
                                         and "/s/shop?t=" in m.get_content()])
            assert followup

            # The manager sees the loop metrics with this case in them.
            loop.goto("/improvement")
            rows = loop.get_by_test_id("loop-rows")
            expect(rows).to_contain_text("Digital")
            expect(rows).to_contain_text("100")
            shot(loop, "4-the-manager-sees-the-loop")
    db.dispose()
