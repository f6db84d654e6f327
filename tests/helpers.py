"""Small builders the tests share: a survey from YAML text, a staff user, a logged-in client, the real-data folder,
a damaged Parquet file."""

from __future__ import annotations

import os
import re
from pathlib import Path

from voxpop.accounts import service as accounts
from voxpop.surveys import service as surveys

PASSWORD = "correct horse battery"

REPOSITORY = Path(__file__).resolve().parents[1]
# The real export files live outside the repository and are never copied into it: by default in a `shared`
# checkout beside it.
DEFAULT_REAL_DATA = "../shared/data/real"


def real_data_dir() -> Path:
    """The folder of real export files: VOXPOP_REAL_DATA, or the default, relative to the repository root."""
    return (REPOSITORY / (os.environ.get("VOXPOP_REAL_DATA") or DEFAULT_REAL_DATA)).resolve()


FEEDBACK_SURVEY = """
key: feedback
title: {en: "How did we do?", de: "Wie war es?"}
status: live
languages: [en, de]
attributes: [channel, segment]
questions:
  - key: nps
    kind: nps
    required: true
    text: {en: "How likely are you to recommend us?", de: "Wie wahrscheinlich empfehlen Sie uns?"}
  - key: why_low
    kind: text
    show_if: {question: nps, lte: 6}
    text: {en: "What disappointed you?", de: "Was hat Sie enttäuscht?"}
  - key: why_high
    kind: text
    show_if: {question: nps, gte: 9}
    text: {en: "What did you like most?", de: "Was hat Ihnen gefallen?"}
  - key: csat
    kind: csat
    text: {en: "How satisfied are you?", de: "Wie zufrieden sind Sie?"}
  - key: ease
    kind: ces
    ces_version: "2.0"
    text: {en: "It was easy to order.", de: "Die Bestellung war einfach."}
  - key: bought
    kind: multiple_choice
    text: {en: "What did you buy?", de: "Was haben Sie gekauft?"}
    options:
      - {value: shoes, label: {en: Shoes, de: Schuhe}}
      - {value: tents, label: {en: Tents, de: Zelte}}
"""


def damaged_parquet(path: Path) -> Path:
    """A Parquet file (a score and a segment, 300,000 rows) whose footer reads, so that it opens, but a data page
    in the middle does not."""
    import pandas as pd

    pd.DataFrame({"score": [str(i % 11) for i in range(300_000)],
                  "segment": [f"s{i % 4}" for i in range(300_000)]}).to_parquet(path, row_group_size=50_000)
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 2000] = bytes(2000)
    path.write_bytes(bytes(data))
    return path


def apply_survey(db, source: str = FEEDBACK_SURVEY, **changes):
    definition = surveys.parse_definition(source, source="test")
    if changes:
        definition = definition.model_copy(update=changes)
    with db.write() as db_session:
        return surveys.apply(db_session=db_session, definition=definition)


def make_user(db, role: str = "viewer", email: str | None = None) -> str:
    email = email or f"{role}@example.com"
    with db.write() as db_session:
        accounts.create_user(db_session=db_session, email=email, password=PASSWORD, role=role)
    return email


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_token_from(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def login(client, email: str, password: str = PASSWORD):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password}, follow_redirects=False)
