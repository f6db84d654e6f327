"""A small focus group and survey comments on the same themes, stored on the test's backend."""

from __future__ import annotations

from datetime import date

import pytest

from voxpop.customers.models import Customer
from voxpop.qualitative import service

FOCUS_GROUP = """WEBVTT

NOTE App release focus group, Manchester

00:00:01.000 --> 00:00:05.000
<v Moderator>Welcome. What happened with the app after the update?</v>

00:00:05.000 --> 00:00:12.000
<v Anna>The app crashed at checkout, twice, after the update. So frustrating.</v>

00:00:12.000 --> 00:00:15.000
<v Ben>My parcel arrived five days late and nobody told me. Call me on 0161 496 0000 if you want details.</v>

00:00:15.000 --> 00:00:18.000
<v Cara>&lt;script&gt;alert('x')&lt;/script&gt; Lovely, helpful staff in the Leeds store.</v>
"""


def import_focus_group(db, *, data: str = FOCUS_GROUP, filename: str = "group.vtt", **changes):
    with db.write() as db_session:
        if changes.pop("customers", True):
            db_session.add_all([Customer(external_id="NW-000001", attributes={"segment": "consumer"}),
                                Customer(external_id="NW-000002", attributes={"segment": "business"})])
            db_session.flush()
        arguments = {"kind": "focus-group", "title": "App release focus group", "held_on": date(2026, 11, 20),
                     "moderator": "Moderator",
                     "participants": service.parse_participants(["Anna=NW-000001", "Ben=segment:business"])}
        return service.import_transcript(db_session, data=data.encode(), filename=filename,
                                         **(arguments | changes))


@pytest.fixture
def focus_group(db):
    return import_focus_group(db)
