"""Contacts: the customers voxpop may invite. Importing them with their e-mail, language, consent and attributes;
who may be invited and why not (`reachable`, the gate every send passes); the suppression list; samples.

Consent "unknown" may be invited: feedback on a purchase or a support contact is transactional, and customers
imported from transactions have said neither yes nor no. "no" may not, nor any address on the suppression list,
whatever its customer's consent says (docs/contacts.md)."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from voxpop.accounts.service import audit
from voxpop.core import sampling
from voxpop.core.wording import counted, listed
from voxpop.customers.models import Customer, Sample, SampleMember, Suppression
from voxpop.notify.models import OutgoingMail
from voxpop.store.database import conflict_insert

CHUNK = 500  # ids per IN (...): well under SQLite's and PostgreSQL's parameter limits
ID_COLUMNS = ("external_id", "customer_id", "id")
EMAIL_COLUMNS = ("email", "e-mail", "email_address")
CONSENT_WORDS = {"yes": "yes", "true": "yes", "1": "yes", "opt-in": "yes", "opted in": "yes", "y": "yes",
                 "no": "no", "false": "no", "0": "no", "opt-out": "no", "opted out": "no", "n": "no",
                 "unknown": "unknown", "": None}
CONSENTS = ("yes", "no", "unknown")
REASONS = ("unsubscribed", "bounced", "complaint", "manual")
# A reason that is the customer's own word against being asked: it withdraws their consent too.
WITHDRAWS_CONSENT = ("unsubscribed", "complaint")
# The outbox's invitation-type mail (distribution's invitations and reminders, the cases' follow-up survey): what a
# suppression stops even when it is already queued. Other kinds (a reply to a case, ...) are not invitations.
INVITATION_MAIL = ("invitation", "invitation.reminder", "case.followup")
METHODS = ("random", "stratified")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
LANGUAGE = re.compile(r"^([A-Za-z]{2,3})(?:[-_]([A-Za-z0-9]{2,8}))?$")
# Cells that are one line by nature: a line break in one is a quote left open swallowing the rows below it.
LINE_BREAK_REFUSED = ("external_id", "email", "language", "consent")
NOT_GIVEN = ""  # the stratum of contacts without the stratify_by attribute
SHOWN_ERRORS = 200


class ContactError(ValueError):
    """Bad input to a contacts function; `field` names what to change."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RowError:
    row: int  # counted as a spreadsheet shows it: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        if self.column == "row":  # the whole row, no one cell
            return f"row {self.row}: {self.message}"
        return f"row {self.row}, {self.column}: {self.message}"


class ImportRefused(ValueError):
    """A contacts file with bad rows: nothing was written, every error is listed."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        shown = "; ".join(str(error) for error in errors[:5])
        more = f" (and {len(errors) - 5:,} more)" if len(errors) > 5 else ""
        super().__init__(f"{counted(len(errors), 'error')} in the file, nothing was imported: {shown}{more}")


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    attributes: list[str] = field(default_factory=list)
    suppressed: int = 0  # rows whose address is on the suppression list: they stay suppressed

    def sentence(self) -> str:
        said = (f"{counted(self.rows, 'row')} read: {counted(self.created, 'new contact')}, "
                f"{self.updated:,} updated")
        if self.attributes:
            said += f"; attributes: {', '.join(self.attributes)}"
        if self.suppressed:
            said += (f"; {counted(self.suppressed, 'address', 'addresses')} on the suppression list "
                     f"{'stays' if self.suppressed == 1 else 'stay'} suppressed")
        return said


def normalised_email(email: str) -> str:
    """An address as the suppression list keys it: stripped and lower-cased."""
    return email.strip().lower()


def consent_value(word: str) -> str | None:
    """yes, no or unknown from the words files use (opt-in, TRUE, 0 ...); None for an empty cell. KeyError if unread."""
    return CONSENT_WORDS[word.strip().lower()]


def language_code(text: str) -> str:
    """"DE" -> "de", "de_ch" -> "de-CH"; ValueError for what is not a language tag."""
    match = LANGUAGE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a language code such as en, de or de-CH")
    language, region = match.groups()
    return language.lower() + (f"-{region.upper() if len(region) == 2 else region}" if region else "")


def read_rows(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a CSV text: a byte-order mark dropped, the delimiter (comma, semicolon or tab) the
    one the header uses most, quoted fields as CSV quotes them."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    rows: list[list[str]] = []
    # strict: a quote never closed is an error at the end of the file, not one last cell swallowing every row after
    # the quote (which the lenient reader returns without a word)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as exc:
        number = len(rows) + 1  # the record being read when the reader gave up, counted as rows are
        if "unexpected end of data" in str(exc):
            raise ImportRefused([RowError(number, "row", "a quote opened here is never closed")]) from None
        raise ImportRefused([RowError(number, "row", f"the quoting cannot be read ({exc}); a cell that starts with "
                                                     'a quote must end with one, and a quote inside it is written '
                                                     'twice ("")')]) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise ImportRefused([RowError(1, "header", "the file is empty; it needs a header row naming its columns")])
    return [cell.strip() for cell in rows[0]], rows[1:]


@dataclass
class _Contact:
    row: int
    external_id: str
    email: str | None = None
    language: str | None = None
    consent: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


def _roles(header: list[str]) -> tuple[dict[int, str], list[RowError]]:
    """Column index -> what it holds: external_id, email, language, consent or an attribute's name."""
    errors, roles, seen = [], {}, Counter(name.lower() for name in header)
    for name, count in seen.items():
        if count > 1 and name:
            errors.append(RowError(1, name, "the column appears more than once"))
    ids = [index for index, name in enumerate(header) if name.lower() in ID_COLUMNS]
    if not ids:
        errors.append(RowError(1, "header", f"no customer id column; name one {', '.join(ID_COLUMNS)} "
                                            f"(the columns are {', '.join(header)})"))
    for index, name in enumerate(header):
        lowered = name.lower()
        if not name:
            continue
        if index == (ids[0] if ids else -1):
            roles[index] = "external_id"
        elif lowered in EMAIL_COLUMNS:
            roles[index] = "email"
        elif lowered in ("language", "consent"):
            roles[index] = lowered
        elif lowered not in ID_COLUMNS:
            roles[index] = "attribute:" + name
    return roles, errors


def _parse(header: list[str], rows: list[list[str]]) -> list[_Contact]:
    """Every row checked; ImportRefused with every error when any is bad."""
    roles, errors = _roles(header)
    if errors:
        raise ImportRefused(errors)
    contacts: list[_Contact] = []
    first_row: dict[str, int] = {}
    for number, cells in enumerate(rows, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line (spreadsheets leave them at the end)
        if len(cells) > len(header):
            errors.append(RowError(number, "row", f"{len(cells)} cells but the header names {len(header)} columns"))
            continue
        contact = _Contact(number, "")
        for index, role in roles.items():
            value = cells[index].strip() if index < len(cells) else ""
            error = _take(contact, role, value)
            if error:
                errors.append(RowError(number, header[index], error))
        if contact.external_id:
            if contact.external_id in first_row:
                errors.append(RowError(number, header[next(i for i, r in roles.items() if r == "external_id")],
                                       f"{contact.external_id!r} is also on row {first_row[contact.external_id]}"))
            first_row.setdefault(contact.external_id, number)
        contacts.append(contact)
    if errors:
        raise ImportRefused(errors)
    return contacts


def _take(contact: _Contact, role: str, value: str) -> str | None:
    """Put one cell on the contact; the error in words when it cannot be read."""
    if role in LINE_BREAK_REFUSED and ("\n" in value or "\r" in value):
        return ("the cell holds a line break; a quote opened in it (or before it on this row) is probably never "
                "closed, so the rows after it were read into it")
    if role == "external_id":
        if not value:
            return "the customer id is missing"
        if len(value) > 200:
            return "the customer id is longer than 200 characters"
        contact.external_id = value
    elif role == "email" and value:
        if not EMAIL.match(value) or len(value) > 254:
            return f"{value!r} is not an e-mail address"
        contact.email = value
    elif role == "language" and value:
        try:
            contact.language = language_code(value)
        except ValueError as exc:
            return str(exc)
    elif role == "consent":
        try:
            contact.consent = consent_value(value)
        except KeyError:
            return f"{value!r} is not a consent; write yes or no (or opt-in, opt-out, true, false, 1, 0, unknown)"
    elif role.startswith("attribute:") and value:
        if len(value) > 200:
            return "the value is longer than 200 characters"
        contact.attributes[role.removeprefix("attribute:")] = value
    return None


def import_contacts(db_session: Session, text: str, *, source: str, now: datetime) -> ImportReport:
    """Create or update contacts from a CSV text, keyed by the customer id. Every row is checked first: when one is
    bad, nothing is written (ImportRefused lists them all). An empty cell keeps what is stored; attributes are
    added to those stored. Consent records when and from where it changed."""
    header, rows = read_rows(text)
    contacts = _parse(header, rows)
    report = ImportReport(rows=len(contacts),
                          attributes=sorted({name for contact in contacts for name in contact.attributes}))
    table = Customer.__table__
    stored: dict[str, dict] = {}
    ids = [contact.external_id for contact in contacts]
    for start in range(0, len(ids), CHUNK):
        for row in db_session.execute(select(table.c.id, table.c.external_id, table.c.email, table.c.language,
                                             table.c.consent, table.c.consent_at, table.c.consent_source,
                                             table.c.attributes)
                                      .where(table.c.external_id.in_(ids[start:start + CHUNK]))).mappings():
            stored[row["external_id"]] = dict(row)
    new, changed = [], []
    for contact in contacts:
        before = stored.get(contact.external_id)
        if before is None:
            consent = contact.consent or "unknown"
            new.append({"external_id": contact.external_id, "email": contact.email, "language": contact.language,
                        "consent": consent, "consent_at": now if contact.consent else None,
                        "consent_source": source if contact.consent else None,
                        "attributes": contact.attributes, "created_at": now})
            continue
        after = {"b_id": before["id"], "email": contact.email or before["email"],
                 "language": contact.language or before["language"],
                 "attributes": {**(before["attributes"] or {}), **contact.attributes},
                 "consent": before["consent"], "consent_at": before["consent_at"],
                 "consent_source": before["consent_source"]}
        if contact.consent and contact.consent != before["consent"]:
            after |= {"consent": contact.consent, "consent_at": now, "consent_source": source}
        if any(after[key] != before[key] for key in ("email", "language", "attributes", "consent")):
            changed.append(after)
    if new:
        db_session.execute(insert(table), new)
    if changed:
        db_session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            email=bindparam("email"), language=bindparam("language"), attributes=bindparam("attributes"),
            consent=bindparam("consent"), consent_at=bindparam("consent_at"),
            consent_source=bindparam("consent_source")), changed)
    report.created, report.updated = len(new), len(changed)
    addresses = [normalised_email(contact.email) for contact in contacts if contact.email]
    report.suppressed = len(suppressed_on(db_session, addresses))
    return report


def suppressed_on(db_session: Session, emails: Iterable[str]) -> dict[str, Suppression]:
    """The suppressions of these (normalised) addresses, by address."""
    addresses = sorted(set(emails))
    found: dict[str, Suppression] = {}
    for start in range(0, len(addresses), CHUNK):
        found |= {row.email: row for row in db_session.scalars(
            select(Suppression).where(Suppression.email.in_(addresses[start:start + CHUNK])))}
    return found


def why_not_reachable(email: str | None, consent: str, suppression: Suppression | None) -> str | None:
    """Why an e-mail invitation may not go to a contact, in words; None when it may."""
    if not email or not email.strip():
        return "no e-mail address"
    if suppression is not None:
        return f"suppressed ({suppression.reason} on {suppression.created_at.date().isoformat()})"
    if consent == "no":
        return "no consent"
    return None


def reachable(db_session: Session, customer_ids: Iterable[int]) -> dict[int, str | None]:
    """For each customer, None if an e-mail invitation or reminder may go to them, else why not in words ("no
    e-mail address", "no consent", "suppressed (unsubscribed on 2026-11-03)"). Every send asks this first."""
    wanted = sorted(set(customer_ids))
    rows: dict[int, tuple[str | None, str]] = {}
    for start in range(0, len(wanted), CHUNK):
        rows |= {id_: (email, consent) for id_, email, consent in db_session.execute(
            select(Customer.id, Customer.email, Customer.consent).where(Customer.id.in_(wanted[start:start + CHUNK])))}
    suppressions = suppressed_on(db_session, (normalised_email(email) for email, _ in rows.values() if email))
    answer: dict[int, str | None] = {}
    for id_ in wanted:
        if id_ not in rows:
            answer[id_] = "no such customer"
            continue
        email, consent = rows[id_]
        answer[id_] = why_not_reachable(email, consent, suppressions.get(normalised_email(email)) if email else None)
    return answer


def is_suppressed(db_session: Session, email: str) -> bool:
    """Whether the address (in any case, with any surrounding spaces) is on the suppression list."""
    return db_session.scalar(select(Suppression.id).where(Suppression.email == normalised_email(email))) is not None


def suppress(db_session: Session, email: str, *, reason: str, source: str, detail: str = "",
             now: datetime) -> Suppression:
    """Put an address on the suppression list (once: a second call keeps the first entry). An unsubscribe or a
    complaint also withdraws the consent of every customer with that address. Invitations, reminders and case
    follow-ups to the address still waiting in the outbox are not sent (failed, with the reason as the reply)."""
    address = normalised_email(email)
    if not EMAIL.match(address) or len(address) > 254:
        raise ContactError(f"{email.strip()!r} is not an e-mail address", field="email")
    if reason not in REASONS:
        raise ContactError(f"unknown reason {reason!r}; choose one of {listed(REASONS)}", field="reason")
    dialect = db_session.get_bind().dialect.name
    db_session.execute(conflict_insert(dialect, Suppression.__table__).values(
        email=address, reason=reason, source=source[:200], detail=detail, created_at=now)
        .on_conflict_do_nothing(index_elements=["email"]))
    entry = db_session.scalars(select(Suppression).where(Suppression.email == address)).one()
    if reason in WITHDRAWS_CONSENT:
        withdrawn = _with_address(db_session, Customer.id, Customer.email, address, Customer.consent != "no")
        for start in range(0, len(withdrawn), CHUNK):
            db_session.execute(update(Customer).where(Customer.id.in_(withdrawn[start:start + CHUNK]))
                               .values(consent="no", consent_at=now, consent_source=source[:200])
                               .execution_options(synchronize_session=False))
    _cancel_waiting_invitations(db_session, entry)
    return entry


def _with_address(db_session: Session, id_column, email_column, address: str, *where) -> list[int]:
    """The ids of the rows whose address is `address` (normalised) in any case. SQL's lower() folds only ASCII on
    SQLite (and under PostgreSQL's C locale), so the query narrows with the address's non-ASCII characters as
    wildcards and Python decides: "ÄNA@x.com" is "äna@x.com"."""
    pattern = "".join("\\" + char if char in "%_\\" else char if char.isascii() else "_" for char in address)
    rows = db_session.execute(select(id_column, email_column).where(
        func.lower(func.trim(email_column)).like(pattern, escape="\\"), *where))
    return [id_ for id_, email in rows if email and normalised_email(email) == address]


def _cancel_waiting_invitations(db_session: Session, entry: Suppression) -> int:
    """Invitation-type mail to the suppressed address still waiting in the outbox (queued, not yet claimed by the
    mail worker) is not sent: it fails with a reply saying why. Returns how many."""
    waiting = _with_address(db_session, OutgoingMail.id, OutgoingMail.recipient, entry.email,
                            OutgoingMail.status == "queued", OutgoingMail.kind.in_(INVITATION_MAIL))
    if entry.reason == "unsubscribed":
        reply = "not sent: the recipient unsubscribed"  # the words the unsubscribe link's own cancelling uses
    else:
        reply = f"not sent: the address was suppressed ({entry.reason}) on {entry.created_at.date().isoformat()}"
    for start in range(0, len(waiting), CHUNK):
        # status == "queued" again: a worker that claimed one meanwhile has it, and its send is recorded
        db_session.execute(update(OutgoingMail).where(OutgoingMail.id.in_(waiting[start:start + CHUNK]),
                                                      OutgoingMail.status == "queued")
                           .values(status="failed", smtp_reply=reply).execution_options(synchronize_session=False))
    return len(waiting)


def unsuppress(db_session: Session, email: str, *, actor, client: str = "") -> Suppression:
    """Take an address off the suppression list (an admin's decision, audited with what the entry said). Consent
    withdrawn by the unsubscribe stays "no": only the customer, or a new import, gives it again."""
    address = normalised_email(email)
    entry = db_session.scalars(select(Suppression).where(Suppression.email == address)).one_or_none()
    if entry is None:
        raise ContactError(f"{address!r} is not on the suppression list", field="email")
    audit(db_session=db_session, actor=actor, action="contacts.unsuppress", target=address, client=client,
          reason=entry.reason, source=entry.source, suppressed_at=entry.created_at.isoformat())
    db_session.execute(delete(Suppression).where(Suppression.id == entry.id))
    return entry


@dataclass(frozen=True)
class Stratum:
    name: str  # the stratify_by value; NOT_GIVEN for contacts without it
    audience: int
    drawn: int

    def as_dict(self) -> dict:
        return {"stratum": self.name, "audience": self.audience, "drawn": self.drawn}


@dataclass(frozen=True)
class SamplePlan:
    """What a draw would take: the audience (reachable contacts matching the filter) and each stratum's share."""

    audience: int
    unreachable: int  # contacts matching the filter whom no invitation may reach
    strata: list[Stratum]
    members: dict[str, list[int]]  # stratum -> the drawn customer ids


def attribute_names(db_session: Session) -> list[str]:
    """Every attribute name some customer has."""
    return sorted({name for attributes in db_session.scalars(select(Customer.attributes)) for name in attributes or {}})


def _audience(db_session: Session, where: Mapping[str, list[str]], stratify_by: str | None
              ) -> tuple[dict[str, list[int]], int]:
    """The reachable contacts matching the filter, grouped by the stratify_by value (all in one group without it),
    and how many matched but are not reachable."""
    rows = db_session.execute(select(Customer.id, Customer.email, Customer.consent, Customer.attributes)).all()
    known = {name for *_, attributes in rows for name in attributes or {}}
    for name in [*where, *([stratify_by] if stratify_by else [])]:
        if name not in known:
            raise ContactError(f"no contact has the attribute {name!r}; known attributes: "
                               f"{listed(known)}", field="stratify_by" if name == stratify_by
                               else "where")
    suppressions = suppressed_on(db_session, (normalised_email(email) for _, email, *_ in rows if email))
    groups: dict[str, list[int]] = {}
    unreachable = 0
    for id_, email, consent, attributes in rows:
        attributes = attributes or {}
        if any(str(attributes.get(name)) not in values for name, values in where.items()):
            continue
        if why_not_reachable(email, consent, suppressions.get(normalised_email(email)) if email else None):
            unreachable += 1
            continue
        stratum = str(attributes.get(stratify_by, NOT_GIVEN)) if stratify_by else NOT_GIVEN
        groups.setdefault(stratum, []).append(id_)
    return groups, unreachable


def plan_sample(db_session: Session, *, size: int, method: str, stratify_by: str | None,
                where: Mapping[str, list[str]], seed: int) -> SamplePlan:
    """The draw, without recording it: the dry run shows its strata, `draw_sample` records it."""
    if method not in METHODS:
        raise ContactError(f"unknown method {method!r}; choose {listed(METHODS)}", field="method")
    if method == "stratified" and not stratify_by:
        raise ContactError("a stratified sample needs the attribute to stratify by", field="stratify_by")
    if method == "random":
        stratify_by = None
    if size < 1:
        raise ContactError(f"the size must be at least 1, not {size}", field="size")
    groups, unreachable = _audience(db_session, where, stratify_by)
    audience = sum(len(ids) for ids in groups.values())
    if size > audience:
        raise ContactError(f"the audience has {counted(audience, 'reachable contact')}, fewer than the "
                           f"{size:,} asked for", field="size")
    members = sampling.stratified_sample(groups, size, seed=seed)
    strata = [Stratum(name, len(groups[name]), len(members[name])) for name in sorted(groups)]
    return SamplePlan(audience, unreachable, strata, members)


def draw_sample(db_session: Session, *, name: str, size: int, method: str, stratify_by: str | None,
                where: Mapping[str, list[str]], seed: int, user, now: datetime) -> Sample:
    """Draw a random or proportionally stratified sample of the reachable contacts matching `where` (attribute ->
    allowed values) and record it with its members. The same seed on the same contacts draws the same sample."""
    name = name.strip()
    if not name:
        raise ContactError("the sample needs a name", field="name")
    if len(name) > 200:
        raise ContactError("the name is longer than 200 characters", field="name")
    if db_session.scalar(select(Sample.id).where(Sample.name == name)) is not None:
        raise ContactError(f"a sample is already called {name!r}; choose another name", field="name")
    plan = plan_sample(db_session, size=size, method=method, stratify_by=stratify_by, where=where, seed=seed)
    sample = Sample(name=name, method=method, stratify_by=stratify_by if method == "stratified" else None,
                    size_asked=size, size_drawn=sum(stratum.drawn for stratum in plan.strata), seed=seed,
                    audience={key: list(values) for key, values in where.items()}, audience_size=plan.audience,
                    strata=[stratum.as_dict() for stratum in plan.strata],
                    created_by_id=user.id if user is not None else None, created_at=now)
    db_session.add(sample)
    db_session.flush()
    by_stratum = sample.stratify_by is not None
    db_session.execute(insert(SampleMember.__table__), [
        {"sample_id": sample.id, "customer_id": id_, "stratum": (stratum or None) if by_stratum else None}
        for stratum, ids in plan.members.items() for id_ in ids])
    return sample


def sample_members(db_session: Session, sample_id: int) -> list[int]:
    """The customer ids a sample drew, in id order."""
    return list(db_session.scalars(select(SampleMember.customer_id).where(SampleMember.sample_id == sample_id)
                                   .order_by(SampleMember.customer_id)))


def parse_where(pairs: Iterable[str]) -> dict[str, list[str]]:
    """["segment=SMB", "segment=Enterprise", "region=DACH"] -> {"segment": ["SMB", "Enterprise"], "region": [...]}."""
    where: dict[str, list[str]] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise ContactError(f"{pair!r} is not a filter; write attribute=value, e.g. segment=SMB", field="where")
        where.setdefault(name.strip(), []).append(value.strip())
    return where
