"""Merging a misspelt option into the option it means: read when counting, never written into the answers,
reversible, and recorded in the audit log; on the service, the page, the API and the command line."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.helpers import csrf_from, login, make_user
from voxpop.accounts.models import AuditEntry
from voxpop.collection.models import Answer
from voxpop.imports.formats import open_export
from voxpop.imports.mapping import detect_mapping
from voxpop.imports.merges import MergeError, merge_option, merged_choice_counts, survey_merges, undo_merge
from voxpop.imports.service import import_responses
from voxpop.surveys import service as surveys
from voxpop.surveys.models import Question

AGREE = "to_what_extent_do_you_agree"
ANSWERS = ["Agree", "Disgree", "Strongly agree", "Agree", "Strongly disagree", "Disgree", "Agree"] * 2


def surveymonkey(path, answers=ANSWERS):
    """A SurveyMonkey export: question texts, then sub-labels, then one row per respondent."""
    rows = [["Respondent ID", "Collector ID", "Start Date", "End Date", "To what extent do you agree?", "Colour"],
            ["", "", "", "", "Response", "Response"]]
    rows += [[str(1000 + n), "7", f"07/0{n % 9 + 1}/2023 04:21:36 PM", f"07/0{n % 9 + 1}/2023 04:29:08 PM", answer,
              ["red", "blue"][n % 2]] for n, answer in enumerate(answers)]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def imported(db, path, key="lead"):
    export = open_export(path)
    import_responses(db, export, detect_mapping(export), survey_key=key)
    return key


def choice_counts(db, question):
    with db.read() as db_session:
        return dict(db_session.execute(select(Answer.choice, func.count()).join(Question, Question.id == Answer.question_id)
                                       .where(Question.key == question).group_by(Answer.choice)).all())


def audit_actions(db):
    with db.read() as db_session:
        return [(entry.action, entry.details) for entry in db_session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_merged_counts_add_a_merged_option_to_the_one_it_means_in_order():
    counts = {"Strongly disagree": 1, "Disagree": 0, "Disgree": 2, "Agree": 3, "Aagree": 1, "Strongly agree": 1}
    assert merged_choice_counts(counts, {"Disgree": "Disagree", "Aagree": "Agree"}) == {
        "Strongly disagree": 1, "Disagree": 2, "Agree": 4, "Strongly agree": 1}
    assert merged_choice_counts({"Aagree": 2, "Strongly agree": 1}, {"Aagree": "Agree"}) == {"Agree": 2, "Strongly agree": 1}
    assert merged_choice_counts(counts, {}) == counts


def test_a_merge_is_read_not_written_and_is_undone_with_its_record(db, tmp_path):
    key = imported(db, surveymonkey(tmp_path / "lead.csv"))
    with db.read() as db_session:
        [question] = [question for question in surveys.definition_of(surveys.get_by_key(
            db_session=db_session, key=key).current_version).questions if question.key == AGREE]
    options = [option.value for option in question.options]
    assert question.ordered
    assert options == ["Strongly disagree", "Disagree", "Disgree", "Agree", "Strongly agree"]  # the scale, in order
    stored = choice_counts(db, AGREE)
    with db.write() as db_session:
        merge_option(db_session=db_session, survey_key=key, question=AGREE, from_option="Disgree", to_option="Disagree",
                     actor=None)
    with db.read() as db_session:
        merges = survey_merges(db_session=db_session, survey_id=surveys.get_by_key(db_session=db_session, key=key).id)
    assert merges == {AGREE: {"Disgree": "Disagree"}}
    assert choice_counts(db, AGREE) == stored == dict(Counter(ANSWERS))  # the answers keep the file's text
    counted = {option: stored.get(option, 0) for option in options}
    assert merged_choice_counts(counted, merges[AGREE]) == {"Strongly disagree": 2, "Disagree": 4, "Agree": 6,
                                                            "Strongly agree": 2}
    with db.write() as db_session:
        undo_merge(db_session=db_session, survey_key=key, question=AGREE, from_option="Disgree", actor=None)
    with db.read() as db_session:
        assert survey_merges(db_session=db_session, survey_id=surveys.get_by_key(db_session=db_session, key=key).id) == {}
    assert [action for action, _ in audit_actions(db)] == ["import.merge_option", "import.unmerge_option"]
    assert audit_actions(db)[0][1] == {"question": AGREE, "from_option": "Disgree", "to_option": "Disagree"}


@pytest.mark.parametrize(("question", "from_option", "to_option", "message"), [
    ("nothing", "Disgree", "Disagree", "has no question 'nothing'"),
    (AGREE, "Disgree", "Disgreed", "'Disgreed' is not an option of question"),
    (AGREE, "Disgree", "Disgree", "cannot be merged into itself"),
    (AGREE, "Neutral", "Agree", "no answer to question"),
])
def test_a_merge_that_cannot_be_is_refused_with_a_sentence(db, tmp_path, question, from_option, to_option, message):
    key = imported(db, surveymonkey(tmp_path / "lead.csv"))
    with db.write() as db_session, pytest.raises(MergeError, match=message):
        merge_option(db_session=db_session, survey_key=key, question=question, from_option=from_option,
                     to_option=to_option, actor=None)


def test_merges_do_not_chain_and_only_single_choices_merge(db, tmp_path):
    key = imported(db, surveymonkey(tmp_path / "lead.csv"))
    with db.write() as db_session:
        merge_option(db_session=db_session, survey_key=key, question=AGREE, from_option="Disgree", to_option="Disagree",
                     actor=None)
    for from_option, to_option, message in [("Disgree", "Agree", "already merged into 'Disagree'"),
                                            ("Agree", "Disgree", "'Disgree' is itself merged into 'Disagree'"),
                                            ("Disagree", "Agree", "other options are merged into 'Disagree'")]:
        with db.write() as db_session, pytest.raises(MergeError, match=message):
            merge_option(db_session=db_session, survey_key=key, question=AGREE, from_option=from_option,
                         to_option=to_option, actor=None)
    with db.write() as db_session, pytest.raises(MergeError, match="there is no survey 'nope'"):
        undo_merge(db_session=db_session, survey_key="nope", question=AGREE, from_option="Disgree", actor=None)
    with db.write() as db_session, pytest.raises(MergeError, match="is not merged, so there is nothing to undo"):
        undo_merge(db_session=db_session, survey_key=key, question=AGREE, from_option="Agree", actor=None)


def test_the_page_merges_and_undoes_and_the_api_does_the_same(client, db, tmp_path):
    key = imported(db, surveymonkey(tmp_path / "lead.csv"))
    login(client, make_user(db, "manager"))
    page = client.get(f"/imports/merges?survey={key}")
    assert page.status_code == 200 and "Ordered scale" in page.text and "Strongly disagree · Disagree · Disgree" in page.text
    assert "“Disgree” looks like a misspelling of “Disagree”" in page.text  # and the merge form proposes it:
    assert '<option value="Disgree" selected>' in page.text and '<option value="Disagree" selected>' in page.text
    token = csrf_from(page.text)
    merged = client.post("/imports/merges", data={"csrf_token": token, "survey": key, "question": AGREE,
                                                  "from_option": "Disgree", "to_option": "Disagree"},
                         follow_redirects=False)
    assert merged.status_code == 303 and merged.headers["location"] == f"/imports/merges?survey={key}"
    assert "<td>Disgree</td><td>Disagree</td>" in client.get(merged.headers["location"]).text
    refused = client.post("/imports/merges", data={"csrf_token": token, "survey": key, "question": AGREE,
                                                   "from_option": "Agree", "to_option": "Disgree"})
    assert refused.status_code == 400 and "itself merged into" in refused.text
    assert client.post("/imports/merges", data={"survey": key, "question": AGREE, "from_option": "Disgree",
                                                "undo": "true"}).status_code == 403  # no CSRF token
    undone = client.post("/imports/merges", data={"csrf_token": token, "survey": key, "question": AGREE,
                                                  "from_option": "Disgree", "undo": "true"})
    assert undone.status_code == 200 and "<td>Disgree</td><td>Disagree</td>" not in undone.text
    assert client.get("/imports/merges?survey=nope").status_code == 404

    api_token = client.get("/api/v1/me").json()["csrf_token"]
    body = {"survey": key, "question": AGREE, "from_option": "Disgree", "to_option": "Disagree"}
    created = client.post("/api/v1/imports/merges", json=body, headers={"X-CSRF-Token": api_token})
    assert created.status_code == 200 and created.json() == body
    listed = client.get(f"/api/v1/imports/merges?survey={key}").json()
    [question] = [q for q in listed["questions"] if q["key"] == AGREE]
    assert (question["ordered"], question["merges"], question["suggested"]) == (True, {"Disgree": "Disagree"}, {})
    again = client.post("/api/v1/imports/merges", json=body, headers={"X-CSRF-Token": api_token})
    assert again.status_code == 422 and again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["detail"].startswith("'Disgree' is already merged")
    undone = client.post("/api/v1/imports/merges/undo", json={k: body[k] for k in ("survey", "question", "from_option")},
                         headers={"X-CSRF-Token": api_token})
    assert undone.status_code == 200 and undone.json()["to_option"] == "Disagree"
    assert [action for action, _ in audit_actions(db)][-2:] == ["import.merge_option", "import.unmerge_option"]


def test_analysts_may_not_merge(client, db, tmp_path):
    key = imported(db, surveymonkey(tmp_path / "lead.csv"))
    login(client, make_user(db, "analyst"))
    assert client.get(f"/imports/merges?survey={key}").status_code == 403

