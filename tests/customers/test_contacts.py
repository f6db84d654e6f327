"""Contacts: the import (all or nothing, errors naming row and column), the reachability gate, the suppression list
and recorded samples, on both databases."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.helpers import make_user
from tests.smtp import running_smtp_server
from voxpop.accounts.models import AuditEntry, User
from voxpop.customers import contacts
from voxpop.customers.models import Customer, Sample
from voxpop.notify import mail as sender
from voxpop.notify.models import OutgoingMail
from voxpop.notify.outbox import queue_mail

NOW = datetime(2026, 12, 7, 9, tzinfo=timezone.utc)
LATER = datetime(2026, 12, 8, 9, tzinfo=timezone.utc)


def staff(db, role: str) -> User:
    email = make_user(db, role)
    with db.read() as db_session:
        user = db_session.scalars(select(User).where(User.email == email)).one()
        db_session.expunge(user)
        return user


def customers(db) -> dict[str, Customer]:
    with db.read() as db_session:
        found = {row.external_id: row for row in db_session.scalars(select(Customer))}
        db_session.expunge_all()
        return found


def test_a_file_creates_then_updates_contacts_keeping_what_empty_cells_leave_out(db):
    first = ("\ufeffcustomer_id;Email;Language;Consent;segment;note\n"
             "C1;ana@example.com;DE;opt-in;SMB;\"says \"\"hi\"\"; twice\"\n"
             "C2;bo@example.com;en_gb;;Enterprise;\n"
             "C3;;;no;SMB;\n")
    with db.write() as db_session:
        report = contacts.import_contacts(db_session, first, source="import:contacts.csv", now=NOW)
    assert (report.rows, report.created, report.updated) == (3, 3, 0)
    assert report.attributes == ["note", "segment"]
    stored = customers(db)
    assert stored["C1"].language == "de" and stored["C1"].consent == "yes"
    assert stored["C1"].consent_source == "import:contacts.csv" and stored["C1"].consent_at == NOW
    assert stored["C1"].attributes == {"segment": "SMB", "note": 'says "hi"; twice'}
    assert stored["C2"].language == "en-GB" and stored["C2"].consent == "unknown" and stored["C2"].consent_at is None
    assert stored["C3"].email is None and stored["C3"].consent == "no"

    again = "external_id,email,consent,region\nC1,,FALSE,DACH\nC2,bo@example.com,,\nC4,dee@example.com,1,UK\n"
    with db.write() as db_session:
        report = contacts.import_contacts(db_session, again, source="import:again.csv", now=LATER)
    assert (report.created, report.updated) == (1, 1)  # C2 says nothing new
    stored = customers(db)
    assert stored["C1"].email == "ana@example.com" and stored["C1"].consent == "no"
    assert stored["C1"].consent_at == LATER and stored["C1"].consent_source == "import:again.csv"
    assert stored["C1"].attributes == {"segment": "SMB", "note": 'says "hi"; twice', "region": "DACH"}
    assert "4 contacts" not in report.sentence() and "1 new contact" in report.sentence()


def test_any_bad_row_writes_nothing_and_every_error_names_its_row_and_column(db):
    text = ("id,email,consent,language\n"
            "C1,ana@example.com,yes,en\n"
            "C2,bob@,yes,en\n"
            ",x@example.com,,\n"
            "C4,dee@example.com,perhaps,english\n"
            "C1,again@example.com,,\n")
    with db.write() as db_session, pytest.raises(contacts.ImportRefused) as refused:
        contacts.import_contacts(db_session, text, source="import:bad.csv", now=NOW)
    said = [str(error) for error in refused.value.errors]
    assert said == ["row 3, email: 'bob@' is not an e-mail address",
                    "row 4, id: the customer id is missing",
                    "row 5, consent: 'perhaps' is not a consent; write yes or no (or opt-in, opt-out, true, false, 1, "
                    "0, unknown)",
                    "row 5, language: 'english' is not a language code such as en, de or de-CH",
                    "row 6, id: 'C1' is also on row 2"]
    assert customers(db) == {}


def test_a_file_without_an_id_column_is_refused_naming_the_columns(db):
    with db.write() as db_session, pytest.raises(contacts.ImportRefused, match="no customer id column.*name, email"):
        contacts.import_contacts(db_session, "name,email\nAna,ana@example.com\n", source="x", now=NOW)


def test_thousands_of_rows_import_in_bulk(db):
    text = "external_id,email,segment\n" + "".join(f"N{n},n{n}@example.com,{'AB'[n % 2]}\n" for n in range(5000))
    with db.write() as db_session:
        assert contacts.import_contacts(db_session, text, source="x", now=NOW).created == 5000
    with db.write() as db_session:
        assert contacts.import_contacts(db_session, text.replace(",A\n", ",C\n"), source="x", now=NOW).updated == 2500


def test_reachable_says_why_not_and_suppression_beats_consent(db):
    text = ("external_id,email,consent\nyes,yes@example.com,yes\nunknown,unknown@example.com,\n"
            "no,no@example.com,no\nnomail,,yes\ngone,Gone@Example.com ,yes\n")
    with db.write() as db_session:
        contacts.import_contacts(db_session, text, source="x", now=NOW)
        contacts.suppress(db_session, " GONE@example.com", reason="unsubscribed", source="unsubscribe link",
                          now=datetime(2026, 11, 3, 8, tzinfo=timezone.utc))
    ids = {key: row.id for key, row in customers(db).items()}
    with db.read() as db_session:
        answer = contacts.reachable(db_session, [*ids.values(), 99999])
    assert {key: answer[id_] for key, id_ in ids.items()} == {
        "yes": None, "unknown": None, "no": "no consent", "nomail": "no e-mail address",
        "gone": "suppressed (unsubscribed on 2026-11-03)"}
    assert answer[99999] == "no such customer"
    assert customers(db)["gone"].consent == "no"  # an unsubscribe withdraws consent
    # A later import saying yes does not lift the suppression: only an admin can.
    with db.write() as db_session:
        report = contacts.import_contacts(db_session, "external_id,email,consent\ngone,gone@example.com,yes\n",
                                          source="x", now=LATER)
        assert report.suppressed == 1 and "stays suppressed" in report.sentence()
        assert contacts.reachable(db_session, [ids["gone"]])[ids["gone"]].startswith("suppressed")


def test_suppress_is_idempotent_and_a_bounce_leaves_consent_alone(db):
    with db.write() as db_session:
        contacts.import_contacts(db_session, "external_id,email,consent\nb,b@example.com,yes\n", source="x", now=NOW)
        first = contacts.suppress(db_session, "b@example.com", reason="bounced", source="smtp", detail="550 no such user",
                                  now=NOW)
        second = contacts.suppress(db_session, "B@EXAMPLE.COM", reason="manual", source="admin", now=LATER)
        assert first.id == second.id and second.reason == "bounced" and second.created_at == NOW
        assert contacts.is_suppressed(db_session, " b@Example.com") and not contacts.is_suppressed(db_session, "c@x.org")
    assert customers(db)["b"].consent == "yes"
    with db.write() as db_session:
        with pytest.raises(contacts.ContactError, match="not an e-mail address"):
            contacts.suppress(db_session, "nobody", reason="manual", source="x", now=NOW)
        with pytest.raises(contacts.ContactError, match="unknown reason 'spam'"):
            contacts.suppress(db_session, "a@example.com", reason="spam", source="x", now=NOW)


def test_unsuppress_is_audited(db):
    admin = staff(db, "admin")
    with db.write() as db_session:
        contacts.suppress(db_session, "a@example.com", reason="complaint", source="feedback loop", now=NOW)
    with db.write() as db_session:
        contacts.unsuppress(db_session, "A@example.com", actor=admin, client="127.0.0.1")
        with pytest.raises(contacts.ContactError, match="not on the suppression list"):
            contacts.unsuppress(db_session, "a@example.com", actor=admin)
    with db.read() as db_session:
        assert not contacts.is_suppressed(db_session, "a@example.com")
        entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "contacts.unsuppress")).one()
        assert entry.target == "a@example.com" and entry.details["reason"] == "complaint"


def audience(db, count: int = 300) -> None:
    """`count` contacts: a tenth SMB-less (no segment), the rest SMB or Enterprise 2:1, every 25th without e-mail."""
    lines = ["external_id,email,segment,region"]
    for n in range(count):
        segment = "" if n % 10 == 0 else ("Enterprise" if n % 3 == 0 else "SMB")
        lines.append(f"P{n:04d},{'' if n % 25 == 0 else f'p{n}@example.com'},{segment},{'DACH' if n % 2 else 'UK'}")
    with db.write() as db_session:
        contacts.import_contacts(db_session, "\n".join(lines) + "\n", source="x", now=NOW)


def test_a_stratified_sample_is_proportional_seeded_and_recorded(db):
    audience(db)
    user = staff(db, "manager")
    with db.write() as db_session:
        sample = contacts.draw_sample(db_session, name="December wave", size=60, method="stratified",
                                      stratify_by="segment", where={}, seed=7, user=user, now=NOW)
        sample_id, strata = sample.id, sample.strata
        assert sample.size_drawn == 60 and sample.audience_size == 288 and sample.created_by_id == user.id
    counts = {row["stratum"]: row for row in strata}
    assert sum(row["audience"] for row in strata) == 288
    for row in strata:
        assert abs(row["drawn"] - 60 * row["audience"] / 288) < 1
    assert "" in counts  # contacts without a segment are their own stratum
    with db.read() as db_session:
        members = contacts.sample_members(db_session, sample_id)
        assert len(members) == 60 and all(reason is None for reason in contacts.reachable(db_session, members).values())
        again = contacts.plan_sample(db_session, size=60, method="stratified", stratify_by="segment", where={}, seed=7)
    assert sorted(id_ for ids in again.members.values() for id_ in ids) == members


def test_a_random_sample_within_a_filter(db):
    audience(db)
    with db.write() as db_session:
        sample = contacts.draw_sample(db_session, name="SMB in DACH", size=20, method="random", stratify_by=None,
                                      where={"segment": ["SMB"], "region": ["DACH"]}, seed=1, user=None, now=NOW)
        members = contacts.sample_members(db_session, sample.id)
        stored = {row.id: row for row in db_session.scalars(select(Customer).where(Customer.id.in_(members)))}
    assert len(members) == 20 and sample.stratify_by is None
    assert all(row.attributes["segment"] == "SMB" and row.attributes["region"] == "DACH" for row in stored.values())


@pytest.mark.parametrize(("changes", "message"), [
    ({"size": 0}, "the size must be at least 1, not 0"),
    ({"size": 10_000}, "the audience has 288 reachable contacts, fewer than the 10,000 asked for"),
    ({"stratify_by": "segmnt"}, "no contact has the attribute 'segmnt'; known attributes: region, segment"),
    ({"where": {"tier": ["gold"]}}, "no contact has the attribute 'tier'"),
    ({"method": "cluster"}, "unknown method 'cluster'"),
    ({"name": " "}, "the sample needs a name"),
])
def test_a_sample_that_cannot_be_drawn_says_why(db, changes, message):
    audience(db)
    asked = {"name": "wave", "size": 10, "method": "stratified", "stratify_by": "segment", "where": {}, "seed": 1,
             "user": None, "now": NOW} | changes
    with db.write() as db_session, pytest.raises(contacts.ContactError, match=message):
        contacts.draw_sample(db_session, **asked)
    with db.read() as db_session:
        assert db_session.scalars(select(Sample)).all() == []


def test_a_sample_name_is_used_once(db):
    audience(db, 50)
    with db.write() as db_session:
        contacts.draw_sample(db_session, name="wave", size=5, method="random", stratify_by=None, where={}, seed=1,
                             user=None, now=NOW)
        with pytest.raises(contacts.ContactError, match="already called 'wave'"):
            contacts.draw_sample(db_session, name="wave", size=5, method="random", stratify_by=None, where={}, seed=2,
                                 user=None, now=NOW)


def test_where_pairs_are_read_or_refused():
    assert contacts.parse_where(["segment=SMB", "segment = Enterprise", "region=DACH"]) == {
        "segment": ["SMB", "Enterprise"], "region": ["DACH"]}
    with pytest.raises(contacts.ContactError, match="write attribute=value"):
        contacts.parse_where(["segment"])


def test_suppressing_an_address_stops_its_invitations_already_queued(db, settings):
    with db.write() as db_session:
        waiting = {kind: queue_mail(db_session=db_session, kind=kind, recipient=recipient, subject="Tell us",
                                    body_text="A minute?", related="x")
                   for kind, recipient in (("invitation", "Ana@Example.com"), ("invitation.reminder", "ana@example.com"),
                                           ("case.followup", " ANA@example.com"), ("case.contact", "ana@example.com"),
                                           ("invitation", "bo@example.com"))}
        db_session.flush()
        ids = {kind: mail.id for kind, mail in waiting.items()}
    with db.write() as db_session:
        contacts.suppress(db_session, "ana@EXAMPLE.com", reason="complaint", source="command line", now=NOW)
    with running_smtp_server() as server:
        configured = settings.model_copy(update=server.settings() | {"smtp_from": "voxpop <cx@example.com>"})
        # queue_mail stamps the messages due at the real clock's now, so they are sent at the real clock's time
        assert sender.send_due_mail(db, settings=configured, now=datetime.now(timezone.utc) + timedelta(minutes=1)) == 2
        # the reply to a case is not an invitation; bo is not suppressed
        assert sorted(to for _, recipients in server.envelopes for to in recipients) == ["ana@example.com",
                                                                                        "bo@example.com"]
    with db.read() as db_session:
        for kind in ("invitation.reminder", "case.followup"):
            mail = db_session.get(OutgoingMail, ids[kind])
            assert (mail.status, mail.smtp_reply) == (
                "failed", "not sent: the address was suppressed (complaint) on 2026-12-07"), kind
        assert db_session.get(OutgoingMail, ids["case.contact"]).status == "sent"


def test_a_complaint_withdraws_consent_whatever_the_case_of_non_ascii_letters(db):
    with db.write() as db_session:
        contacts.import_contacts(db_session, "id,email,consent\nC1,ÄNNE@Müller.example,yes\nC2,änne_x@müller.example,yes\n"
                                             "C3,änneax@müller.example,yes\n", source="x", now=NOW)
        contacts.suppress(db_session, "änne@MÜLLER.example", reason="complaint", source="x", now=LATER)
        contacts.suppress(db_session, "ÄNNE_X@müller.example", reason="unsubscribed", source="x", now=LATER)
    stored = customers(db)
    assert (stored["C1"].consent, stored["C1"].consent_at) == ("no", LATER)
    assert stored["C2"].consent == "no"
    assert stored["C3"].consent == "yes"  # the underscore is a character, not a wildcard


@pytest.mark.parametrize(("text", "said"), [
    ('external_id,email,segment\nC-20,a20@x.com,"SMB\nC-21,b21@x.com,SMB\nC-22,c22@x.com,SMB\n',
     ["row 2: a quote opened here is never closed"]),
    ('external_id;email;consent\nC-1;a@x.com;yes\nC-2;b@x.com;"yes\nC-3"\nC-4;d@x.com;yes\n',
     ["row 3, consent: the cell holds a line break; a quote opened in it (or before it on this row) is probably never "
      "closed, so the rows after it were read into it"]),
    ('external_id,email\n"C-1\nC-2",a@x.com\n',
     ["row 2, external_id: the cell holds a line break; a quote opened in it (or before it on this row) is probably "
      "never closed, so the rows after it were read into it"]),
])
def test_a_quote_left_open_is_refused_naming_its_row(db, text, said):
    with db.write() as db_session, pytest.raises(contacts.ImportRefused) as refused:
        contacts.import_contacts(db_session, text, source="x", now=NOW)
    assert [str(error) for error in refused.value.errors] == said
    assert customers(db) == {}


def test_a_note_may_hold_a_line_break(db):
    with db.write() as db_session:
        report = contacts.import_contacts(db_session, 'id,email,note\nC1,a@x.com,"line one\nline two"\n', source="x",
                                          now=NOW)
    assert report.created == 1 and customers(db)["C1"].attributes == {"note": "line one\nline two"}
