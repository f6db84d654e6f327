"""Reading transcripts into speaker turns: plain text, WebVTT, SRT and Word (.docx). Pure: bytes in, turns out.

Each format gives cues (who said what, and when, when the file says so); consecutive cues of one speaker are
merged into one turn, as a reader of the transcript would see it. An error names the line (or the paragraph of a
.docx) and says what to change.

- Plain text: "Speaker: words" lines, optionally after a time such as "[00:01:23]" or "00:01:23"; a line that
  names no speaker continues the turn before it.
- WebVTT: cues with a time range; the speaker from a voice tag (`<v Anna>`) or a "Anna: " prefix; NOTE, STYLE
  and REGION blocks are skipped; a cue that names nobody continues the previous speaker.
- SRT: numbered cues with a time range ("00:00:01,000 --> 00:00:04,000") and a "Anna: " prefix.
- .docx: the paragraphs of word/document.xml, read as plain text. A .docx is a zip, so its sizes are checked
  before anything is unpacked, and its XML is parsed without entities (defusedxml).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import PurePath

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

MAX_TRANSCRIPT_BYTES = 5_000_000  # a two-hour focus group is about 150 kB of text
MAX_DOCUMENT_XML_BYTES = 20_000_000  # word/document.xml once unpacked: the zip-bomb guard
MAX_ZIP_RATIO = 100  # unpacked against packed; Word's XML packs about 10:1
MAX_SPEAKER = 60  # characters of a speaker label
FORMATS = {".txt": "txt", ".text": "txt", ".vtt": "vtt", ".srt": "srt", ".docx": "docx"}
WORD = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


class TranscriptError(ValueError):
    """A transcript that cannot be read, with where and why."""


@dataclass(frozen=True)
class Cue:
    """What one speaker said in one go; times in seconds from the start of the recording, when known."""

    speaker: str
    text: str
    start: float | None = None
    end: float | None = None


# -- times ----------------------------------------------------------------------------------------------------

CUE_TIME = r"(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)[.,](\d{3})"
TIME_RANGE = re.compile(rf"^\s*{CUE_TIME}\s*-->\s*{CUE_TIME}(?:\s+.*)?$")
CLOCK = r"(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)(?:[.,](\d{1,3}))?"


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    # Counted in whole milliseconds, then divided once, so 00:00:01.469 is 1.469 exactly as Python prints it.
    millis = (int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)) * 1000 + int((fraction or "0").ljust(3, "0"))
    return millis / 1000


def _time_range(line: str) -> tuple[float, float] | None:
    match = TIME_RANGE.match(line)
    if match is None:
        return None
    groups = match.groups()
    return _seconds(*groups[:4]), _seconds(*groups[4:])


def clock(seconds: float, *, separator: str = ".") -> str:
    """Seconds as a cue time, 00:01:23.450 (SRT writes a comma)."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


# -- speakers -------------------------------------------------------------------------------------------------

# "Anna: ", "Speaker 2: ", "Dr. Ben O'Neil: ", "- Anna: ": up to five words of letters, digits and name marks,
# beginning with a letter; "Note: ..." in a continuation would read as a speaker, so labels are short.
SPEAKER = re.compile(r"^\s*(?:-\s*)?(?P<speaker>[^\W\d_][\w.'’()\-]*(?: [\w.'’()\-]+){0,4})\s*:\s+(?P<text>.*)$")
PLAIN_TIME = re.compile(rf"^\s*(?:\[\s*{CLOCK}\s*\]|\(\s*{CLOCK}\s*\)|{CLOCK})\s*(?P<rest>.*)$")


def split_speaker(line: str) -> tuple[str | None, str]:
    """("Anna", "words") from "Anna: words", or (None, line) when the line names no speaker."""
    match = SPEAKER.match(line)
    if match is None or len(match.group("speaker")) > MAX_SPEAKER or "://" in line[:match.end("speaker") + 3]:
        return None, line.strip()
    return match.group("speaker").strip(), match.group("text").strip()


def _plain_time(line: str) -> tuple[float | None, str]:
    match = PLAIN_TIME.match(line)
    if match is None:
        return None, line
    groups = match.groups()
    for at in (0, 4, 8):
        if groups[at + 1] is not None:
            return _seconds(*groups[at:at + 4]), match.group("rest")
    return None, line  # pragma: no cover - one of the three alternatives matched


# -- plain text -----------------------------------------------------------------------------------------------

def parse_plain(text: str, *, unit: str = "line") -> list[Cue]:
    """Cues from "Speaker: words" lines; `unit` names what an error points at (a .docx has paragraphs)."""
    cues: list[Cue] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        start, rest = _plain_time(line)
        speaker, words = split_speaker(rest)
        if speaker is not None:
            cues.append(Cue(speaker, words, start))
        elif not cues:
            raise TranscriptError(f"{unit} {number}: no speaker before this text; begin the first turn with the "
                                  "speaker's name and a colon, e.g. \"Anna: I ordered on Monday\"")
        elif words:
            previous = cues[-1]
            cues[-1] = replace(previous, text=f"{previous.text} {words}".strip())
    return cues


# -- WebVTT ---------------------------------------------------------------------------------------------------

VOICE = re.compile(r"<v(?:\.[\w.\-]+)?\s+([^>]+)>(.*?)(?:</v>|(?=<v[\s.])|$)", re.DOTALL)
TAG = re.compile(r"</?[^>]*>")


def _blocks(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks, each with the number of its first line."""
    blocks, current, first = [], [], 0
    for number, line in enumerate(lines, start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            blocks.append((first, current))
            current = []
    if current:
        blocks.append((first, current))
    return blocks


def _payload_cues(payload: str, start: float, end: float, previous: str | None, where: str, *,
                  entities: bool = True) -> list[Cue]:
    """The cues of one cue's text: one per voice span (WebVTT), else a "Speaker: " prefix, else the previous
    speaker. WebVTT escapes &, < and > as character references (`entities`); SRT has none."""
    voices = VOICE.findall(payload) if entities else []
    if voices:
        return [Cue(" ".join(html.unescape(speaker).split()), _plain_payload(words), start, end)
                for speaker, words in voices if _plain_payload(words)]
    speaker, words = split_speaker(_plain_payload(payload, entities=entities))
    if speaker is None:
        if previous is None:
            raise TranscriptError(f"{where}: the first cue names no speaker; give it a voice tag (<v Anna>) or "
                                  "begin its text with the speaker's name and a colon")
        speaker = previous
    return [Cue(speaker, words, start, end)] if words else []


def _plain_payload(payload: str, *, entities: bool = True) -> str:
    """Cue text without markup (<c>, <i>, inner timestamps), with character references resolved (WebVTT)."""
    text = TAG.sub("", payload)
    return " ".join((html.unescape(text) if entities else text).split())


def parse_vtt(text: str) -> list[Cue]:
    lines = text.splitlines()
    if not lines or not lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise TranscriptError("line 1: a WebVTT file begins with WEBVTT; this is not one (save it as .txt if it is "
                              "a plain transcript)")
    cues: list[Cue] = []
    for first, block in _blocks(lines):
        if first == 1 or block[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing_at = 0 if "-->" in block[0] else 1
        times = _time_range(block[timing_at]) if len(block) > timing_at else None
        if times is None:
            raise TranscriptError(f"line {first + timing_at}: a cue without a time range; a cue's first line (after "
                                  "an optional identifier) is like 00:01:02.000 --> 00:01:05.500")
        previous = cues[-1].speaker if cues else None
        cues += _payload_cues("\n".join(block[timing_at + 1:]), *times, previous, f"line {first}")
    return cues


# -- SRT ------------------------------------------------------------------------------------------------------

def parse_srt(text: str) -> list[Cue]:
    cues: list[Cue] = []
    for first, block in _blocks(text.lstrip("\ufeff").splitlines()):
        timing_at = 1 if block[0].strip().isdigit() else 0
        times = _time_range(block[timing_at]) if len(block) > timing_at else None
        if times is None:
            raise TranscriptError(f"line {first + timing_at}: a cue without a time range; an SRT cue is a number, "
                                  "then a line like 00:01:02,000 --> 00:01:05,500, then its text")
        previous = cues[-1].speaker if cues else None
        cues += _payload_cues("\n".join(block[timing_at + 1:]), *times, previous, f"line {first}", entities=False)
    return cues


# -- Word -----------------------------------------------------------------------------------------------------

def docx_text(data: bytes) -> str:
    """The paragraphs of a .docx's main document, one per line (tabs and line breaks kept as spaces)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise TranscriptError("the .docx file is not a Word document (it is not a zip archive); save it again "
                              "from Word as .docx") from None
    with archive:
        try:
            info = archive.getinfo("word/document.xml")
        except KeyError:
            raise TranscriptError("the .docx file has no word/document.xml; save it again from Word as .docx") \
                from None
        if info.file_size > MAX_DOCUMENT_XML_BYTES or info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise TranscriptError(f"the .docx file unpacks to {info.file_size:,} bytes of XML, more than a transcript "
                                  "ever needs; save its text as .txt and import that")
        with archive.open(info) as member:
            xml = member.read(MAX_DOCUMENT_XML_BYTES + 1)
    try:
        root = ElementTree.fromstring(xml, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException) as exc:
        raise TranscriptError(f"the .docx file's text cannot be read ({exc}); save it again from Word") from None
    return "\n".join(_paragraph(paragraph) for paragraph in root.iter(f"{WORD}p"))


def _paragraph(paragraph) -> str:
    parts = []
    for node in paragraph.iter():
        if node.tag == f"{WORD}t":
            parts.append(node.text or "")
        elif node.tag in (f"{WORD}tab", f"{WORD}br", f"{WORD}cr"):
            parts.append(" ")
    return "".join(parts)


# -- the whole file -------------------------------------------------------------------------------------------

def transcript_format(filename: str, data: bytes) -> str:
    """txt, vtt, srt or docx, from the file name's extension (a WEBVTT header wins over .txt)."""
    suffix = PurePath(filename or "").suffix.lower()
    if suffix not in FORMATS:
        raise TranscriptError(f"{PurePath(filename).name or 'the file'}: unknown transcript format "
                              f"{suffix or '(no extension)'}; import .txt, .vtt, .srt or .docx")
    found = FORMATS[suffix]
    if found == "txt" and data.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT"):
        return "vtt"
    return found


def decode(data: bytes) -> str:
    """The file as text: UTF-8 (with or without a byte-order mark); an error names the line of a bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise TranscriptError(f"line {line}: the file is not UTF-8 text; save it as UTF-8 and import it again") \
            from None


def merge_turns(cues: list[Cue]) -> list[Cue]:
    """Consecutive cues of one speaker as one turn, from the first cue's start to the last one's end."""
    turns: list[Cue] = []
    for cue in cues:
        if not cue.text:
            continue
        if turns and turns[-1].speaker == cue.speaker:
            last = turns[-1]
            turns[-1] = Cue(last.speaker, f"{last.text} {cue.text}", last.start if last.start is not None else
                            cue.start, cue.end if cue.end is not None else last.end)
        else:
            turns.append(cue)
    return turns


def parse_transcript(data: bytes, filename: str) -> tuple[str, list[Cue]]:
    """The format and the speaker turns of a transcript file."""
    if len(data) > MAX_TRANSCRIPT_BYTES:
        raise TranscriptError(f"the file is {len(data):,} bytes; a transcript may have at most "
                              f"{MAX_TRANSCRIPT_BYTES:,}")
    found = transcript_format(filename, data)
    if found == "docx":
        cues = parse_plain(docx_text(data), unit="paragraph")
    else:
        text = decode(data)
        cues = {"txt": parse_plain, "vtt": parse_vtt, "srt": parse_srt}[found](text)
    turns = merge_turns(cues)
    if not turns:
        raise TranscriptError("the transcript has no speaker turns; write each turn as \"Speaker: words\"")
    return found, turns


# -- writing (for exports and the round-trip tests) -----------------------------------------------------------

def render_vtt(turns: list[Cue]) -> str:
    """Turns as WebVTT cues with voice tags; turns need times."""
    blocks = ["WEBVTT"]
    for cue in turns:
        voice = html.escape(cue.speaker, quote=False)
        blocks.append(f"{clock(cue.start)} --> {clock(cue.end)}\n<v {voice}>{html.escape(cue.text, quote=False)}")
    return "\n\n".join(blocks) + "\n"


def render_srt(turns: list[Cue]) -> str:
    """Turns as numbered SRT cues with a speaker prefix; turns need times."""
    return "\n\n".join(f"{number}\n{clock(cue.start, separator=',')} --> {clock(cue.end, separator=',')}\n"
                       f"{cue.speaker}: {cue.text}" for number, cue in enumerate(turns, start=1)) + "\n"


def render_plain(turns: list[Cue]) -> str:
    """Turns as "[00:01:23] Speaker: words" lines (the time only where known)."""
    return "\n".join((f"[{clock(cue.start)[:8]}] " if cue.start is not None else "") + f"{cue.speaker}: {cue.text}"
                     for cue in turns) + "\n"
