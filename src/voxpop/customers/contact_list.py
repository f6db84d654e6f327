"""The contacts and suppression lists as pages show them: filtered, counted by whether invitations may reach them,
a page at a time. Whether one contact may be invited is `contacts.reachable`; this counts the same rules in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from voxpop.customers.contacts import CONSENTS, NOT_GIVEN, ContactError, normalised_email
from voxpop.customers.models import Customer, Sample, SampleMember, Suppression

PAGE_SIZE = 50
NO_EMAIL, SUPPRESSED, NO_CONSENT = "no e-mail address", "suppressed", "no consent"
REASONS = (NO_EMAIL, SUPPRESSED, NO_CONSENT)  # in the order `contacts.why_not_reachable` tests them


@dataclass(frozen=True)
class ContactFilter:
    search: str = ""  # part of the customer id or e-mail address
    consent: str = ""
    language: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)
    reach: str = ""  # "", "reachable", or one of REASONS

    def check(self) -> None:
        """ContactError naming the field when a value cannot filter."""
        if self.consent and self.consent not in CONSENTS:
            raise ContactError(f"consent must be one of {', '.join(CONSENTS)}, not {self.consent!r}", field="consent")
        if self.reach and self.reach not in ("reachable", *REASONS):
            raise ContactError(f"reach must be reachable or one of {', '.join(REASONS)}, not {self.reach!r}",
                               field="reach")


def _reason():
    """Why not reachable, per customer row joined to its suppression: NULL when an invitation may go."""
    return case((or_(Customer.email.is_(None), func.trim(Customer.email) == ""), NO_EMAIL),
                (Suppression.id.is_not(None), SUPPRESSED), (Customer.consent == "no", NO_CONSENT), else_=None)


def _filtered(statement, wanted: ContactFilter):
    statement = statement.outerjoin(Suppression, Suppression.email == func.lower(func.trim(Customer.email)))
    if wanted.search.strip():
        pattern = f"%{wanted.search.strip().lower()}%"
        statement = statement.where(or_(func.lower(Customer.external_id).like(pattern),
                                        func.lower(Customer.email).like(pattern)))
    if wanted.consent:
        statement = statement.where(Customer.consent == wanted.consent)
    if wanted.language:
        statement = statement.where(Customer.language == wanted.language)
    for name, values in wanted.attributes.items():
        statement = statement.where(Customer.attributes[name].as_string().in_(values))
    if wanted.reach == "reachable":
        statement = statement.where(_reason().is_(None))
    elif wanted.reach:
        statement = statement.where(_reason() == wanted.reach)
    return statement


@dataclass(frozen=True)
class ContactRow:
    id: int
    external_id: str
    email: str | None
    language: str | None
    consent: str
    consent_at: object
    consent_source: str | None
    attributes: dict
    not_reachable: str | None  # the reason in words, as `contacts.reachable` gives it


def list_contacts(db_session: Session, wanted: ContactFilter, *, page: int = 1) -> tuple[list[ContactRow], int]:
    """One page of contacts matching the filter, newest first, and how many match in all."""
    wanted.check()
    total = db_session.scalar(_filtered(select(func.count(Customer.id)).select_from(Customer), wanted)) or 0
    rows = db_session.execute(_filtered(select(Customer, Suppression.reason, Suppression.created_at)
                                        .select_from(Customer), wanted)
                              .order_by(Customer.created_at.desc(), Customer.id.desc())
                              .limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)).all()
    listed = []
    for customer, reason, suppressed_at in rows:
        why = (NO_EMAIL if not (customer.email or "").strip()
               else f"suppressed ({reason} on {suppressed_at.date().isoformat()})" if reason
               else NO_CONSENT if customer.consent == "no" else None)
        listed.append(ContactRow(customer.id, customer.external_id, customer.email, customer.language,
                                 customer.consent, customer.consent_at, customer.consent_source,
                                 customer.attributes or {}, why))
    return listed, total


def reach_counts(db_session: Session, wanted: ContactFilter) -> dict[str, int]:
    """How many contacts matching the filter are reachable, and how many are not for each reason."""
    wanted.check()
    reason = _reason().label("reason")
    counted = dict(db_session.execute(_filtered(select(reason, func.count(Customer.id)).select_from(Customer), wanted)
                                      .group_by(reason)).all())
    return {"reachable": counted.get(None, 0), **{name: counted.get(name, 0) for name in REASONS}}


def filter_options(db_session: Session) -> tuple[list[str], dict[str, list[str]]]:
    """The languages the contacts have, and each attribute's values (for the filter's selects)."""
    languages = sorted(filter(None, db_session.scalars(select(Customer.language).distinct())))
    values: dict[str, set[str]] = {}
    for attributes in db_session.scalars(select(Customer.attributes)):
        for name, value in (attributes or {}).items():
            values.setdefault(name, set()).add(str(value))
    return languages, {name: sorted(found) for name, found in sorted(values.items())}


def list_suppressions(db_session: Session, *, search: str = "", page: int | None = 1
                      ) -> tuple[list[Suppression], int]:
    """Suppressed addresses, newest first, and how many in all; every one when page is None (the CSV)."""
    statement = select(Suppression)
    if search.strip():
        statement = statement.where(Suppression.email.like(f"%{normalised_email(search)}%"))
    total = db_session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    statement = statement.order_by(Suppression.created_at.desc(), Suppression.id.desc())
    if page is not None:
        statement = statement.limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)
    return list(db_session.scalars(statement)), total


def list_samples(db_session: Session) -> list[Sample]:
    """Every recorded sample, newest first."""
    return list(db_session.scalars(select(Sample).order_by(Sample.created_at.desc(), Sample.id.desc())))


def sample_roster(db_session: Session, sample_id: int) -> list[tuple[str, str | None, str]]:
    """A sample's members as (customer id, e-mail, stratum), for its CSV."""
    return [(external_id, email, stratum or NOT_GIVEN) for external_id, email, stratum in db_session.execute(
        select(Customer.external_id, Customer.email, SampleMember.stratum)
        .join(SampleMember, and_(SampleMember.customer_id == Customer.id, SampleMember.sample_id == sample_id))
        .order_by(Customer.external_id))]
