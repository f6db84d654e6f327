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
