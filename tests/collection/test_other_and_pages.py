"""An ordered scale, "Other" with its text box, and pages: on the survey page (no JavaScript) and in the API."""

import re

from sqlalchemy import func, select

from tests.collection.shop import SHOP
from tests.helpers import apply_survey, form_token_from
from voxpop.collection.answers import pages, validate
from voxpop.collection.models import Answer, Response
from voxpop.surveys.models import Question
from voxpop.surveys.service import parse_definition


def stored(db) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(Response))


def stored_answers(db) -> list[tuple[str, str | None, str | None]]:
    """(question, choice, text) of every choice answer, in a stable order."""
    with db.read() as db_session:
        rows = db_session.execute(select(Question.key, Answer.choice, Answer.text)
                                  .join(Question, Answer.question_id == Question.id)
                                  .where(Answer.choice.is_not(None)).order_by(Question.key, Answer.choice))
        return [tuple(row) for row in rows]


def post(client, page_html: str, page: int, *, back: bool = False, **answers):
    """Send a page of the form; `bought__other` stands for the field q_bought.other."""
    data = {"form_token": form_token_from(page_html), "page": str(page), "lang": "en"} | ({"back": "1"} if back else {})
    return client.post("/s/shop", data=data | {f"q_{key}".replace("__", "."): value for key, value in answers.items()},
                       follow_redirects=False)


def carried(html: str) -> dict[str, list[str]]:
    """The hidden answer fields of a page: what travels from the earlier pages."""
    found: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(q_[^"]+)" value="([^"]*)">', html):
        found.setdefault(name, []).append(value)
    return found


def test_page_breaks_and_same_page_conditions_make_the_pages():
    definition = parse_definition(SHOP, source="test")
    assert [[question.key for question in page] for page in pages(definition)] == [
        ["helpful", "bought"], ["found", "missing"], ["nps"]]
    first_breaks = parse_definition(SHOP.replace("    ordered: true\n", "    ordered: true\n    page_break: true\n"), source="t")
    assert len(pages(first_breaks)) == 3  # a break before the first question makes no empty page


def test_other_is_stored_as_the_choice_other_with_the_words_typed():
    definition = parse_definition(SHOP, source="test")
    cleaned, errors = validate(definition, {"helpful": "agree", "bought": ["other", "boots"], "bought.other": " Socks ",
                                            "nps": 9}, max_text_length=100)
    assert errors == [] and cleaned["bought"] == ["boots", "other"] and cleaned["bought.other"] == "Socks"
    _, errors = validate(definition, {"helpful": "agree", "bought": ["other"], "nps": 9}, max_text_length=100)
    assert [(error.question, error.english()) for error in errors] == [
        ("bought", "Please write your other answer in the box below it.")]
    _, errors = validate(definition, {"helpful": "agree", "bought": ["boots"], "bought.other": "Socks", "nps": 9},
                         max_text_length=100)
    assert [error.code for error in errors] == ["error.other_not_chosen"]
    _, errors = validate(definition, {"helpful": "agree", "bought": ["other"], "bought.other": "x" * 101, "nps": 9},
                         max_text_length=100)
    assert [error.code for error in errors] == ["error.too_long"]


def test_three_pages_with_back_keep_every_answer_and_store_nothing_until_the_end(client, db):
    apply_survey(db, SHOP)
    first = client.get("/s/shop", headers={"accept-language": "en"})
    assert "Step 1 of 3" in first.text and "Something else: Please specify" in first.text
    # The ordered scale keeps the file's order.
    assert first.text.index("Disagree") < first.text.index("Neither") < first.text.index(">Agree<")
    second = post(client, first.text, 0, helpful="agree", bought=["boots", "other"], bought__other="Socks")
    assert second.status_code == 200 and "Step 2 of 3" in second.text
    # A condition on page 2 reads an answer from page 1.
    assert "What else should we sell?" in second.text
    assert carried(second.text) == {"q_helpful": ["agree"], "q_bought": ["boots", "other"], "q_bought.other": ["Socks"]}
    assert stored(db) == 0

    back = post(client, second.text, 1, back=True, helpful="agree", bought=["boots", "other"], bought__other="Socks",
                found="friend")
    assert "Step 1 of 3" in back.text and 'value="agree" checked' in back.text and 'value="Socks"' in back.text
    assert carried(back.text) == {"q_found": ["friend"]}  # what was chosen on page 2 waits for the return
    assert stored(db) == 0

    again = post(client, back.text, 0, helpful="agree", bought=["boots", "other"], bought__other="Socks", found="friend")
    assert 'value="friend" checked' in again.text
    third = post(client, again.text, 1, helpful="agree", bought=["boots", "other"], bought__other="Socks",
                 found="other", found__other="A blog", missing="Umbrellas")
    assert "Step 3 of 3" in third.text and stored(db) == 0
    done = post(client, third.text, 2, **carried_answers(third.text), nps="9")
    assert done.status_code == 303 and stored(db) == 1
    assert stored_answers(db) == [("bought", "boots", None), ("bought", "other", "Socks"), ("found", "other", "A blog"),
                                  ("helpful", "agree", None)]


def carried_answers(html: str) -> dict:
    """The carried hidden fields as post() keywords."""
    return {name.removeprefix("q_").replace(".", "__"): values if len(values) > 1 else values[0]
            for name, values in carried(html).items()}


def test_without_other_the_condition_on_it_skips_its_question(client, db):
    apply_survey(db, SHOP)
    first = client.get("/s/shop", headers={"accept-language": "en"})
    second = post(client, first.text, 0, helpful="neutral", bought="tents")
    assert "How did you find us?" in second.text and "What else should we sell?" not in second.text


def test_other_chosen_without_its_text_is_named_on_the_page(client, db):
    apply_survey(db, SHOP)
    first = client.get("/s/shop", headers={"accept-language": "en"})
    reply = post(client, first.text, 0, helpful="agree", bought="other", bought__other="  ")
    assert reply.status_code == 422 and "Step 1 of 3" in reply.text
    assert "What did you buy?: Please write your other answer in the box below it." in reply.text
    assert stored(db) == 0


def test_a_text_under_other_without_choosing_it_is_not_kept(client, db):
    apply_survey(db, SHOP)
    first = client.get("/s/shop", headers={"accept-language": "en"})
    second = post(client, first.text, 0, helpful="agree", bought="boots", bought__other="Socks")
    assert second.status_code == 200 and "q_bought.other" not in carried(second.text)


def test_tampered_carried_answers_are_checked_again_at_the_end(client, db):
    apply_survey(db, SHOP)
    first = client.get("/s/shop", headers={"accept-language": "en"})
    second = post(client, first.text, 0, helpful="agree", bought="boots")
    third = post(client, second.text, 1, **carried_answers(second.text), found="friend")
    answers = carried_answers(third.text) | {"helpful": "strongly-agree"}  # not an option: a forged hidden field
    reply = post(client, third.text, 2, **answers, nps="9")
    assert reply.status_code == 422 and "Step 1 of 3" in reply.text
    assert "The staff were helpful.: Please choose one of the options shown." in reply.text
    # A carried answer that skips a required question of an earlier page is caught there too.
    skipped = post(client, third.text, 2, bought="boots", found="friend", nps="9")
    assert skipped.status_code == 422 and "Please answer this question." in skipped.text
    assert stored(db) == 0


def test_the_page_is_in_the_respondents_language_with_the_standard_other_label(client, db):
    apply_survey(db, SHOP)
    first = client.get("/s/shop?lang=de")
    assert "Etwas anderes: Bitte angeben" in first.text
    page_two = client.post("/s/shop", data={"form_token": form_token_from(first.text), "page": "0", "lang": "de",
                                            "q_helpful": "agree"})
    assert "Sonstiges: Bitte angeben" in page_two.text  # other: true takes voxpop's own label


def test_the_api_takes_the_other_text_beside_its_choice(client, db):
    apply_survey(db, SHOP)
    url = "/api/v1/surveys/shop/responses"
    reply = client.post(url, json={"answers": {"helpful": "agree", "bought": ["other"], "bought.other": "Socks",
                                               "nps": 3}})
    assert reply.status_code == 201
    assert stored_answers(db) == [("bought", "other", "Socks"), ("helpful", "agree", None)]
    refused = client.post(url, json={"answers": {"helpful": "agree", "bought": ["boots"], "bought.other": "Socks",
                                                 "nps": 3}})
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "answers.bought", "message": "The text box belongs to the other "
                                         "answer, which is not chosen: choose it, or clear the text."}]
    unknown = client.post(url, json={"answers": {"helpful": "agree", "nps": 3, "helpful.other": "x"}})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "answers.helpful.other"
    assert stored(db) == 1
