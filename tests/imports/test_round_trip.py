"""Hypothesis: generated responses written as a Qualtrics export and imported come back answer for answer."""

from __future__ import annotations

import csv
import itertools
import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from voxpop.collection.models import Answer, Response, response_attributes
from voxpop.imports.formats import open_export
from voxpop.imports.mapping import apply_overrides, detect_mapping
from voxpop.imports.service import import_responses
from voxpop.surveys.models import Question, Survey

OPTIONS = ["Shoes", "Tents", "Disgree", "Über-Jacke, blue"]  # a misspelt label and a comma, kept as given
HEADER = ["StartDate", "EndDate", "ResponseId", "Q1", "Q2", "Q3", "Q4", "segment"]
LABELS = ["Start Date", "End Date", "Response ID", "How likely are you to recommend us?", "How satisfied are you?",
          "What could we do better?", "What did you buy?", "segment"]
IMPORT_IDS = ["startDate", "endDate", "_recordId", "QID1", "QID2", "QID3_TEXT", "QID4", "segment"]
MAPPING = {"columns": {"Q1": {"role": "nps", "scale": [0, 10]}, "Q2": {"role": "csat", "scale": [1, 5]},
                       "Q3": {"role": "text"}, "Q4": {"role": "choice", "options": OPTIONS},
                       "segment": {"role": "attribute"}}}
# Comments as people type them: any text, line breaks, quotes and commas included (not NUL or lone surrogates,
# which no store keeps, and not Qualtrics' "-99" code for "seen but not answered").
comments = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
                   | st.sampled_from(["\n", "\r", '"', ","]), max_size=80).filter(
    lambda text: text.strip() not in ("", "-99"))
responses = st.lists(st.fixed_dictionaries({
    "nps": st.none() | st.integers(0, 10),
    "csat": st.none() | st.integers(1, 5),
    "comment": st.none() | comments,
    "bought": st.none() | st.sampled_from(OPTIONS),
    "segment": st.sampled_from(["smb", "enterprise", "consumer"]),
    "seconds": st.integers(0, 365 * 86400),
}), min_size=1, max_size=30)
counter = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated=responses)
def test_export_then_import_gives_back_every_answer(db, tmp_path, generated):
    number = next(counter)
    path = tmp_path / f"round-trip-{number}.csv"
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([HEADER, LABELS, [json.dumps({"ImportId": name}) for name in IMPORT_IDS]])
        for index, item in enumerate(generated):
            moment = (start + timedelta(seconds=item["seconds"])).strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow([moment, moment, f"R_{number}_{index}", *("" if item[key] is None else item[key] for key in
                                                                      ("nps", "csat", "comment", "bought")),
                             item["segment"]])
    export = open_export(path)
    mapping = apply_overrides(detect_mapping(export), MAPPING, export)
    summary = import_responses(db, export, mapping, survey_key=f"trip-{number}")
    assert (summary.new, summary.rejected) == (len(generated), 0)

    with db.read() as db_session:
        survey_id = db_session.scalar(select(Survey.id).where(Survey.key == f"trip-{number}"))
        stored = {}
        for source_id, submitted in db_session.execute(select(Response.idempotency_key, Response.submitted_at)
                                                      .where(Response.survey_id == survey_id)):
            stored[source_id] = {"submitted": submitted, "answers": {}, "attributes": {}}
        answers = db_session.execute(
            select(Response.idempotency_key, Question.key, Answer.score, Answer.choice, Answer.text)
            .join(Answer, Answer.response_id == Response.id).join(Question, Answer.question_id == Question.id)
            .where(Response.survey_id == survey_id))
        for source_id, key, score, choice, text in answers:
            stored[source_id]["answers"][key] = next(value for value in (score, choice, text) if value is not None)
        for source_id, name, value in db_session.execute(
                select(Response.idempotency_key, response_attributes.c.name, response_attributes.c.value)
                .join(response_attributes, response_attributes.c.response_id == Response.id)
                .where(Response.survey_id == survey_id)):
            stored[source_id]["attributes"][name] = value
    assert len(stored) == len(generated)
    for index, item in enumerate(generated):
        got = stored[f"import:R_{number}_{index}"]
        expected = {key: item[name] for key, name in (("q1", "nps"), ("q2", "csat"), ("q3", "comment"), ("q4", "bought"))
                    if item[name] is not None}
        assert got["answers"] == expected
        assert got["attributes"] == {"segment": item["segment"]}
        assert got["submitted"].replace(tzinfo=timezone.utc) == start + timedelta(seconds=item["seconds"])
