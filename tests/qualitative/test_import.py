"""Importing a transcript: participants linked, turns redacted and analysed by the text pipeline, all or nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.qualitative.conftest import import_focus_group
from voxpop.customers.models import Customer
from voxpop.qualitative import service
from voxpop.qualitative.models import Participant, QualitativeSource, Turn, TurnTheme
from voxpop.qualitative.voices import session, turn_tags
from voxpop.text.codebooks import save_codebook
from voxpop.text.pipeline import analyze_comment
from voxpop.text.service import PIPELINE_VERSION


def test_a_focus_group_imports_with_its_participants_linked(db, focus_group):
    assert focus_group.key == "2026-11-20-app-release-focus-group"
    assert (focus_group.kind, focus_group.file_format, focus_group.turns, focus_group.participants) == \
        ("focus_group", "vtt", 4, 3)
    assert focus_group.redacted_turns == 1
    with db.read() as db_session:
        people = {person.label: (person.role, person.customer_id, person.segment)
                  for person in db_session.scalars(select(Participant))}
        anna_id = db_session.scalar(select(Customer.id).where(Customer.external_id == "NW-000001"))
    assert people == {"Moderator": ("moderator", None, None),
                      "Anna": ("participant", anna_id, "consumer"),  # the linked customer's segment
                      "Ben": ("participant", None, "business"), "Cara": ("participant", None, None)}


def test_turns_are_redacted_and_analysed_as_the_text_pipeline_analyses_a_comment(db, focus_group):
    with db.read_connection() as connection:
        found = session(connection, focus_group.key)
    by_speaker = {turn.speaker: turn for turn in found.turns}
    ben = by_speaker["Ben"]
    assert "0161" not in ben.text and "[phone]" in ben.text and ben.personal_data == ("phone",)
    expected = analyze_comment("My parcel arrived five days late and nobody told me. Call me on 0161 496 0000 if you "
                               "want details.")
    assert ben.text == expected.text
    assert ben.sentiment_score == pytest.approx(expected.sentiment.score) and ben.language == expected.language.code
    assert {tag.theme for tag in ben.themes} == {tag.theme for tag in expected.tags} >= {"delivery", "delivery.late"}
    assert {tag.theme for tag in by_speaker["Anna"].themes} >= {"app_website"}
    assert by_speaker["Anna"].sentiment_label == "negative" and (ben.start, ben.end) == (12.0, 15.0)
    moderator = by_speaker["Moderator"]
    assert moderator.themes == () and moderator.sentiment_label is None
    assert moderator.no_sentiment_reason == service.NOT_SCORED
    assert found.theme_counts["delivery"] == 1 and found.theme_counts["app_website"] == 1
    with db.read() as db_session:
        assert set(db_session.scalars(select(Turn.pipeline_version))) == {PIPELINE_VERSION}


def test_filters_by_theme_and_speaker(db, focus_group):
    with db.read_connection() as connection:
        assert [turn.speaker for turn in session(connection, focus_group.key, theme="delivery").turns] == ["Ben"]
        assert [turn.speaker for turn in session(connection, focus_group.key, speaker="Anna").turns] == ["Anna"]
        assert session(connection, focus_group.key, theme="price").turns == []


def test_the_same_title_and_day_gets_a_numbered_key(db, focus_group):
    again = import_focus_group(db, customers=False)
    assert again.key == focus_group.key + "-2"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"participants": {"Zed": service.ParticipantLink(customer="NW-000001")}}, "participants",
     "'Zed' does not speak in this transcript; its speakers are Moderator, Anna, Ben, Cara"),
    ({"participants": {"Anna": service.ParticipantLink(customer="NW-404")}}, "participants",
     "no customer has the id 'NW-404'"),
    ({"kind": "survey"}, "kind", "the kind must be focus-group or interview"),
    ({"moderator": "Priya Shah"}, "moderator", "the moderator 'Priya Shah' does not speak in this transcript"),
    ({"title": "  "}, "title", "give the session a title"),
    ({"data": "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Anna>hi\n\n14\nno time range\n"}, "file",
     "line 7: a cue without a time range"),
])
def test_a_refused_import_names_the_field_and_stores_nothing(db, changes, field, message):
    with pytest.raises(service.SourceRefused, match=message) as refused:
        import_focus_group(db, **changes)
    assert refused.value.field == field
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(QualitativeSource)) == 0
        assert db_session.scalar(select(func.count()).select_from(Turn)) == 0


@pytest.mark.parametrize(("lines", "message"), [
    (["Anna"], "participant 1 \\('Anna'\\): write it as Label=CUSTOMER-ID"),
    (["Anna=NW-1", "Anna=NW-2"], "mapped twice"),
    (["Ben=segment: "], "name the segment"),
])
def test_participant_mappings_are_checked(lines, message):
    with pytest.raises(service.SourceRefused, match=message):
        service.parse_participants(lines)


def test_corrections_are_kept_when_turns_are_analysed_again_with_a_new_codebook(db, focus_group):
    with db.read() as db_session:
        ben = db_session.scalar(select(Turn.id).join(Participant).where(Participant.label == "Ben"))
        cara = db_session.scalar(select(Turn.id).join(Participant).where(Participant.label == "Cara"))
    with db.write() as db_session:
        service.correct_turn_theme(db_session, turn_id=ben, theme="delivery.late", present=False, user_id=None)
        service.correct_turn_theme(db_session, turn_id=cara, theme="quality", present=True, user_id=None)
    with db.read_connection() as connection:
        tags = turn_tags(connection, [ben, cara])
    assert "delivery.late" not in {tag.theme for tag in tags[ben]} and "delivery" in {tag.theme for tag in tags[ben]}
    assert ("quality", "correction") in {(tag.theme, tag.source) for tag in tags[cara]}
    # A new codebook version: the turns it has not tagged yet are outdated, and refreshed without losing corrections.
    with db.write() as db_session:
        save_codebook(db_session, "themes:\n- key: delivery\n  phrases: [parcel]\n- key: quality\n  phrases: [broken]\n",
                      base_version=0)
    with db.write() as db_session:
        assert service.count_outdated(db_session) == 4
        assert service.refresh_turns(db_session) == 4
        assert service.count_outdated(db_session) == 0
    with db.read_connection() as connection:
        tags = turn_tags(connection, [ben, cara])
        assert {tag.theme for tag in tags[ben]} == {"delivery"}
        assert {(tag.theme, tag.source) for tag in tags[cara]} == {("quality", "correction")}
    with db.read() as db_session:
        assert db_session.scalar(select(Turn.personal_data).where(Turn.id == ben)) == ["phone"]  # still recorded
        assert db_session.scalar(select(func.count()).select_from(TurnTheme).where(TurnTheme.theme == "staff")) == 0


def test_delete_removes_the_session_and_everything_in_it(db, focus_group):
    with db.write() as db_session:
        assert service.delete_source(db_session, focus_group.key)
        assert not service.delete_source(db_session, focus_group.key)
    with db.read() as db_session:
        for table in (QualitativeSource, Participant, Turn, TurnTheme):
            assert db_session.scalar(select(func.count()).select_from(table)) == 0


def test_an_interview_in_plain_text_with_an_interviewer(db):
    text = ("[00:00:03] Interviewer: How did the sign-up go?\n"
            "[00:00:09] Dana: The payment page kept rejecting my card, and my e-mail dana@example.com got two "
            "verification links.\nIt took an hour.\n")
    with db.write() as db_session:
        imported = service.import_transcript(db_session, data=text.encode(), filename="dana.txt", kind="interview",
                                             title="Interview with Dana", held_on=date(2026, 11, 24))
    assert (imported.kind, imported.participants, imported.turns, imported.redacted_turns) == ("interview", 1, 2, 1)
    with db.read_connection() as connection:
        dana = session(connection, imported.key, speaker="Dana").turns[0]
    assert "dana@example.com" not in dana.text and dana.text.endswith("It took an hour.") and dana.start == 9.0


def test_the_worker_step_retags_turns_only_when_the_codebook_changed(db, focus_group):
    from voxpop.qualitative.worker import refresh_outdated

    assert refresh_outdated(db) == 0
    with db.write() as db_session:
        save_codebook(db_session, "themes:\n- key: delivery\n  phrases: [parcel]\n", base_version=0)
    assert refresh_outdated(db) == 4
    assert refresh_outdated(db) == 0
    with db.read_connection() as connection:
        assert set(session(connection, focus_group.key).theme_counts) == {"delivery"}
