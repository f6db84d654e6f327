"""Redaction catches e-mail addresses, phones, cards, IBANs and secret-bearing URLs, and nothing ordinary."""

import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.text.redaction import IBAN_LENGTHS, iban_valid, luhn_valid, redact

AROUND = st.sampled_from([("Contact ", " please."), ("(", ")"), ("", ""), ("see: ", ", thanks"), ("Ça va ", " — merci")])


@st.composite
def card_numbers(draw):
    """A Luhn-valid card number with a real issuer prefix, printed solid or in groups of four."""
    prefix = draw(st.sampled_from(["4", "51", "55", "2221", "6011", "35"]))
    length = draw(st.sampled_from([16, 19] if prefix != "35" else [16]))
    body = prefix + "".join(draw(st.lists(st.sampled_from(string.digits), min_size=length - len(prefix) - 1,
                                          max_size=length - len(prefix) - 1)))
    check = next(digit for digit in string.digits if luhn_valid(body + digit))
    number = body + check
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(number[i:i + 4] for i in range(0, len(number), 4)) if separator else number


@st.composite
def ibans(draw):
    """A valid IBAN: a real country length, random BBAN, check digits 98 − (BBAN + country + 00) mod 97."""
    country = draw(st.sampled_from(sorted(IBAN_LENGTHS)))
    bban = "".join(draw(st.lists(st.sampled_from(string.digits + string.ascii_uppercase),
                                 min_size=IBAN_LENGTHS[country] - 4, max_size=IBAN_LENGTHS[country] - 4)))
    rearranged = "".join(str(int(char, 36)) for char in bban + country + "00")
    iban = f"{country}{98 - int(rearranged) % 97:02d}{bban}"
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if draw(st.booleans()) else iban


def redacted_once(value, kind, around):
    before, after = around
    result = redact(f"{before}{value}{after}")
    assert result.text == f"{before}[{kind}]{after}"
    assert [(item.kind, item.start, item.end) for item in result.found] == [(kind, len(before), len(before) + len(value))]


@given(st.emails(), AROUND)
def test_every_email_address_is_redacted_and_the_text_around_it_kept(email, around):
    redacted_once(email, "email", around)


@given(card_numbers(), AROUND)
def test_every_valid_card_number_is_redacted(card, around):
    redacted_once(card, "card", around)


@given(ibans(), AROUND)
def test_every_valid_iban_is_redacted(iban, around):
    assert iban_valid(iban.replace(" ", ""))
    redacted_once(iban, "iban", around)


def test_the_textbook_iban_and_card_checks():
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")


@pytest.mark.parametrize("phone", [
    "+44 20 7946 0958", "+1 (555) 123-4567", "+33 1 23 45 67 89", "+49 30 1234567", "+4915123456789",
    "0044 20 7946 0958", "+44 (0)20 7946 0958", "(555) 123-4567", "555-123-4567", "020 7946 0958", "06 12 34 56 78",
    "07700 900123",
])
def test_phone_numbers_in_international_and_national_formats_are_redacted(phone):
    redacted_once(phone, "phone", ("Call me on ", " tomorrow."))


@pytest.mark.parametrize("url", [
    "https://shop.example.com/account/reset?token=abc123",
    "https://example.com/login?user=anna&password=hunter2",
    "http://example.com/unsubscribe/9f8e7d6c5b4a39281716ab",
    "https://example.com/s/123e4567-e89b-12d3-a456-426614174000",
    "https://api.example.com/v1?api_key=XYZ",
    "https://anna:secret@example.com/",
])
def test_urls_carrying_secrets_are_redacted_whole(url):
    redacted_once(url, "url", ("The link ", ". did not work"))


@pytest.mark.parametrize("ordinary", [
    "I paid $1,234.56 (or €1.234,56) for 3 orders and waited 45 minutes.",
    "Delivered on 2023-05-06, ordered 05/06/2023, invoiced 01.02.2023 at 10:30, 07-05-2023.",
    "Customer since 2019; we were there in 2019 2020 and 2021.",
    "Order 1234567890123 and order #123456789 and 4111111111111112 are still missing.",
    "£19.99 x 12, 1 000 000 customers, version 2.3.4, 10-20 days, 0.5 kg, +5% price, room 101.",
    "See https://shop.example.com/products/air-zoom-40-running-shoe?color=blue for the shoe.",
    "The helpline is open 9-17 and my store number is 0042.",
])
def test_ordinary_numbers_and_links_are_left_alone(ordinary):
    assert redact(ordinary).text == ordinary


def test_several_kinds_in_one_comment_are_each_redacted_in_place():
    text = "Mail anna@example.com or call +44 20 7946 0958; card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32."
    result = redact(text)
    assert result.text == "Mail [email] or call [phone]; card [card], IBAN [iban]."
    assert [item.kind for item in result.found] == ["email", "phone", "card", "iban"]


def test_an_email_inside_a_secret_url_is_redacted_once_as_the_url():
    assert redact("go to https://x.example/reset?email=a@b.com&token=1").text == "go to [url]"


def test_long_hostile_input_is_redacted_quickly():
    hostile = "a" * 5000 + "@" + "b" * 5000 + " " + "1-" * 3000 + " +" + "9" * 5000 + " https://x.io/" + "c" * 5000
    start = time.perf_counter()
    redact(hostile)
    assert time.perf_counter() - start < 1
