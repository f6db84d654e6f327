"""The demo's qualitative sources: a focus group and customer interviews, as imported transcripts.

They are about what the demo's survey comments complain about (the buggy app release, December's late
deliveries, the effort of signing up and paying) and what they praise (helpful staff, quality), so the qualitative
view shows the same themes in both. Each is written as a real transcript file would be (WebVTT for the focus
group, plain text and SRT for the interviews) and imported through the importer a person uses, so its turns are
redacted, analysed and themed like any other. Participants are linked to demo customers of the right segment,
chosen from the seed.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.customers.models import Customer
from voxpop.qualitative.service import ParticipantLink, import_transcript
from voxpop.qualitative.transcripts import Cue, render_plain, render_srt, render_vtt

DAYS = 548  # the demo's 18 months (demo.workspace)
IMPORTED_BY = "analyst@northwind.example"
SENTENCE_END = re.compile(r"(?<=[.?!])\s+")

# (speaker, what they say). The focus group, held while the app release was failing (the fifth to seventh month).
FOCUS_GROUP = [
    ("Priya", "Thanks for coming, everyone. We'd like to hear how ordering from Northwind has been lately. "
              "Anything is fine, good or bad."),
    ("Tom", "Honestly the app has been a nightmare since the update. It crashed at checkout twice last week and I "
            "lost my basket both times."),
    ("Mia", "Same for me. I could not log in after the update, the password reset page just spins."),
    ("Priya", "When did that start?"),
    ("Mia", "Maybe a month ago. I ended up ordering on the website instead, which was fine."),
    ("Jonas", "For us it is the payment page. It kept rejecting my company card, so signing up took three tries and "
              "a call. If anyone wants to check, my number is 07700 900123."),
    ("Priya", "And the deliveries themselves?"),
    ("Aisha", "My parcel arrived five days late and nobody told me why. The tracking showed nothing for a week."),
    ("Tom", "Delivery was fine for me, the courier was friendly and right on time."),
    ("Lena", "I want to say the staff in the Leeds store were really helpful. The manager found my size in the back."),
    ("Priya", "What about the products?"),
    ("Lena", "The quality is great. My rain jacket kept me dry through a week in the Lake District."),
    ("Jonas", "Good quality, yes, but the app is buggy and slow since the last update. For a business account that "
              "costs us time."),
    ("Aisha", "And the support team ignored my e-mails for days when I asked where the parcel was. "
              "I wrote from aisha.k@example.com twice."),
    ("Priya", "If you could change one thing?"),
    ("Tom", "Fix the app. Everything else is good."),
    ("Mia", "Fix the login, then the app."),
]
FOCUS_GROUP_PEOPLE = {"Tom": "consumer", "Mia": "consumer", "Jonas": "business", "Aisha": "consumer",
                      "Lena": "premium"}  # by segment: each is linked to a demo customer of it

# A customer interviewed in January about December's deliveries (plain text, with times).
DELIVERY_INTERVIEW = [
    ("Interviewer", "Thanks for taking the time. You ordered a tent in December, how did that go?"),
    ("Sam", "It was meant to be a Christmas present. The parcel arrived a week late, after Christmas, and the "
            "tracking just said in transit the whole time."),
    ("Interviewer", "Did you contact us?"),
    ("Sam", "I called customer service and waited forty minutes on hold. The agent was polite and helpful once I "
            "got through, but she could not say where the parcel was."),
    ("Interviewer", "Anything that went well?"),
    ("Sam", "The tent itself is excellent, really well made. And the refund for the shipping came quickly."),
]

# A business customer interviewed about signing up and paying (SRT, as a captioning tool writes it).
SIGNUP_INTERVIEW = [
    ("Interviewer", "You opened a business account recently. Walk me through it."),
    ("Noor", "Signing up online took far too long. The form asks for everything twice and the login link in the "
             "e-mail did not work."),
    ("Noor", "Then the payment page kept rejecting our card, three times, with no reason given."),
    ("Interviewer", "How did you get past it?"),
    ("Noor", "A very helpful agent on the chat sorted it out in five minutes. The staff are great, the website is "
             "the problem."),
    ("Interviewer", "Would you recommend us?"),
    ("Noor", "For the products, yes. The prices are fair for the quality. The sign-up I would warn people about."),
]


def _timed(said: list[tuple[str, str]], rng: random.Random, *, start: float = 4.0) -> list[Cue]:
    """Cues with times as a recording would give them: about two and a half words a second, short pauses."""
    cues, at = [], start
    for speaker, text in said:
        length = round(len(text.split()) / 2.5 + rng.uniform(0.5, 2.0), 3)
        cues.append(Cue(speaker, text, round(at, 3), round(at + length, 3)))
        at += length + rng.uniform(0.3, 1.5)
    return cues


def _split_cues(cues: list[Cue]) -> list[Cue]:
    """A turn's sentences as separate cues, as subtitle files give them (the importer merges them back)."""
    split = []
    for cue in cues:
        sentences = SENTENCE_END.split(cue.text)
        step = (cue.end - cue.start) / len(sentences)
        split += [Cue(cue.speaker, sentence, round(cue.start + i * step, 3), round(cue.start + (i + 1) * step, 3))
                  for i, sentence in enumerate(sentences)]
    return split


def _customers(db_session: Session, rng: random.Random, segments: dict[str, str]) -> dict[str, ParticipantLink]:
    """A demo customer of each participant's segment, picked by the seed."""
    links, taken = {}, set()
    for label, segment in segments.items():
        for _ in range(200):
            external_id = f"NW-{rng.randint(1, 9000):06d}"
            attributes = db_session.scalar(select(Customer.attributes).where(Customer.external_id == external_id))
            if attributes is not None and attributes.get("segment") == segment and external_id not in taken:
                links[label] = ParticipantLink(customer=external_id)
                taken.add(external_id)
                break
        else:
            links[label] = ParticipantLink(segment=segment)
    return links


def _last_december(now: datetime) -> date:
    year = now.year if now.month == 12 and now.day > 20 else now.year - 1
    return date(year, 12, 18)


def add_sources(db_session: Session, *, now: datetime, zone: str, seed: int) -> str:
    """Add the demo's focus group and interviews; returns a progress line."""
    rng = random.Random(f"qualitative:{seed}")
    analyst = db_session.scalar(select(User).where(User.email == IMPORTED_BY))
    start = (now - timedelta(days=DAYS)).date()
    focus = render_vtt(_split_cues(_timed(FOCUS_GROUP, rng)))
    focus = focus.replace("WEBVTT\n", "WEBVTT\n\nNOTE Northwind app release focus group, Manchester; "
                                      "transcribed from the recording\n", 1)
    december = _last_december(now)
    sources = [
        (focus.encode(), "app-release-focus-group.vtt", "focus-group", "App release focus group, Manchester",
         start + timedelta(days=175), "Priya", _customers(db_session, rng, FOCUS_GROUP_PEOPLE),
         "Six customers who ordered through the app in the weeks after the release; 90 minutes, recorded."),
        (render_plain(_timed(DELIVERY_INTERVIEW, rng)).encode(), "interview-december-delivery.txt", "interview",
         "Interview: a late Christmas delivery", december + timedelta(days=24), None,
         _customers(db_session, rng, {"Sam": "consumer"}), "Phone interview after a December complaint."),
        (render_srt(_split_cues(_timed(SIGNUP_INTERVIEW, rng))).encode(), "interview-business-signup.srt",
         "interview", "Interview: opening a business account", (now - timedelta(days=40)).date(), None,
         _customers(db_session, rng, {"Noor": "business"}), "Video call; captions exported from the meeting tool."),
    ]
    turns = 0
    for data, filename, kind, title, held_on, moderator, links, notes in sources:
        imported = import_transcript(db_session, data=data, filename=filename, kind=kind, title=title,
                                     held_on=held_on, moderator=moderator, participants=links, user=analyst,
                                     now=now, notes=notes)
        turns += imported.turns
    return f"qualitative sources: a focus group and 2 interviews, {turns} turns"
