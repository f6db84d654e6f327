"""The demo's focus group and interviews, imported through the importer onto demo-like customers (not the whole
demo workspace, which is slow)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import insert

from tests.helpers import make_user
from voxpop.customers.models import Customer
from voxpop.demo.qualitative import add_sources
from voxpop.qualitative.views import session_detail, source_list
from voxpop.qualitative.voices import session_side
from voxpop.text.codebooks import current_codebook

NOW = datetime(2026, 12, 7, 9, tzinfo=timezone.utc)
SEGMENTS = ["consumer"] * 7 + ["business"] * 2 + ["premium"]


def test_the_demo_sources_are_real_transcripts_linked_to_customers_and_themed_like_the_comments(db):
    make_user(db, "analyst", "analyst@northwind.example")
    with db.write() as db_session:
        db_session.execute(insert(Customer), [{"external_id": f"NW-{number:06d}", "email": None,
                                               "attributes": {"segment": SEGMENTS[number % 10]}}
                                              for number in range(1, 9001)])
    with db.write() as db_session:
        line = add_sources(db_session, now=NOW, zone="Europe/London", seed=7)
    assert line == "qualitative sources: a focus group and 2 interviews, 29 turns"
    with db.read_connection() as connection:
        listed = source_list(connection).sources
        assert [(source.kind, source.file_format) for source in listed] == [
            ("interview", "srt"), ("interview", "txt"), ("focus_group", "vtt")]
        assert all(source.imported_by == "analyst@northwind.example" for source in listed)
        focus = session_detail(connection, listed[2].key, theme=None, speaker=None,
                               codebook=current_codebook(connection).codebook)
        people = {person.label: person for person in focus.participants}
        assert people["Priya"].role == "moderator" and len(people) == 6
        assert people["Jonas"].segment == "business" and people["Jonas"].customer.startswith("NW-")
        assert people["Lena"].segment == "premium"
        texts = " ".join(turn.text for turn in focus.turns)
        assert "07700" not in texts and "aisha.k@example.com" not in texts and "[phone]" in texts
        assert {theme.theme for theme in focus.themes} >= {"app_website", "delivery", "delivery.late", "staff"}
        late = session_side(connection, "delivery.late")
        assert (late.sessions, late.participants) == (2, 2)  # the focus group and the December interview
    with db.write() as db_session:  # the same seed gives the same sources
        again = add_sources(db_session, now=NOW, zone="Europe/London", seed=7)
    assert again == line
    with db.read_connection() as connection:
        keys = [source.key for source in source_list(connection).sources]
        first, second = (session_detail(connection, key, theme=None, speaker=None,
                                        codebook=current_codebook(connection).codebook) for key in keys[:2])
    assert [participant.customer for participant in first.participants] == \
        [participant.customer for participant in second.participants]
    assert [turn.text for turn in first.turns] == [turn.text for turn in second.turns]
