"""The respondent's page at /s/{key}: plain forms, server-side validation, one response per form."""

from sqlalchemy import func, select

from tests.helpers import apply_survey, form_token_from
from voxpop.collection import service
from voxpop.collection.models import Response


def stored(db) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(Response))


def answer_page_one(client, nps: str = "3", **extra):
    page = client.get("/s/feedback", headers={"accept-language": "en"})
    return client.post("/s/feedback", data={"form_token": form_token_from(page.text), "page": "0", "lang": "en",
                                            "q_nps": nps, **extra})


def test_a_detractor_is_asked_what_disappointed_them_and_the_answer_is_saved(client, db):
    apply_survey(db, attributes=["channel"])
    first = client.get("/s/feedback?channel=email", headers={"accept-language": "en"})
    assert first.status_code == 200 and 'name="a_channel" value="email"' in first.text
    second = client.post("/s/feedback", data={"form_token": form_token_from(first.text), "page": "0", "lang": "en",
                                              "q_nps": "4", "a_channel": "email"})
    assert "What disappointed you?" in second.text and "What did you like most?" not in second.text
    done = client.post("/s/feedback", data={"form_token": form_token_from(second.text), "page": "1", "lang": "en",
                                            "q_nps": "4", "q_why_low": "Late", "q_csat": "2", "q_bought": ["shoes", "tents"],
                                            "a_channel": "email"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/s/feedback/thanks?lang=en"
    assert "Thank you!" in client.get(done.headers["location"]).text
    with db.read() as db_session:
        response = db_session.scalar(select(Response))
        assert len(response.answers) == 5 and response.attributes[0].value == "email"


def test_a_score_of_11_re_shows_the_form_with_a_message(client, db):
    apply_survey(db)
    reply = answer_page_one(client, nps="11")
    assert reply.status_code == 422
    assert "11 is outside the scale; please choose a number from 0 to 10." in reply.text
    assert 'role="alert"' in reply.text and stored(db) == 0


def test_a_missing_required_answer_is_named(client, db):
    apply_survey(db)
    reply = answer_page_one(client, nps="")
    assert reply.status_code == 422 and "Please answer this question." in reply.text


def test_100_kb_of_text_is_refused_and_kept_for_editing(client, db):
    apply_survey(db)
    second = answer_page_one(client, nps="2")
    long_text = "slow delivery " * 7300  # ~100 kB
    reply = client.post("/s/feedback", data={"form_token": form_token_from(second.text), "page": "1", "lang": "en",
                                             "q_nps": "2", "q_why_low": long_text})
    assert reply.status_code == 422
    assert "please shorten it to 5,000" in reply.text
    assert long_text.strip() in reply.text  # what the customer typed is still there
    assert stored(db) == 0


def test_a_second_submit_of_the_same_form_creates_nothing(client, db):
    apply_survey(db)
    second = answer_page_one(client, nps="10")
    data = {"form_token": form_token_from(second.text), "page": "1", "lang": "en", "q_nps": "10", "q_why_high": "Fast"}
    assert client.post("/s/feedback", data=data, follow_redirects=False).status_code == 303
    assert client.post("/s/feedback", data=data, follow_redirects=False).status_code == 303
    assert stored(db) == 1


def test_a_forged_form_token_is_refused_but_the_answers_are_kept(client, db):
    apply_survey(db)
    reply = client.post("/s/feedback", data={"form_token": "forged", "page": "0", "lang": "en", "q_nps": "7"})
    assert reply.status_code == 400
    assert "This form has expired" in reply.text and 'value="7" checked' in reply.text
    assert stored(db) == 0


def test_an_invitation_answers_once(client, db):
    result = apply_survey(db)
    with db.write() as db_session:
        token = service.create_invitation(db_session=db_session, survey=result.survey)
    # The customer opens the link in two tabs, then answers in both.
    tabs = [client.get(f"/s/feedback?t={token}", headers={"accept-language": "en"}) for _ in range(2)]
    data = {"form_token": form_token_from(tabs[0].text), "page": "1", "lang": "en", "q_nps": "9", "t": token}
    assert client.post("/s/feedback", data=data, follow_redirects=False).status_code == 303
    again = data | {"form_token": form_token_from(tabs[1].text), "q_nps": "0"}
    reply = client.post("/s/feedback", data=again)
    assert reply.status_code == 409 and "already been used" in reply.text
    assert "Already answered" in client.get(f"/s/feedback?t={token}", headers={"accept-language": "en"}).text
    assert stored(db) == 1


def test_unknown_closed_and_invalid_invitation_pages(client, db):
    unknown = client.get("/s/no-such-survey")
    assert unknown.status_code == 404 and "Survey not found" in unknown.text and "Traceback" not in unknown.text
    apply_survey(db)
    assert client.get("/s/feedback?t=bogus", headers={"accept-language": "en"}).status_code == 403
    apply_survey(db, status="closed")
    closed = client.get("/s/feedback", headers={"accept-language": "en"})
    assert closed.status_code == 410 and "This survey is closed" in closed.text
    assert client.post("/s/feedback", data={"q_nps": "9"}).status_code == 410


def test_language_follows_the_browser_or_the_choice(client, db):
    apply_survey(db)
    assert "Wie wahrscheinlich empfehlen Sie uns?" in client.get("/s/feedback", headers={"accept-language": "de-DE,de;q=0.9"}).text
    assert "How likely" in client.get("/s/feedback", headers={"accept-language": "fr, en;q=0.5"}).text
    chosen = client.get("/s/feedback?lang=de", headers={"accept-language": "en"})
    assert 'lang="de"' in chosen.text and "Weiter" in chosen.text


def test_garbage_in_the_form_is_never_a_500(client, db):
    apply_survey(db)
    for data in ({"page": "x"}, {"page": "-5", "q_nps": "abc"}, {"q_bought": "boats"}, {"lang": "zz" * 100}):
        assert client.post("/s/feedback", data=data).status_code < 500


def test_back_returns_to_the_earlier_page_with_the_answers_kept(client, db):
    apply_survey(db)
    second = answer_page_one(client, nps="4")
    back = client.post("/s/feedback", data={"form_token": form_token_from(second.text), "page": "1", "lang": "en",
                                            "q_nps": "4", "q_why_low": "half-typed", "back": "1"})
    assert back.status_code == 200 and "Step 1 of 2" in back.text and 'value="4" checked' in back.text
    assert 'name="q_why_low" value="half-typed"' in back.text  # carried along, not lost
    assert stored(db) == 0


def test_the_error_summary_names_the_question(client, db):
    apply_survey(db)
    reply = answer_page_one(client, nps="")
    assert "How likely are you to recommend us?: Please answer this question." in reply.text


def test_a_nul_byte_in_a_comment_is_explained_and_kept(client, db):
    apply_survey(db)
    second = answer_page_one(client, nps="2")
    reply = client.post("/s/feedback", data={"form_token": form_token_from(second.text), "page": "1", "lang": "en",
                                             "q_nps": "2", "q_why_low": "late\x00 again"})
    assert reply.status_code == 422 and "cannot be stored" in reply.text and stored(db) == 0


def test_a_survey_edited_while_being_answered_is_shown_again(client, db):
    from tests.helpers import FEEDBACK_SURVEY

    apply_survey(db)
    page = client.get("/s/feedback", headers={"accept-language": "en"})
    apply_survey(db, FEEDBACK_SURVEY.replace("What did you buy?", "What did you order?"))
    reply = client.post("/s/feedback", data={"form_token": form_token_from(page.text), "page": "1", "lang": "en",
                                             "q_nps": "9"})
    assert reply.status_code == 409 and "This survey was updated" in reply.text and 'value="9" checked' in reply.text
    assert stored(db) == 0


def test_odd_addresses_are_proper_pages(client, db):
    apply_survey(db, status="draft")
    assert client.get("/s/%00").status_code == 404
    assert client.get("/s/%00/thanks").status_code == 404
    assert client.get("/s/feedback/thanks").status_code == 404  # a draft shows nothing, not even thanks
    assert client.get("/s/feedback?t=%00").status_code == 400  # a NUL in any query parameter (web.middleware)
