"""A survey may list the values a public link may give an attribute; other values are left out and counted."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.collection.reach_survey import STORES
from tests.helpers import apply_survey, login, make_user
from voxpop.collection.attributes import drop_unlisted, keep_listed, unlisted_counts
from voxpop.collection.models import AttributeSetValue, Response
from voxpop.surveys.builder import attributes_from_text, attributes_text, form_values
from voxpop.surveys.schemas import link_value
from voxpop.surveys.service import SurveyFileError, dump_definition, fingerprint, parse_definition

PLAIN = STORES.replace("[channel, {key: store, values: [Berlin, München, Hamburg]}]", "[channel, store]")


def test_both_forms_are_read_and_written_back():
    definition = parse_definition(STORES, source="t")
    assert definition.attributes == ["channel", "store"]
    assert definition.allowed_values == {"store": ["Berlin", "München", "Hamburg"]}
    for format in ("yaml", "json"):
        assert parse_definition(dump_definition(definition, format=format), source="again") == definition
    # A survey that lists no values is written as before, so its fingerprint (and version) does not change.
    plain = parse_definition(PLAIN, source="t")
    assert dump_definition(plain, format="json").count('"store"') == 1 and plain.allowed_values == {}
    assert fingerprint(plain) != fingerprint(definition)


def test_listed_values_are_normalised_and_checked():
    decomposed = unicodedata.normalize("NFD", "München")
    definition = parse_definition(STORES.replace("München", f"' {decomposed} '").replace("Hamburg", "12"), source="t")
    assert definition.allowed_values["store"] == ["Berlin", "München", "12"]  # NFC, trimmed; a number as text
    cases = {
        "[Berlin, Berlin]": "attributes[1].values[1]: 'Berlin' is listed twice",
        "[yes, Berlin]": "attributes[1].values: a value reads as true/false: put it in quotes",
        "[]": "attributes[1].values: List should have at least 1 item",
        "[Berlin, 'A|B']": "attributes[1].values[1]: 'A|B' holds '|' or ';'",
    }
    for values, problem in cases.items():
        with pytest.raises(SurveyFileError) as refused:
            parse_definition(STORES.replace("[Berlin, München, Hamburg]", values), source="t")
        assert problem in str(refused.value)
    with pytest.raises(SurveyFileError) as refused:
        parse_definition(STORES.replace("{key: store,", "{key: Store,"), source="t")
    assert "attributes[1].key: String should match pattern" in str(refused.value)
    assert "constrained-str" not in str(refused.value)  # only the form written is named


def test_the_builder_field_keeps_the_values_in_order():
    listed = ["channel", {"key": "store", "values": ["Berlin", "New York"]}, "segment", "table"]
    text = attributes_text(listed)
    assert text == "channel; store = Berlin | New York; segment, table"
    assert attributes_from_text(text) == listed
    assert attributes_from_text("channel, segment") == ["channel", "segment"]  # the old field still reads
    draft = parse_definition(STORES, source="t").model_dump(mode="json", by_alias=True, exclude_none=True)
    assert form_values(draft)["attributes"] == "channel; store = Berlin | München | Hamburg"


def test_only_listed_values_are_kept_in_the_lists_spelling():
    definition = parse_definition(STORES, source="t")
    kept, unlisted = keep_listed(definition, {"channel": "poster", "store": " Mu\u0308nchen "})
    assert kept == {"channel": "poster", "store": "München"} and unlisted == {}
    kept, unlisted = keep_listed(definition, {"channel": "poster", "store": "munich"})
    assert kept == {"channel": "poster"} and unlisted == {"store": "munich"}


@given(st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12),
                min_size=1, max_size=5), st.data())
def test_any_listed_value_is_kept_however_it_is_spaced_or_composed(values, data):
    listed = list(dict.fromkeys(value for value in map(link_value, values) if value and not set("|;'\\") & set(value)))
    if not listed:
        return
    definition = parse_definition(STORES.replace("[Berlin, München, Hamburg]", "[" + ", ".join(
        "'" + value + "'" for value in listed) + "]"), source="t")
    value = data.draw(st.sampled_from(listed))
    form = data.draw(st.sampled_from(["NFC", "NFD"]))
    sent = data.draw(st.sampled_from(["", " ", "\t"])) + unicodedata.normalize(form, value) + data.draw(st.sampled_from(["", " "]))
    assert keep_listed(definition, {"store": sent}) == ({"store": definition.allowed_values["store"][listed.index(value)]}, {})


def test_unlisted_values_are_counted_per_attribute(db):
    survey = apply_survey(db, STORES).survey
    definition = parse_definition(STORES, source="t")
    for value in ("Munchen", "Köln"):  # in a Connection's transaction, as collection.flows writes a response
        with db.write_connection() as db_session:
            kept = drop_unlisted(db_session, survey_id=survey.id, definition=definition,
                                 attributes={"store": value, "channel": "qr"})
            assert kept == {"channel": "qr"}
    with db.read() as db_session:
        [row] = unlisted_counts(db_session, survey_id=survey.id)
        assert (row.name, row.responses, row.last_value) == ("store", 2, "Köln")


def test_a_widget_answer_with_an_unlisted_store_is_kept_without_it_and_staff_see_the_count(client, db):
    apply_survey(db, STORES)
    for number, store in enumerate(("Berlin", "Munchen", "Munchen", " Hamburg ")):
        sent = client.post("/api/v1/surveys/instore/widget", headers={"Idempotency-Key": f"k{number}"},
                           json={"question": "nps", "score": 9, "attributes": {"store": store}})
        assert sent.status_code == 201, sent.text
    with db.read() as db_session:
        stores = db_session.scalars(select(AttributeSetValue.value).join(
            Response, Response.attribute_set_id == AttributeSetValue.set_id).where(AttributeSetValue.name == "store")).all()
        assert sorted(stores) == ["Berlin", "Hamburg"]
        assert db_session.query(Response).count() == 4  # nobody was turned away
    login(client, make_user(db, "analyst"))
    page = client.get("/surveys/instore/share")
    assert "2 responses arrived with a store value not in the survey's list" in page.text
    assert "the latest was “Munchen”" in page.text
    assert client.get("/api/v1/surveys/instore/share").json()["unlisted"][0]["responses"] == 2


def test_the_survey_page_keeps_a_response_from_a_link_with_an_unlisted_store_without_it(client, db):
    """`?store=anything` on the public page no longer makes a new store with n = 1: the value is left out and
    counted; the customer's answers are kept, and a listed value (in another Unicode form) is stored as listed."""
    from tests.helpers import form_token_from

    apply_survey(db, STORES)
    for store in ("Munich", "Mu\u0308nchen"):
        page = client.get(f"/s/instore?store={store}&channel=poster", headers={"accept-language": "en"})
        assert page.status_code == 200
        done = client.post("/s/instore", data={"form_token": form_token_from(page.text), "page": "0", "lang": "en",
                                                "q_nps": "9", "a_store": store, "a_channel": "poster"},
                           follow_redirects=False)
        assert done.status_code == 303, done.text
    with db.read() as db_session:
        assert db_session.query(Response).count() == 2
        values = db_session.execute(select(AttributeSetValue.name, AttributeSetValue.value).join(
            Response, Response.attribute_set_id == AttributeSetValue.set_id).order_by(Response.id)).all()
        assert sorted(values) == [("channel", "poster"), ("channel", "poster"), ("store", "München")]
        [row] = unlisted_counts(db_session, survey_id=db_session.scalar(select(Response.survey_id)))
        assert (row.name, row.responses, row.last_value) == ("store", 1, "Munich")
