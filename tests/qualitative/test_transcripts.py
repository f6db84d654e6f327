"""Transcript parsers: plain text, WebVTT, SRT and .docx into speaker turns, with errors that name the line."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.qualitative.transcripts import (
    MAX_DOCUMENT_XML_BYTES,
    Cue,
    TranscriptError,
    merge_turns,
    parse_transcript,
    render_plain,
    render_srt,
    render_vtt,
)

VTT = """WEBVTT
Kind: captions
Language: en

NOTE recorded on Zoom, cleaned by hand
over two lines

STYLE
::cue { color: yellow }

intro
00:00:01.000 --> 00:00:04.000 align:start
<v Moderator>Welcome &amp; thanks for coming.</v>

00:04.000 --> 00:06.500
<v.loud Anna>The app crashed
at <i>checkout</i>

00:06.500 --> 00:08.000
twice, actually.

00:00:08.000 --> 00:00:09.000
Ben: Mine came <c.yellow>late</c>.

00:00:09.000 --> 00:00:10.000
<v Anna>Same.</v><v Ben>Really?</v>
"""


def test_webvtt_voice_tags_prefixes_and_continuations_become_turns():
    found, turns = parse_transcript(VTT.encode(), "session.vtt")
    assert found == "vtt"
    assert turns == [
        Cue("Moderator", "Welcome & thanks for coming.", 1.0, 4.0),
        # a cue without a speaker continues the one before; consecutive cues of one speaker merge
        Cue("Anna", "The app crashed at checkout twice, actually.", 4.0, 8.0),
        Cue("Ben", "Mine came late.", 8.0, 9.0),
        Cue("Anna", "Same.", 9.0, 10.0),
        Cue("Ben", "Really?", 9.0, 10.0),
    ]


def test_srt_numbered_cues_with_speaker_prefixes():
    srt = ("1\r\n00:00:01,000 --> 00:00:04,000\r\nAnna: The parcel came a week late.\r\n\r\n"
           "2\r\n00:00:04,000 --> 00:00:05,500\r\n<i>and nobody told me</i>\r\n\r\n"
           "3\r\n00:00:05,500 --> 00:01:00,000\r\nBen: Same & worse.\r\n")
    assert parse_transcript(srt.encode(), "talk.SRT") == ("srt", [
        Cue("Anna", "The parcel came a week late. and nobody told me", 1.0, 5.5),
        Cue("Ben", "Same & worse.", 5.5, 60.0)])


def test_plain_text_with_optional_times_and_continuation_lines():
    text = ("\ufeff[00:00:05] Interviewer: How was the sign-up?\n"
            "\n"
            "(00:01:10) Customer 2: The payment page kept rejecting my card.\n"
            "It took three tries.\n"
            "1:02:03 Customer 2: And the login link failed.\n"
            "Interviewer: Thank you.\n")
    assert parse_transcript(text.encode(), "interview.txt") == ("txt", [
        Cue("Interviewer", "How was the sign-up?", 5.0),
        Cue("Customer 2", "The payment page kept rejecting my card. It took three tries. And the login link "
                          "failed.", 70.0),
        Cue("Interviewer", "Thank you."),
    ])


def test_a_txt_file_that_is_webvtt_is_read_as_webvtt():
    assert parse_transcript(VTT.encode(), "export.txt")[0] == "vtt"


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"1\n00:00:01 -> 00:00:02\nAnna: hi\n", "a.srt", "line 2: a cue without a time range"),
    (b"1\n00:00:01,000 --> 00:00:02,000\nAnna: hi\n\n2\nBen: hi\n", "a.srt", "line 6: a cue without a time range"),
    (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Anna>hi\n\n14\nno time\n", "a.vtt",
     "line 7: a cue without a time range"),
    (b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nnobody named\n", "a.vtt", "line 3: the first cue names no speaker"),
    (b"Anna: hi\n", "a.vtt", "line 1: a WebVTT file begins with WEBVTT"),
    (b"Thanks for coming.\nAnna: hi\n", "a.txt", "line 1: no speaker before this text"),
    (b"Anna: fine\n\xff\xfe broken\n", "a.txt", "line 2: the file is not UTF-8 text"),
    (b"Anna: hi", "notes.pdf", "unknown transcript format .pdf"),
    (b"\n\n", "empty.txt", "no speaker turns"),
    (b"not a zip", "a.docx", "not a Word document"),
])
def test_errors_name_the_line_and_what_to_do(data, name, message):
    with pytest.raises(TranscriptError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_transcript(data, name)


def docx(paragraphs: list[str], *, extra: bytes = b"") -> bytes:
    body = "".join(f"<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>" for text in paragraphs)
    xml = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + extra +
           b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' +
           body.encode() + b"</w:body></w:document>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", xml)
    return buffer.getvalue()


def test_docx_paragraphs_are_read_as_a_plain_transcript():
    data = docx(["Focus group, 20 November", "", "Moderator: What went wrong?",
                 "Anna: The app crashed &amp; I gave up.", "It was the new release."])
    # the heading has no speaker: it is refused with its paragraph number, as a line of text would be
    with pytest.raises(TranscriptError, match="paragraph 1: no speaker"):
        parse_transcript(data, "group.docx")
    found, turns = parse_transcript(docx(["Moderator: What went wrong?", "Anna: The app crashed &amp; I gave up.",
                                          "It was the new release."]), "group.docx")
    assert found == "docx"
    assert turns == [Cue("Moderator", "What went wrong?"), Cue("Anna", "The app crashed & I gave up. It was the new "
                                                                       "release.")]


def test_docx_split_runs_tabs_and_breaks():
    xml = ('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           '<w:body><w:p><w:r><w:t>An</w:t></w:r><w:r><w:t>na:</w:t></w:r><w:r><w:tab/><w:t>late</w:t></w:r>'
           '<w:r><w:br/><w:t>again</w:t></w:r></w:p></w:body></w:document>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", xml)
    assert parse_transcript(buffer.getvalue(), "a.docx")[1] == [Cue("Anna", "late again")]


def test_docx_zip_bomb_and_entities_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<a>" + b" " * (MAX_DOCUMENT_XML_BYTES + 10) + b"</a>")
    assert len(buffer.getvalue()) < 100_000  # a small file that would unpack to more than the limit
    with pytest.raises(TranscriptError, match="unpacks to"):
        parse_transcript(buffer.getvalue(), "bomb.docx")
    laughs = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    with pytest.raises(TranscriptError, match="cannot be read"):
        parse_transcript(docx(["Anna: &lol2;"], extra=laughs), "laughs.docx")
    no_document = io.BytesIO()
    with zipfile.ZipFile(no_document, "w") as archive:
        archive.writestr("other.xml", "<a/>")
    with pytest.raises(TranscriptError, match="no word/document.xml"):
        parse_transcript(no_document.getvalue(), "odd.docx")


def test_merge_keeps_the_first_start_and_the_last_end():
    assert merge_turns([Cue("A", "one", 1.0, 2.0), Cue("A", "two", 2.0, 3.0), Cue("B", "three", 3.0, 4.0),
                        Cue("B", "", 4.0, 5.0)]) == [Cue("A", "one two", 1.0, 3.0), Cue("B", "three", 3.0, 4.0)]


# -- round trips ------------------------------------------------------------------------------------------------

NAMES = st.sampled_from(["Anna", "Ben", "Customer 2", "Dr. O'Neil", "Moderator", "Zoë"])
WORDS = st.lists(st.text(alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=".,!?'&-"),
                         min_size=1, max_size=12), min_size=1, max_size=20).map(" ".join)


@st.composite
def turn_lists(draw, *, timed: bool = True):
    """Turns whose neighbours differ in speaker (as merged turns do), with increasing times."""
    count = draw(st.integers(min_value=1, max_value=12))
    turns, at, previous = [], 0.0, None
    for _ in range(count):
        speaker = draw(NAMES.filter(lambda name, before=previous: name != before))
        length = draw(st.integers(min_value=1, max_value=120_000)) / 1000
        text = draw(WORDS.filter(lambda words: not words.startswith("-")))
        start, end = (round(at, 3), round(at + length, 3)) if timed else (None, None)
        turns.append(Cue(speaker, text, start, end))
        at += length
        previous = speaker
    return turns


@settings(max_examples=60, deadline=None)
@given(turn_lists())
def test_vtt_rendered_turns_parse_back_to_themselves(turns):
    assert parse_transcript(render_vtt(turns).encode(), "round.vtt") == ("vtt", turns)


@settings(max_examples=60, deadline=None)
@given(turn_lists())
def test_srt_rendered_turns_parse_back_to_themselves(turns):
    assert parse_transcript(render_srt(turns).encode(), "round.srt") == ("srt", turns)


@settings(max_examples=60, deadline=None)
@given(turn_lists(timed=False))
def test_plain_rendered_turns_parse_back_to_themselves(turns):
    assert parse_transcript(render_plain(turns).encode(), "round.txt") == ("txt", turns)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(NAMES, WORDS), min_size=1, max_size=15))
def test_merging_never_leaves_two_neighbours_with_one_speaker_and_loses_no_word(said):
    cues = [Cue(speaker, text) for speaker, text in said]
    turns = merge_turns(cues)
    assert all(left.speaker != right.speaker for left, right in zip(turns, turns[1:]))
    assert " ".join(turn.text for turn in turns).split() == " ".join(text for _, text in said).split()


def test_docx_tables_count_and_deleted_tracked_changes_do_not():
    xml = ('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           '<w:body><w:tbl><w:tr><w:tc><w:p><w:r><w:t>Anna: the app crashed</w:t></w:r>'
           '<w:del><w:r><w:delText> at home</w:delText></w:r></w:del>'
           '<w:ins><w:r><w:t> at checkout</w:t></w:r></w:ins></w:p></w:tc></w:tr></w:tbl></w:body></w:document>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", xml)
    assert parse_transcript(buffer.getvalue(), "a.docx")[1] == [Cue("Anna", "the app crashed at checkout")]
