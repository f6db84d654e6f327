"""An invitation run against a real SMTP server: the right people, in the right language, no one over the contact
limit, the suppressed never, and a re-run invites no one twice."""

from __future__ import annotations

from datetime import timedelta

from tests.distribution.conftest import NOW, add_contacts, add_rule, make_send
from voxpop.collection.models import Invitation
from voxpop.customers import contacts
from voxpop.distribution.models import InvitationEvent, Send, SendInvitation
from voxpop.distribution.planning import plan_send, run_send
from voxpop.distribution.preview import preview
from voxpop.notify.mail import send_due_mail
from voxpop.notify.models import OutgoingMail
from voxpop.settings import Settings
from voxpop.store.ids import token_hash

PEOPLE = [
    ("C-en", "ann@example.com", "en", {"name": "Ann", "segment": "SMB"}),
    ("C-de", "bernd@example.com", "de", {"name": "Bernd", "segment": "Enterprise"}),
    ("C-fr", "claire@example.com", "fr", {"name": "Claire", "segment": "SMB"}),
    ("C-nomail", None, "en", {"name": "Dan", "segment": "SMB"}),
    ("C-suppressed", "eve@example.com", "en", {"name": "Eve", "segment": "SMB"}),
    ("C-often", "finn@example.com", "en", {"name": "Finn", "segment": "SMB"}),
    ("C-recent", "gwen@example.com", "en", {"name": "Gwen", "segment": "SMB"}),
]


def _settings(settings: Settings, smtp_server) -> Settings:
    return settings.model_copy(update=smtp_server.settings() | {"public_url": "https://vox.example"})


def _history(db, survey_id: int, customer_id: int, *days_ago: int) -> None:
    with db.write() as db_session:
        for days in days_ago:
            db_session.add(Invitation(survey_id=survey_id, customer_id=customer_id, created_at=NOW - timedelta(days=days),
                                      token_hash=token_hash(f"old-{customer_id}-{days}")))


def _world(db, feedback):
    ids = add_contacts(db, PEOPLE)
    with db.write() as db_session:
        contacts.suppress(db_session, "EVE@example.com ", reason="unsubscribed", source="test", now=NOW)
    add_rule(db, max_invitations=2, per_days=90, min_gap_days=30)
    _history(db, feedback.id, ids["C-often"], 40, 70)
    _history(db, feedback.id, ids["C-recent"], 12)
    return ids


def test_the_dry_run_lists_each_skip_with_its_reason(db, feedback):
    ids = _world(db, feedback)
    send_id = make_send(db)
    with db.read() as db_session:
        plan = plan_send(db_session, db_session.get(Send, send_id), NOW)
    reasons = {entry.external_id: entry.reason for entry in plan.entries}
    assert reasons == {
        "C-en": "", "C-de": "", "C-fr": "",
        "C-nomail": "no e-mail address",
        "C-suppressed": "suppressed (unsubscribed on 2026-12-01)",
        "C-often": "invited twice in the last 90 days (limit 2)",
        "C-recent": "last invited 12 days ago (rules need 30)",
    }
    french = next(entry for entry in plan.entries if entry.external_id == "C-fr")
    assert (french.language, french.note) == ("en", "no fr template; written in en (the send's default)")
    assert dict(plan.reasons()) == {"no e-mail address": 1, "suppressed (unsubscribed on 2026-12-01)": 1,
                                    "over the contact-frequency limit": 1, "invited too recently": 1}
    assert ids and len(plan.invited) == 3


def test_a_run_sends_to_the_right_people_in_their_language(db, feedback, settings, smtp_server):
    _world(db, feedback)
    send_id = make_send(db)
    mail_settings = _settings(settings, smtp_server)
    with db.write() as db_session:
        report = run_send(db_session, db_session.get(Send, send_id), mail_settings, NOW, limit=100)
    assert (report.invited, report.skipped, report.remaining) == (3, 4, 0)
    assert send_due_mail(db, settings=mail_settings, now=NOW) == 3
    by_recipient = {message["To"]: message for message in smtp_server.messages}
    assert set(by_recipient) == {"ann@example.com", "bernd@example.com", "claire@example.com"}
    assert by_recipient["bernd@example.com"]["Subject"] == "Eine Minute für uns, Bernd?"
    assert by_recipient["ann@example.com"]["Subject"] == "How did we do?: a minute for us, Ann?"
    assert by_recipient["claire@example.com"]["Subject"].endswith("Claire?")  # no fr template: English
    message = by_recipient["ann@example.com"]
    assert message["List-Unsubscribe"].startswith("<https://vox.example/u/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "https://vox.example/s/feedback?t=" in text and "&lang=en" in text
    assert "&q=nps&score=10" in text and "&amp;q=nps&amp;score=0" in html
    assert "<img" not in html.lower()
    with db.read() as db_session:
        kinds = sorted(event.kind for event in db_session.query(InvitationEvent).filter_by(send_id=send_id))
        assert db_session.get(Send, send_id).status == "done"
    assert kinds == ["queued"] * 3 + ["skipped"] * 4


def test_the_invitation_token_in_the_mail_opens_the_survey(db, feedback, settings, smtp_server, client):
    ids = add_contacts(db, PEOPLE[:1])
    send_id = make_send(db, expires_after_days=3650)  # the survey page checks expiry against the real clock
    mail_settings = _settings(settings, smtp_server)
    with db.write() as db_session:
        run_send(db_session, db_session.get(Send, send_id), mail_settings, NOW, limit=10)
    with db.read() as db_session:
        mail = db_session.query(OutgoingMail).one()
        row = db_session.query(SendInvitation).one()
        invitation = db_session.get(Invitation, row.invitation_id)
        token = mail.body_text.split("?t=")[1].split("&")[0]
        assert invitation.token_hash == token_hash(token) and invitation.customer_id == ids["C-en"]
        assert invitation.expires_at == NOW + timedelta(days=3650)
        assert mail.related == f"invitation:{invitation.id}"
    page = client.get(f"/s/feedback?t={token}&lang=en")
    assert page.status_code == 200 and "How likely are you to recommend us?" in page.text


def test_a_rerun_in_batches_never_invites_anyone_twice(db, feedback, settings, smtp_server):
    _world(db, feedback)
    send_id = make_send(db)
    mail_settings = _settings(settings, smtp_server)
    reports = []
    for _ in range(5):
        with db.write() as db_session:
            reports.append(run_send(db_session, db_session.get(Send, send_id), mail_settings, NOW, limit=2))
    assert [(report.invited + report.skipped, report.remaining) for report in reports[:4]] == [
        (2, 5), (2, 3), (2, 1), (1, 0)]
    assert reports[4].invited == reports[4].skipped == 0
    with db.read() as db_session:
        assert db_session.query(SendInvitation).count() == 3
        assert db_session.query(OutgoingMail).count() == 3
        assert db_session.query(InvitationEvent).filter_by(kind="skipped").count() == 4


def test_a_batch_that_fails_leaves_nothing_behind(db, feedback, settings, smtp_server):
    add_contacts(db, PEOPLE[:3])
    send_id = make_send(db)
    mail_settings = _settings(settings, smtp_server)
    try:
        with db.write() as db_session:
            run_send(db_session, db_session.get(Send, send_id), mail_settings, NOW, limit=10)
            raise RuntimeError("the worker dies before the batch commits")
    except RuntimeError:
        pass
    with db.read() as db_session:
        assert db_session.query(Invitation).count() == 0 and db_session.query(OutgoingMail).count() == 0
    with db.write() as db_session:
        assert run_send(db_session, db_session.get(Send, send_id), mail_settings, NOW, limit=10).invited == 3
    assert send_due_mail(db, settings=mail_settings, now=NOW) == 3
    assert len(smtp_server.messages) == 3


def test_rules_count_invitations_of_other_sends_and_a_survey_rule_only_its_survey(db, feedback, settings):
    ids = add_contacts(db, PEOPLE[:2])
    add_rule(db, survey_id=feedback.id, min_gap_days=30)
    first = make_send(db, key="first")
    with db.write() as db_session:
        run_send(db_session, db_session.get(Send, first), settings, NOW, limit=10)
    second = make_send(db, key="second")
    with db.read() as db_session:
        plan = plan_send(db_session, db_session.get(Send, second), NOW + timedelta(days=5))
    assert {entry.reason for entry in plan.entries} == {"last invited to this survey 5 days ago (rules need 30)"}
    assert len(ids) == 2


def test_a_template_needing_an_attribute_the_contact_lacks_skips_them_saying_so(db, feedback, settings):
    add_contacts(db, [("C-1", "a@example.com", "en", {"name": "A", "city": "Bonn"}),
                      ("C-2", "b@example.com", "en", {"name": "B"})])
    templates = {"en": {"subject": "Hi from {{ customer.attributes.city }}", "body": "{{ link }}"}}
    send_id = make_send(db, templates=templates, embed_question=None)
    with db.read() as db_session:
        plan = plan_send(db_session, db_session.get(Send, send_id), NOW)
    by_id = {entry.external_id: entry.reason for entry in plan.entries}
    assert by_id["C-1"] == ""
    assert by_id["C-2"].startswith("the en template cannot be written for this contact") and "city" in by_id["C-2"]


def test_a_sample_audience_invites_only_its_members(db, feedback, settings):
    ids = add_contacts(db, PEOPLE[:3])
    from voxpop.customers.models import Sample, SampleMember
    with db.write() as db_session:
        sample = Sample(name="December NPS wave", method="random", size_asked=1, size_drawn=1, seed=1,
                        audience={}, audience_size=3, strata=[])
        db_session.add(sample)
        db_session.flush()
        db_session.add(SampleMember(sample_id=sample.id, customer_id=ids["C-de"]))
        sample_id = sample.id
    send_id = make_send(db, audience={"sample_id": sample_id})
    with db.read() as db_session:
        plan = plan_send(db_session, db_session.get(Send, send_id), NOW)
    assert [entry.external_id for entry in plan.invited] == ["C-de"]


def test_a_filter_audience_takes_the_matching_contacts(db, feedback):
    add_contacts(db, PEOPLE[:3])
    send_id = make_send(db, audience={"filter": {"segment": ["SMB"], "language": ["en", "fr"]}})
    with db.read() as db_session:
        plan = plan_send(db_session, db_session.get(Send, send_id), NOW)
    assert [entry.external_id for entry in plan.entries] == ["C-en", "C-fr"]


def test_the_expiry_date_in_the_mail_and_its_preview_is_the_workspace_day(db, feedback, settings, smtp_server):
    add_contacts(db, PEOPLE[:1])
    send_id = make_send(db)  # expires 14 days after 09:00 UTC: 23:00 the day before in Honolulu
    honolulu = _settings(settings, smtp_server).model_copy(update={"timezone": "Pacific/Honolulu"})
    with db.write() as db_session:
        run_send(db_session, db_session.get(Send, send_id), honolulu, NOW, limit=10)
        shown = preview(db_session, db_session.get(Send, send_id), honolulu, now=NOW)
    assert "The link works until 2026-12-14." in shown.mail.body_text
    assert send_due_mail(db, settings=honolulu, now=NOW) == 1
    assert "The link works until 2026-12-14." in smtp_server.messages[0].get_body(("plain",)).get_content()
