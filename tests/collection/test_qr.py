"""QR codes for a survey's public link: the decoded code is the exact link; the share page, downloads and zip."""

import csv
import io
import json
import zipfile
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import cv2
import numpy
import pytest

from tests.collection.reach_survey import STORES
from tests.helpers import apply_survey, login, make_user
from voxpop.collection.models import Answer, Response
from voxpop.collection.qr import LinkProblem, codes_per_value, public_link, qr_code
from voxpop.surveys.service import parse_definition

BASE = "https://voxpop.example"


def decoded(png: bytes) -> str:
    """What a phone's camera reads from the code (OpenCV's QR detector)."""
    image = cv2.imdecode(numpy.frombuffer(png, numpy.uint8), cv2.IMREAD_GRAYSCALE)
    text, corners, _ = cv2.QRCodeDetector().detectAndDecode(image)
    assert corners is not None, "no QR code found in the image"
    return text


def test_the_link_carries_the_attributes_and_is_checked():
    definition = parse_definition(STORES, source="t")
    link = public_link(BASE + "/", definition, {"store": "Mu\u0308nchen ", "channel": "table card"}, "de")
    assert link == f"{BASE}/s/instore?lang=de&channel=table+card&store=M%C3%BCnchen"
    assert parse_qs(urlsplit(link).query) == {"lang": ["de"], "store": ["München"], "channel": ["table card"]}
    assert public_link(BASE, definition, {"store": "", "channel": " "}) == f"{BASE}/s/instore"
    refusals = [
        ({"store": "Köln"}, None, "store", "'Köln' is not one of the values survey 'instore' allows for store: Berlin, Hamburg, München"),
        ({"table": "7"}, None, "table", "'table' is not an attribute of survey 'instore' (its attributes: channel, store)"),
        ({}, "fr", "language", "the survey is in de, en, not 'fr'"),
        ({"channel": "x" * 201}, None, "channel", "the channel value is 201 characters long; a link carries at most 200"),
    ]
    for attributes, language, field, message in refusals:
        with pytest.raises(LinkProblem) as refused:
            public_link(BASE, definition, attributes, language)
        assert (refused.value.field, refused.value.message) == (field, message)


def test_the_png_decodes_to_the_exact_link_and_the_svg_is_a_titled_image():
    link = public_link(BASE, parse_definition(STORES, source="t"), {"store": "München", "channel": "Tisch 7"}, "de")
    assert decoded(qr_code(link, "png")) == link
    svg = ElementTree.fromstring(qr_code(link, "svg"))
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.find("{http://www.w3.org/2000/svg}title").text == link
    assert "style" not in qr_code(link, "svg").decode()  # nothing a strict CSP would refuse


def test_one_code_per_listed_value_in_a_zip():
    definition = parse_definition(STORES, source="t")
    archive = zipfile.ZipFile(io.BytesIO(codes_per_value(BASE, definition, "store", {"channel": "poster"}, "png")))
    links = {row["file"]: row["link"] for row in csv.DictReader(io.StringIO(archive.read("links.csv").decode()))}
    assert list(links) == ["instore-channel-poster-store-berlin.png", "instore-channel-poster-store-m-nchen.png",
                           "instore-channel-poster-store-hamburg.png"]
    for name, link in links.items():
        assert decoded(archive.read(name)) == link
    assert links["instore-channel-poster-store-m-nchen.png"] == f"{BASE}/s/instore?channel=poster&store=M%C3%BCnchen"
    with pytest.raises(LinkProblem, match="'channel' has no list of values in survey 'instore'"):
        codes_per_value(BASE, definition, "channel", {}, "svg")


def test_the_share_page_builds_the_link_and_its_code(client, db, settings):
    apply_survey(db, STORES)
    login(client, make_user(db, "manager"))
    page = client.get("/surveys/instore/share", params={"a_store": "Hamburg", "a_channel": "flyer", "lang": "en"})
    assert page.status_code == 200
    link = f"{settings.public_url}/s/instore?lang=en&channel=flyer&store=Hamburg"
    assert f'value="{link.replace("&", "&amp;")}"' in page.text
    assert '<option value="Hamburg" selected>Hamburg</option>' in page.text and 'name="a_channel"' in page.text
    code = client.get("/surveys/instore/qr.png", params={"a_store": "Hamburg", "a_channel": "flyer", "lang": "en"})
    assert code.headers["content-type"] == "image/png" and decoded(code.content) == link
    svg = client.get("/surveys/instore/qr.svg", params={"a_store": "Hamburg", "download": "1"})
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["content-disposition"] == 'attachment; filename="instore-store-hamburg.svg"'
    batch = client.get("/surveys/instore/qr.zip", params={"each": "store", "format": "svg", "a_channel": "flyer"})
    assert batch.headers["content-type"] == "application/zip"
    assert len(zipfile.ZipFile(io.BytesIO(batch.content)).namelist()) == 4  # three stores and links.csv
    as_json = client.get("/api/v1/surveys/instore/share", params={"a_store": "Hamburg", "a_channel": "flyer", "lang": "en"})
    assert as_json.json()["link"] == link and as_json.json()["unlisted"] == []
    assert as_json.json()["widget"] == (
        f'<script src="{settings.public_url}/widget.js" data-survey="instore" data-question="nps" '
        f'data-attributes="channel=flyer&amp;store=Hamburg" async></script>\n'
        f'<a class="voxpop-fallback" href="{link.replace("&", "&amp;")}">Tell us how we did</a>')


def test_the_widget_is_offered_only_for_a_question_it_may_ask_alone(client, db):
    apply_survey(db, STORES.replace("kind: csat", "kind: csat\n    required: true"))
    login(client, make_user(db, "analyst"))
    assert "no other question may be required" in client.get("/surveys/instore/share").text
    assert client.get("/api/v1/surveys/instore/share").json()["widget"] is None


def test_bad_requests_get_a_sentence_not_a_500(client, db):
    apply_survey(db, STORES)
    login(client, make_user(db, "analyst"))
    refused = client.get("/surveys/instore/share", params={"a_store": "Köln"})
    assert refused.status_code == 422 and "&#39;Köln&#39; is not one of the values" in refused.text
    assert '<a href="#a_store">' in refused.text  # the summary leads to the field
    assert client.get("/surveys/instore/qr.png", params={"a_store": "Köln"}).status_code == 422
    assert client.get("/surveys/instore/qr.gif").status_code == 404
    assert client.get("/surveys/instore/qr.zip", params={"each": "channel"}).status_code == 422
    assert client.get("/surveys/instore/qr.zip", params={"each": "store", "format": "gif"}).status_code == 400
    assert client.get("/surveys/instore/qr.zip").status_code == 400  # which attribute? the page says
    assert client.get("/surveys/nothing/share").status_code == 404
    assert client.get("/api/v1/surveys/nothing/share").json()["status"] == 404
    problem = client.get("/api/v1/surveys/instore/share", params={"a_store": "Köln"}).json()
    assert problem["errors"][0]["field"] == "store"


@pytest.mark.parametrize("path", ["/surveys/instore/share", "/surveys/instore/qr.png", "/api/v1/surveys/instore/share",
                                  "/surveys/instore/qr.zip?each=store"])
def test_only_staff_who_build_or_read_surveys_may_share(client, db, path):
    apply_survey(db, STORES)
    assert client.get(path, follow_redirects=False).status_code in (303, 401)
    login(client, make_user(db, "viewer"))
    assert client.get(path).status_code == 403


def test_the_widget_script_is_served_for_other_sites_and_cached(client):
    script = client.get("/widget.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert script.headers["access-control-allow-origin"] == "*"
    assert script.headers["cache-control"] == "public, max-age=3600"
    assert client.get("/widget.js", headers={"If-None-Match": script.headers["etag"]}).status_code == 304
    assert "adoptedStyleSheets" in script.text and ".style." not in script.text and "innerHTML" not in script.text


def test_the_widget_asks_one_question_in_the_pages_language(client, db):
    # csat alone would leave the required nps unanswered: the widget is refused, and the plain link stays
    apply_survey(db, STORES)
    refused = client.get("/api/v1/surveys/instore/widget", params={"question": "csat"})
    assert refused.status_code == 409 and refused.json()["detail"] == (
        "The survey 'instore' also requires nps: the widget asks one question, so link to the survey instead.")
    apply_survey(db, STORES.replace("required: true", "required: false"))
    config = client.get("/api/v1/surveys/instore/widget", params={"question": "csat", "lang": "de"})
    assert config.headers["access-control-allow-origin"] == "*"
    body = config.json()
    assert body["language"] == "de" and body["question"] == {
        "key": "csat", "kind": "csat", "text": "Wie zufrieden sind Sie?", "low": 1, "high": 5,
        "low_label": "Gar nicht", "high_label": "Völlig"}
    assert body["words"]["close"] == "Schließen" and body["fallback"].endswith("/s/instore?lang=de")
    nps = client.get("/api/v1/surveys/instore/widget", headers={"Accept-Language": "fr"}).json()
    assert nps["question"]["key"] == "nps" and nps["language"] == "en"  # the survey has no French: its first
    assert nps["question"]["low_label"] == "Not at all likely"
    assert client.get("/api/v1/surveys/instore/widget", params={"question": "why"}).status_code == 404
    assert client.get("/api/v1/surveys/nothing/widget").status_code == 404
    unknown = client.get("/api/v1/surveys/instore/widget", params={"question": "why"}).json()["detail"]
    assert unknown == "The widget asks an NPS or CSAT question of survey 'instore' (nps, csat), not 'why'."


def test_a_widget_answer_is_recorded_once_per_idempotency_key(client, db):
    apply_survey(db, STORES.replace("required: true", "required: false"))
    preflight = client.options("/api/v1/surveys/instore/widget", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,idempotency-key"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
    assert "Idempotency-Key" in preflight.headers["access-control-allow-headers"]
    answer = {"question": "nps", "score": 10, "language": "de"}
    first = client.post("/api/v1/surveys/instore/widget", json=answer, headers={"Idempotency-Key": "same"})
    again = client.post("/api/v1/surveys/instore/widget", json=answer, headers={"Idempotency-Key": "same"})
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    assert again.json()["replayed"] is True
    with db.read() as db_session:
        [response] = db_session.query(Response).all()
        assert (response.channel, response.language) == ("widget", "de")
        assert [answer.score for answer in db_session.query(Answer).all()] == [10]
    assert client.post("/api/v1/surveys/instore/widget", json=answer).status_code == 400
    out_of_scale = client.post("/api/v1/surveys/instore/widget", json=answer | {"question": "csat", "score": 9},
                               headers={"Idempotency-Key": "csat-9"})
    assert out_of_scale.status_code in (409, 422) and out_of_scale.headers["access-control-allow-origin"] == "*"


def test_a_widget_answer_with_unstorable_attributes_or_a_boolean_score_is_refused_before_recording(client, db):
    apply_survey(db, STORES.replace("required: true", "required: false"))
    url = "/api/v1/surveys/instore/widget"
    bad = [{"question": "nps", "score": 9, "attributes": {"a\ud800": "x"}},
           {"question": "nps", "score": 9, "attributes": {"region": "\ud800"}},
           {"question": "nps", "score": 9, "attributes": {"region": "north\x00"}},
           {"question": "nps", "score": True}]
    for number, body in enumerate(bad):
        # httpx cannot encode a lone surrogate as UTF-8: send the JSON escape, as a browser's JSON.stringify would
        content = json.dumps(body).encode()
        reply = client.post(url, content=content, headers={"Idempotency-Key": f"bad-{number}",
                                                           "Content-Type": "application/json"})
        assert reply.status_code == 422, (body, reply.text)
        fields = reply.text
        assert ("score" if "attributes" not in body else "attributes") in fields
    with db.read() as db_session:
        assert db_session.query(Response).count() == 0
