"""The filter bar's fields: what a page shows back of the filter it was given."""

from __future__ import annotations

from tests.text.stored import submit
from voxpop.collection.filter_params import FilterQuery, filter_form
from voxpop.web.templating import templates

MACRO = '{% import "components.html" as ui %}{{ ui.response_filter_fields(form, {"answer": "Bad test"}) }}'


def test_the_fields_show_the_filter_back_with_every_attribute_value_offered(db):
    submit(db, {"nps": 3}, {"segment": "SMB", "channel": "web"})
    submit(db, {"nps": 9}, {"segment": "Enterprise <b>", "channel": "app"})
    query = FilterQuery(None, None, "last-quarter", ["segment=SMB", "segment=Enterprise <b>", "store=Leeds"],
                        ["nps:detractors"], "UTC")
    with db.read() as db_session:
        form = filter_form(query, db_session)
    html = templates.env.from_string(MACRO).render(form=form)
    assert '<option value="last-quarter" selected>Last quarter</option>' in html
    assert '<option value="segment=SMB" selected>SMB</option>' in html
    assert '<input type="hidden" name="attribute" value="segment=Enterprise &lt;b&gt;">' in html  # escaped
    assert '<option value="channel=app">app</option>' in html
    assert '<option value="store=Leeds" selected>Leeds</option>' in html  # kept although the store has none
    assert 'value="nps:detractors"' in html and "Bad test" in html


def test_on_a_surveys_pages_its_usual_answer_tests_are_offered_and_the_chosen_one_kept(db):
    submit(db, {"nps": 3}, {"segment": "SMB"})
    query = FilterQuery(None, None, None, [], ["nps:detractors", "bought:tents", "csat:9-9"], "UTC")
    with db.read() as db_session:
        form = filter_form(query, db_session, survey="feedback")
    assert ("nps:promoters", "NPS (nps): promoters") in form.answers
    assert ("bought:tents", "What did you buy?: Tents") in form.answers
    assert ("csat:1-2", "CSAT (csat): dissatisfied (1–2)") in form.answers
    html = templates.env.from_string(MACRO).render(form=form)
    assert '<option value="nps:detractors" selected>' in html
    assert '<input type="hidden" name="answer" value="bought:tents">' in html  # a second chosen test travels along
    assert 'value="csat:9-9"' in html and "Bad test" in html  # a typed test stays in its field, with the error
    # Only the attributes the survey declares (channel, segment), not every attribute of the workspace.
    submit(db, {"nps": 9}, {"segment": "SMB", "store": "Leeds"})
    with db.read() as db_session:
        names = [field.name for field in filter_form(query, db_session, survey="feedback").attributes]
        everywhere = [field.name for field in filter_form(query, db_session).attributes]
    assert names == ["segment"] and "store" in everywhere
