"""Finding the customer a privacy request is about: by external id, e-mail address or voxpop's number."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from voxpop.customers.contacts import normalised_email
from voxpop.customers.models import Customer

SEARCH_LIMIT = 20


class PrivacyError(ValueError):
    """A request about a customer's data that cannot be done as asked; the message says what to do, `status` is
    the HTTP status that fits (404: no such customer, 409: already erased, 422: not confirmed)."""

    def __init__(self, message: str, *, status: int = 422):
        super().__init__(message)
        self.status = status


def find_customer(db_session: Session, reference: str) -> Customer:
    """The customer a person named: by external id, then e-mail address, then voxpop's own number."""
    wanted = reference.strip()
    if not wanted:
        raise PrivacyError("give a customer's external id, e-mail address or number")
    found = db_session.scalar(select(Customer).where(Customer.external_id == wanted))
    if found is not None:
        return found
    if "@" in wanted:
        matches = list(db_session.scalars(select(Customer).where(
            func.lower(func.trim(Customer.email)) == normalised_email(wanted)).order_by(Customer.id).limit(3)))
        if len(matches) > 1:
            numbers = ", ".join(str(customer.id) for customer in matches)
            raise PrivacyError(f"several customers have the address {wanted} (numbers {numbers}); give one's number")
        if matches:
            return matches[0]
    if wanted.isascii() and wanted.isdigit() and int(wanted) < 2**31:  # '²'.isdigit() is True, int('²') fails
        found = db_session.get(Customer, int(wanted))
        if found is not None:
            return found
    raise PrivacyError(f"no customer has the external id, e-mail address or number {wanted}", status=404)


def get_customer(db_session: Session, customer_id: int) -> Customer:
    """The customer with voxpop's number `customer_id`, or a PrivacyError saying there is none."""
    customer = db_session.get(Customer, customer_id)
    if customer is None:
        raise PrivacyError(f"there is no customer number {customer_id}", status=404)
    return customer


def search_customers(db_session: Session, words: str, *, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """Customers whose external id or e-mail address contains the words, exact matches first."""
    wanted = words.strip()
    if not wanted:
        return []
    lowered = wanted.lower()
    exact = or_(Customer.external_id == wanted, func.lower(Customer.email) == lowered)
    return list(db_session.scalars(select(Customer).where(or_(
        Customer.external_id.contains(wanted, autoescape=True),
        func.lower(Customer.email).contains(lowered, autoescape=True)))
        .order_by(exact.desc(), Customer.external_id).limit(limit)))
