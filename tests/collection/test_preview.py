"""The staff preview of a survey: the customer's page, marked, with nothing to send; problems listed, never a 500."""

import pytest
from sqlalchemy import func, select

from tests.collection.shop import SHOP
from tests.helpers import FEEDBACK_SURVEY, apply_survey, csrf_from, login, make_user
from voxpop.collection.models import Response


def logged_in(client, db, role: str = "analyst") -> str:
    login(client, make_user(db, role))
    return csrf_from(client.get("/dashboard").text)


def preview(client, csrf: str, definition: str, **fields):
    return client.post("/surveys/preview", data={"csrf_token": csrf, "definition": definition} | fields)


@pytest.mark.parametrize("role", ["admin", "manager", "analyst"])
def test_a_definition_is_drawn_as_the_customer_sees_it(client, db, role):
    reply = preview(client, logged_in(client, db, role), SHOP, language="de", page="1")
    assert reply.status_code == 200
    assert "Preview — answers are not recorded." in reply.text and "Page 2 of 3, in de." in reply.text
    assert "Wie haben Sie uns gefunden?" in reply.text
    # Conditional questions are shown, each saying when it is asked; nothing can be sent.
    assert "Was sollten wir noch verkaufen?" in reply.text and "Asked only when bought is other." in reply.text
    assert 'class="primary" disabled' in reply.text and 'name="form_token" value=""' in reply.text
    # Its other pages are reached by sending the definition again.
    assert 'name="page" value="2"' in reply.text and 'name="definition" value="' in reply.text


def test_the_preview_may_be_framed_by_this_site_only(client, db):
    reply = preview(client, logged_in(client, db), SHOP)
    assert reply.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in reply.headers["content-security-policy"]
    assert client.get("/dashboard").headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in client.get("/s/anything").headers["content-security-policy"]


def test_a_bad_definition_lists_its_problems(client, db):
    csrf = logged_in(client, db)
    reply = preview(client, csrf, SHOP.replace("eq: other", "eq: socks"))
    assert reply.status_code == 422
    assert "The survey cannot be previewed until these are fixed" in reply.text
    assert "questions[3].show_if: &#39;socks&#39; is not an option of &#39;bought&#39; (boots, other, tents)" in reply.text
    for broken in ("key: [unclosed", "- just a list", "", "key: s\ntitle: T\nquestions: []\n"):
        refused = preview(client, csrf, broken)
        assert refused.status_code == 422 and "cannot be previewed" in refused.text


def test_bad_fields_are_refused_with_a_sentence_not_a_500(client, db):
    csrf = logged_in(client, db)
    assert preview(client, csrf, SHOP, page="two").status_code == 400
    assert preview(client, csrf, SHOP, page="99").status_code == 200  # past the end: the last page
    assert preview(client, csrf, SHOP, language="xx").status_code == 200  # not a survey language: the first


def test_only_staff_who_build_or_read_surveys_may_preview(client, db):
    assert client.post("/surveys/preview", data={"definition": SHOP}, follow_redirects=False).status_code in (303, 403)
    csrf = logged_in(client, db, "agent")
    assert preview(client, csrf, SHOP).status_code == 403
    assert client.get("/surveys/shop/preview").status_code == 403


def test_the_form_needs_its_csrf_token(client, db):
    logged_in(client, db)
    assert preview(client, "forged", SHOP).status_code == 403


def test_a_saved_survey_is_previewed_by_version_and_language(client, db):
    apply_survey(db, FEEDBACK_SURVEY)
    apply_survey(db, FEEDBACK_SURVEY.replace("What did you buy?", "What did you buy today?"))
    logged_in(client, db)
    newest = client.get("/surveys/feedback/preview?page=1")
    assert newest.status_code == 200 and "What did you buy today?" in newest.text
    first = client.get("/surveys/feedback/preview?version=1&language=de&page=1")
    assert "Was haben Sie gekauft?" in first.text and 'lang="de"' in first.text
    assert "?language=en&amp;version=1&amp;page=0" in first.text  # its language links keep the version
    assert 'href="?language=de&amp;version=1&amp;page=0"' in first.text  # and its page links too
    missing = client.get("/surveys/feedback/preview?version=7")
    assert missing.status_code == 404 and "has no version 7 (its versions: 1, 2)" in missing.text
    assert client.get("/surveys/nothing/preview").status_code == 404
    assert client.get("/surveys/feedback/preview?version=x").status_code == 400


def test_a_preview_records_nothing(client, db):
    apply_survey(db, SHOP)
    preview(client, logged_in(client, db), SHOP)
    client.get("/surveys/shop/preview")
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(Response)) == 0
