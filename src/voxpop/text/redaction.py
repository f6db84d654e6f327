"""Personal-data redaction: e-mail addresses, phone numbers, payment cards, IBANs and URLs carrying secrets.

Each detector finds spans in the original text; the first detector to claim a character wins, in the order of
DETECTORS, so an e-mail address inside a URL is redacted once, as a URL. Placeholders are typed (`[email]`)
and replace exactly the span, so the words and punctuation around it stay as they were.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class PersonalData:
    """One span of personal data in the original text: its kind and [start, end) offsets."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Redaction:
    """The redacted text and the personal data found in the original (offsets into the original)."""

    text: str
    found: tuple[PersonalData, ...]


EMAIL = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?![\w-]|\.\w)"
)
# 13–19 digits written solid, in groups of four (the last group shorter), or in the 4-6-5 / 4-6-4 grouping of
# American Express and Diners Club; ISO/IEC 7812 major industry identifiers 2–6 are the payment cards.
CARD = re.compile(
    r"(?<![\w.,-])[2-6](?:\d{12,18}|\d{3}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{3}([ -])\d{6}\2\d{4,5})"
    r"(?![\w-]|[.,]\d)"
)
IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(\d{2})(?= ?[A-Z0-9])", re.IGNORECASE)
# International: + or 00, a country code, then groups (a lone digit only right after the country code, as in
# +33 1 23 45 67 89). National: a trunk 0 or an area code in parentheses, or the North American 3-3-4 shape.
PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .-]?\(0\))?[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,5}){1,5}(?![\w-]|[.,]\d)"
    r"|(?<![\w.,-])(?:\(\d{2,5}\)[ .-]?|0\d{1,4}[ .-])\d{2,8}(?:[ .-]\d{2,8}){0,3}(?![\w-]|[.,]\d)"
    r"|(?<![\w.,-])[2-9]\d{2}([.-])\d{3}\1\d{4}(?![\w-]|[.,]\d)"
)
DATE = re.compile(r"\d{1,4}([./-])\d{1,2}\1\d{1,4}\b")
URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
URL_TRAILING_PUNCTUATION = ".,;:!?)]}'\""
SECRET_PARAMETERS = frozenset(
    ["token", "access_token", "refresh_token", "id_token", "auth", "key", "api_key", "apikey", "secret", "client_secret", "password", "passwd", "pwd", "sig", "signature", "session", "sessionid", "session_id", "sid", "code", "otp", "reset", "reset_token", "invite", "invitation", "ticket"]
)
# A path or query value that looks generated: a JWT, a UUID, or a run of 16+ characters mixing letters and
# digits (hex, base64). Hyphens split words, so a product slug such as "air-zoom-40-running" is not a secret.
SECRET_VALUE = re.compile(
    r"eyJ[\w-]+\.|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|(?<![a-z0-9~+/=])(?=[a-z0-9~+/=]*\d)(?=[a-z0-9~+/=]*[a-z])[a-z0-9~+/=]{16,}",
    re.IGNORECASE,
)

# ISO 13616 IBAN length by country, from the SWIFT IBAN registry.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def luhn_valid(digits: str) -> bool:
    """Luhn mod-10 check digit test (ISO/IEC 7812-1, annex B)."""
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """ISO 13616 check: country length, then ISO 7064 MOD 97-10 of the rearranged IBAN equals 1."""
    iban = iban.upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban.isalnum():
        return False
    return int("".join(str(int(char, 36)) for char in iban[4:] + iban[:4])) % 97 == 1


def find_emails(text: str) -> Iterator[tuple[int, int]]:
    """Spans of e-mail addresses."""
    if "@" in text:
        yield from (match.span() for match in EMAIL.finditer(text))


def find_cards(text: str) -> Iterator[tuple[int, int]]:
    """Spans of payment card numbers that pass the Luhn check (an order number that fails it stays)."""
    for match in CARD.finditer(text):
        if luhn_valid(re.sub(r"\D", "", match.group())):
            yield match.span()


def find_ibans(text: str) -> Iterator[tuple[int, int]]:
    """Spans of IBANs, compact or in groups of four, that pass the mod-97 check."""
    for match in IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(match.group(1).upper())
        if length is None:
            continue
        end, characters = match.start(), []
        # Walk the exact length the country needs, so a following word is never swallowed.
        while len(characters) < length and end < len(text):
            char = text[end]
            if char.isascii() and char.isalnum():
                characters.append(char)
            elif not (char == " " and characters and end + 1 < len(text) and text[end + 1].isalnum()):
                break
            end += 1
        followed_by_word = end < len(text) and text[end].isalnum()
        if len(characters) == length and not followed_by_word and iban_valid("".join(characters)):
            yield match.start(), end


def find_phones(text: str) -> Iterator[tuple[int, int]]:
    """Spans of phone numbers: international (+, 00) with 7–15 digits (ITU-T E.164), national with 9–15."""
    for match in PHONE.finditer(text):
        candidate = match.group()
        international = candidate.startswith(("+", "00"))
        digits = sum(char.isdigit() for char in candidate)
        # A national number and a date share shapes such as 01-02-2023; the date wins.
        if (7 if international else 9) <= digits <= 15 and (international or not DATE.match(candidate)):
            yield match.span()


def find_secret_urls(text: str) -> Iterator[tuple[int, int]]:
    """Spans of URLs whose query or path carries a token, key, password or other secret."""
    if "://" not in text and "www." not in text.lower():
        return
    for match in URL.finditer(text):
        url = match.group().rstrip(URL_TRAILING_PUNCTUATION)
        if carries_secret(url):
            yield match.start(), match.start() + len(url)


def carries_secret(url: str) -> bool:
    """Whether a URL has a secret-named query parameter, user info, or a generated-looking value."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    if "@" in parts.netloc:
        return True
    query = parse_qsl(parts.query + "&" + parts.fragment, keep_blank_values=True)
    if any(name.lower() in SECRET_PARAMETERS for name, _ in query):
        return True
    values = [value for _, value in query] + parts.path.split("/")
    return any(SECRET_VALUE.search(value) for value in values)


DETECTORS: tuple[tuple[str, Callable[[str], Iterator[tuple[int, int]]]], ...] = (
    ("url", find_secret_urls),
    ("email", find_emails),
    ("iban", find_ibans),
    ("card", find_cards),
    ("phone", find_phones),
)


def find_personal_data(text: str) -> tuple[PersonalData, ...]:
    """Non-overlapping personal-data spans in text order; earlier detectors win overlaps."""
    found: list[PersonalData] = []
    for kind, detect in DETECTORS:
        for start, end in detect(text):
            if all(end <= other.start or start >= other.end for other in found):
                found.append(PersonalData(kind, start, end))
    return tuple(sorted(found, key=lambda item: item.start))


def redact(text: str) -> Redaction:
    """Replace each piece of personal data with its typed placeholder, such as `[email]`."""
    found = find_personal_data(text)
    pieces, position = [], 0
    for item in found:
        pieces += [text[position:item.start], f"[{item.kind}]"]
        position = item.end
    pieces.append(text[position:])
    return Redaction("".join(pieces), found)
