"""The survey builder: starting points, the form and back, what changed in words, versions only when the meaning
changes, the translation view, and bad input answered with a sentence instead of a 500."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.helpers import FEEDBACK_SURVEY, apply_survey, csrf_from, login, make_user
from voxpop.accounts.models import AuditEntry
from voxpop.cli import app as cli
from voxpop.settings import get_settings
from voxpop.surveys import builder, service
from voxpop.surveys.service import SurveyFileError, parse_definition


def feedback():
    return parse_definition(FEEDBACK_SURVEY, source="test")


def versions(db, key: str) -> list[int]:
    with db.read() as db_session:
        return [version.number for version in service.get_by_key(db_session=db_session, key=key).versions]


def manager(client, db) -> str:
    login(client, make_user(db, "manager"))
    return csrf_from(client.get("/surveys/new").text)


def form_of(definition, token: str, **changes: str) -> dict[str, str]:
    return builder.form_values(builder.draft_of(definition)) | {"csrf_token": token} | changes


# Starting points and the form

@pytest.mark.parametrize("name", [name for name, _, _ in builder.STARTERS])
def test_every_starting_point_is_a_valid_survey_with_the_key_and_title_asked(name):
    definition = builder.validated(builder.starter(name, key="my-survey", title="Our survey", organisation="Acme"))
    assert (definition.key, definition.title) == ("my-survey", "Our survey")
    texts = service.dump_definition(definition, format="yaml")
    assert "{organisation}" not in texts


def test_the_starting_points_say_what_their_method_asks():
    enps = builder.validated(builder.starter("employee-nps", key="e", title="T", organisation="Northwind"))
    assert enps.questions[0].text == "How likely are you to recommend Northwind as a place to work?"
    ces = builder.validated(builder.starter("ces-after-support", key="c", title="T", organisation=""))
    assert (ces.questions[0].kind, ces.questions[0].bounds) == ("ces", (1, 7))
    assert ces.questions[0].text == "The company made it easy for me to handle my issue."
    csat = builder.validated(builder.starter("transactional-csat", key="s", title="T", organisation=""))
    resolved = next(question for question in csat.questions if question.key == "resolved")
    assert resolved.kind == "single_choice" and resolved.text == "Was your issue resolved?"
    assert any(question.show_if and question.show_if.question == "resolved" for question in csat.questions)


@pytest.mark.parametrize("source", ["feedback", *[name for name, _, _ in builder.STARTERS]])
def test_form_to_definition_to_file_and_back_is_the_same_survey(source):
    definition = feedback() if source == "feedback" else builder.validated(
        builder.starter(source, key="k", title="T", organisation="Acme"))
    draft, problems = builder.draft_from_form(builder.form_values(builder.draft_of(definition)))
    from_form = builder.validated(draft, problems).model_copy(update={"status": definition.status})
    assert from_form == definition
    for file_format in ("yaml", "json"):
        read_back = parse_definition(service.dump_definition(from_form, format=file_format), source="file")
        assert read_back == definition and service.fingerprint(read_back) == service.fingerprint(definition)


def test_options_take_labels_per_language_and_conditions_take_numbers_for_scores():
    form = builder.form_values(builder.draft_of(feedback()))
    form |= {"q5.options.en": "shoes = Shoes\ntents = Tents\nbags = Bags", "q5.options.de": "shoes = Schuhe\ntents = Zelte",
             "q1.show_if_test": "in", "q1.show_if_value": "0, 1, 2"}
    draft, problems = builder.draft_from_form(form)
    assert problems == []
    assert draft["questions"][5]["options"][2] == {"value": "bags", "label": {"en": "Bags"}}
    assert draft["questions"][1]["show_if"] == {"question": "nps", "in": [0, 1, 2]}
    with pytest.raises(SurveyFileError) as caught:
        builder.validated(draft, problems)
    assert caught.value.problems == [("questions[5].options[2].label", "missing the 'de' text (the survey's languages "
                                                                        "are ['en', 'de'])")]


def test_what_only_the_form_can_get_wrong_is_named_by_question_and_field():
    form = builder.form_values(builder.draft_of(feedback())) | {
        "q1.show_if_value": "six", "q5.options.de": "hats = Hüte\nshoes = Schuhe"}
    draft, problems = builder.draft_from_form(form)
    assert problems == [
        ("questions[1].show_if", "the value compared with 'nps' must be a whole number, not 'six'"),
        ("questions[5].options", "the 'de' list names 'hats', which is not an option in the 'en' list; write each "
                                 "line as value = label"),
    ]
    assert builder.problem_places(problems) == {"q1-show_if": [problems[0][1]], "q5-options": [problems[1][1]]}
    listed = builder.problem_list(problems, draft)
    assert listed[0] == ("q1-show_if", "Question 2 (why_low), show if: the value compared with 'nps' must be a whole "
                                       "number, not 'six'")


def test_structural_edits_add_move_and_remove_questions():
    draft = builder.draft_of(feedback())
    added = builder.edited(draft, "add", new_kind="rating")
    assert added["questions"][-1] == {"key": "q7", "kind": "rating", "text": {}, "scale": {"min": 1, "max": 5}}
    moved = builder.edited(draft, "up:1")
    assert [question["key"] for question in moved["questions"][:2]] == ["why_low", "nps"]
    assert [question["key"] for question in builder.edited(draft, "remove:0")["questions"]][0] == "why_low"
    assert builder.edited(draft, "down:99") == draft
    draft["questions"][1]["kind"] = "single_choice"  # as the form sends a changed kind, without its settings
    assert builder.edited(draft, "refresh")["questions"][1]["options"] == builder.NEW_QUESTION["single_choice"]["options"]
    assert len(draft["questions"]) == 6 and "options" not in draft["questions"][1]  # the draft given is left as it was


def test_what_changed_is_said_in_words():
    before = feedback()
    draft = builder.draft_of(before)
    draft["questions"][0]["text"]["en"] = "Would you recommend us?"
    draft["questions"][1]["show_if"] = {"question": "nps", "lte": 5}
    draft["questions"][5]["options"].append({"value": "bags", "label": {"en": "Bags", "de": "Taschen"}})
    del draft["questions"][3]
    draft["questions"].append({"key": "store", "kind": "rating", "scale": {"min": 1, "max": 7},
                               "text": {"en": "Rate the store", "de": "Bewerten Sie den Laden"}})
    assert builder.changes(before, builder.validated(draft)) == [
        "Question 'nps': text “en: How likely are you to recommend us? / de: Wie wahrscheinlich empfehlen Sie uns?” "
        "→ “en: Would you recommend us? / de: Wie wahrscheinlich empfehlen Sie uns?”.",
        "Question 'why_low': shown when 'nps' is at most 6 → shown when 'nps' is at most 5.",
        "Question 'bought': options added: bags.",
        "Question 'store' added (Rating on a scale): “en: Rate the store / de: Bewerten Sie den Laden”.",
        "Question 'csat' removed: “en: How satisfied are you? / de: Wie zufrieden sind Sie?”. Its earlier answers "
        "stay with the versions they were given on.",
    ]
    assert builder.changes(before, before) == []


# The pages

def test_a_new_survey_from_a_starting_point_is_a_draft_with_an_audit_entry(client, db):
    token = manager(client, db)
    response = client.post("/surveys/new", data={"csrf_token": token, "start": "relationship-nps", "key": "rnps-2027",
                                                 "title": "How are we doing?", "organisation": "Northwind"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/surveys/rnps-2027/edit?version=1&new=1"
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and "Saved as version 1." in page.text
    assert "How likely are you to recommend Northwind to a friend or colleague?" in page.text
    with db.read() as db_session:
        survey = service.get_by_key(db_session=db_session, key="rnps-2027")
        assert survey.status == "draft"
        entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "survey.create"))
        assert (entry.target, entry.details["start"]) == ("rnps-2027", "relationship-nps")


def test_a_copy_keeps_the_questions_under_a_new_key(client, db):
    apply_survey(db)
    token = manager(client, db)
    assert "How did we do? (feedback)" in client.get("/surveys/new").text
    client.post("/surveys/new", data={"csrf_token": token, "start": "copy", "copy_of": "feedback", "key": "feedback-2",
                                      "title": "How did we do this time?"})
    with db.read() as db_session:
        copy = service.definition_of(service.get_by_key(db_session=db_session, key="feedback-2").current_version)
    assert copy.title == {"en": "How did we do this time?", "de": "Wie war es?"} and copy.questions == feedback().questions


def test_the_key_is_checked_with_a_sentence(client, db):
    apply_survey(db)
    token = manager(client, db)
    for key, message in [("Feedback 2", "A survey key is 1 to 64 lower-case letters"),
                         ("feedback", "The key &#39;feedback&#39; is already used by the survey &#39;How did we do?&#39;")]:
        response = client.post("/surveys/new", data={"csrf_token": token, "start": "blank", "key": key, "title": "T"})
        assert response.status_code == 400 and message in response.text
    assert versions(db, "feedback") == [1]


def test_saving_without_a_change_in_meaning_makes_no_version(client, db):
    apply_survey(db)
    token = manager(client, db)
    response = client.post("/surveys/feedback/edit", data=form_of(feedback(), token, action="save"),
                           follow_redirects=False)
    assert response.headers["location"] == "/surveys/feedback/edit?version=1&new=0"
    assert "Nothing changed in what the questions ask, so this is still version 1" in client.get(
        response.headers["location"]).text
    assert versions(db, "feedback") == [1]


def test_a_live_survey_shows_what_changes_before_it_gets_a_new_version(client, db):
    apply_survey(db)
    token = manager(client, db)
    form = form_of(feedback(), token, **{"q3.text.en": "How satisfied are you overall?"})
    shown = client.post("/surveys/feedback/edit", data=form | {"action": "save"})
    assert shown.status_code == 200 and "Saving makes version 2" in shown.text
    assert "Answers already given stay with version 1 and keep the meaning they were given with" in shown.text
    assert "Question &#39;csat&#39;: text “en: How satisfied are you?" in shown.text
    assert 'value="How satisfied are you overall?"' in shown.text  # the edit is still on the form
    assert versions(db, "feedback") == [1]
    saved = client.post("/surveys/feedback/edit", data=form | {"action": "confirm-save"}, follow_redirects=False)
    assert saved.headers["location"] == "/surveys/feedback/edit?version=2&new=1"
    page = client.get(saved.headers["location"]).text
    assert "Saved as version 2." in page and "What changed from version 1" in page
    assert versions(db, "feedback") == [1, 2]
    with db.read() as db_session:
        survey = service.get_by_key(db_session=db_session, key="feedback")
        assert survey.status == "live"
        entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "survey.edit"))
        assert (entry.details["before_version"], entry.details["after_version"]) == (1, 2)


def test_structural_edits_re_render_without_saving(client, db):
    apply_survey(db)
    token = manager(client, db)
    page = client.post("/surveys/feedback/edit", data=form_of(feedback(), token, action="add", new_kind="single_choice"))
    assert page.status_code == 200 and 'name="q6.options.de"' in page.text and "Question 7: q7" in page.text
    assert versions(db, "feedback") == [1]


def test_problems_are_shown_next_to_their_question(client, db):
    apply_survey(db)
    token = manager(client, db)
    response = client.post("/surveys/feedback/edit", data=form_of(feedback(), token, action="save", **{
        "q2.show_if_question": "csat", "q4.text.de": ""}))
    assert response.status_code == 400
    assert re.search(r'id="q2-show_if".*?&#39;csat&#39; is not an earlier question', response.text, re.S)
    assert '<a href="#q4-text">Question 5 (ease), text: missing the &#39;de&#39; text' in response.text
    assert versions(db, "feedback") == [1]


@pytest.mark.parametrize("changes", [
    {"q0.kind": "bogus"},
    {"q0.scale_min": "low", "q0.scale_max": "10"},
    {"q1.show_if_test": "between"},
    {"languages": "english, !!"},
    {"q0.key": ""},
    {"title.en": "", "title.de": ""},
])
def test_a_malformed_form_is_a_400_with_a_sentence_never_a_500(client, db, changes):
    apply_survey(db)
    token = manager(client, db)
    response = client.post("/surveys/feedback/edit", data=form_of(feedback(), token, action="save", **changes))
    assert response.status_code == 400 and 'class="error-summary"' in response.text
    assert versions(db, "feedback") == [1]


def test_a_field_no_survey_could_hold_is_refused(client, db):
    apply_survey(db)
    token = manager(client, db)
    response = client.post("/surveys/feedback/edit", data=form_of(feedback(), token, **{"q0.text.en": "x" * 200_000}))
    assert response.status_code == 400 and "longer than 100,000 characters" in response.text


def test_only_admins_and_managers_build_and_every_post_needs_the_csrf_token(client, db):
    apply_survey(db)
    assert client.get("/surveys/new", follow_redirects=False).status_code == 303  # to the login
    login(client, make_user(db, "analyst"))
    for path in ("/surveys/new", "/surveys/feedback/edit", "/surveys/feedback/translate", "/surveys/feedback/source"):
        assert client.get(path).status_code == 403
    login(client, make_user(db, "admin"))
    assert client.get("/surveys/feedback/edit").status_code == 200
    for path in ("/surveys/new", "/surveys/feedback/edit", "/surveys/feedback/translate", "/surveys/feedback/source"):
        assert client.post(path, data={"action": "save"}).status_code == 403
    assert client.get("/surveys/no-such/edit").status_code == 404


def test_the_text_view_saves_through_the_same_parser_and_names_the_line(client, db):
    apply_survey(db)
    token = manager(client, db)
    page = client.get("/surveys/feedback/source?format=json")
    assert "&#34;key&#34;: &#34;feedback&#34;" in page.text
    bad = client.post("/surveys/feedback/source", data={"csrf_token": token, "format": "yaml", "action": "save",
                                                        "definition": "key: feedback\ntitle: [unclosed"})
    assert bad.status_code == 400 and "not valid YAML or JSON" in bad.text
    other = service.dump_definition(feedback().model_copy(update={"key": "other"}), format="yaml")
    moved = client.post("/surveys/feedback/source", data={"csrf_token": token, "action": "save", "definition": other})
    assert moved.status_code == 400 and "this page edits &#39;feedback&#39;" in moved.text
    edited = service.dump_definition(feedback(), format="yaml").replace("What did you buy?", "What did you order?")
    shown = client.post("/surveys/feedback/source", data={"csrf_token": token, "action": "save", "definition": edited})
    assert "Saving makes version 2" in shown.text and "What did you order?" in shown.text
    client.post("/surveys/feedback/source", data={"csrf_token": token, "action": "confirm-save", "definition": edited})
    assert versions(db, "feedback") == [1, 2]


def test_translations_side_by_side_flag_what_is_missing(client, db):
    apply_survey(db)
    token = manager(client, db)
    page = client.get("/surveys/feedback/translate")
    assert "Every text is there in every language (en, de)." in page.text
    rows = builder.text_rows(builder.draft_of(feedback()))
    texts = {f"text|{row.path}|{language}": text for row in rows for language, text in row.texts.items()}
    added = client.post("/surveys/feedback/translate", data=texts | {"csrf_token": token, "languages": "en, de",
                                                                     "add_language": "fr", "action": "add"})
    assert "9 texts missing" in added.text and 'href="#t-questions-0-text-fr"' in added.text
    french = {f"text|{row.path}|fr": f"{row.texts['en']} (fr)" for row in rows if row.texts["en"]}
    refused = client.post("/surveys/feedback/translate", data=texts | {"csrf_token": token, "languages": "en, de, fr",
                                                                       "action": "save"})
    assert refused.status_code == 400 and "missing the &#39;fr&#39; text" in refused.text
    full = texts | french | {"csrf_token": token, "languages": "en, de, fr"}
    shown = client.post("/surveys/feedback/translate", data=full | {"action": "save"})
    assert "Languages added: fr." in shown.text
    client.post("/surveys/feedback/translate", data=full | {"action": "confirm-save"})
    with db.read() as db_session:
        survey = service.get_by_key(db_session=db_session, key="feedback")
        assert survey.languages == ["en", "de", "fr"] and len(survey.versions) == 2


def test_what_the_builder_saves_survey_apply_reads_and_back(client, db, database_url, tmp_path, monkeypatch):
    token = manager(client, db)
    client.post("/surveys/new", data={"csrf_token": token, "start": "transactional-csat", "key": "support-2027",
                                      "title": "Your support request"})
    with db.read() as db_session:
        created = service.definition_of(service.get_by_key(db_session=db_session, key="support-2027").current_version)
    client.post("/surveys/support-2027/edit", data=form_of(created, token, action="save", **{
        "q1.required": "", "q0.text.en": "How satisfied are you with how we handled your request?"}))
    assert versions(db, "support-2027") == [1, 2]
    page = client.get("/surveys/support-2027/source?format=yaml").text
    path = tmp_path / "support.yaml"
    path.write_text(html.unescape(re.search(r'<textarea id="definition"[^>]*>(.*?)</textarea>', page, re.S).group(1)))
    with db.read() as db_session:
        stored = service.get_by_key(db_session=db_session, key="support-2027").current_version
        assert service.fingerprint(service.read_definition(path)) == stored.fingerprint

    monkeypatch.setenv("VOXPOP_DATABASE_URL", database_url)
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        unchanged = CliRunner().invoke(cli, ["survey", "apply", str(path)])
        path.write_text(path.read_text().replace("Was your issue resolved?", "Is your issue resolved?"))
        changed = CliRunner().invoke(cli, ["survey", "apply", str(path)])
    finally:
        get_settings.cache_clear()
    assert unchanged.exit_code == 0 and "unchanged" in unchanged.output
    assert changed.exit_code == 0 and "new version" in changed.output
    assert versions(db, "support-2027") == [1, 2, 3]
    assert 'value="Is your issue resolved?"' in client.get("/surveys/support-2027/edit").text


def test_ordered_scales_other_options_and_page_breaks_go_through_the_form():
    definition = parse_definition("""
key: s
title: {en: Shop, de: Laden}
languages: [en, de]
questions:
  - key: agree
    kind: single_choice
    ordered: true
    text: {en: "The shop was tidy", de: "Der Laden war ordentlich"}
    options:
      - {value: disagree, label: {en: Disagree, de: Stimme nicht zu}}
      - {value: agree, label: {en: Agree, de: Stimme zu}}
  - key: bought
    kind: multiple_choice
    page_break: true
    other: {en: "Something else", de: "Etwas anderes"}
    text: {en: "What did you buy?", de: "Was haben Sie gekauft?"}
    options: [{value: a, label: {en: A, de: A}}, {value: b, label: {en: B, de: B}}]
  - key: heard
    kind: single_choice
    other: true
    text: {en: "How did you hear of us?", de: "Wie haben Sie von uns gehört?"}
    options: [{value: friend, label: {en: A friend, de: Freunde}}, {value: ad, label: {en: An ad, de: Werbung}}]
""", source="test")
    values = builder.form_values(builder.draft_of(definition))
    assert (values["q0.ordered"], values["q1.page_break"], values["q1.other"], values["q2.other"]) == ("on",) * 4
    draft, problems = builder.draft_from_form(values)
    assert builder.validated(draft, problems) == definition
    unticked = {name: value for name, value in values.items() if name not in ("q0.ordered", "q2.other")}
    changed = builder.validated(*builder.draft_from_form(unticked))
    assert builder.changes(definition, changed) == ["Question 'agree': options no longer an ordered scale.",
                                                    "Question 'heard': Other option removed."]


def test_an_empty_required_text_asks_to_be_filled_in():
    form = builder.form_values(builder.draft_of(feedback())) | {"q2.text.en": "", "q2.text.de": ""}
    draft, problems = builder.draft_from_form(form)
    with pytest.raises(SurveyFileError) as caught:
        builder.validated(draft, problems)
    assert builder.problem_list(caught.value.problems, draft) == [
        ("q2-text", "Question 3 (why_high), text: this is required: fill it in")]
