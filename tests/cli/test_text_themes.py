"""`voxpop text themes` and GET /api/v1/themes: the same theme metrics."""

from tests.text.stored import analyse, submit


def test_the_api_and_the_cli_give_the_same_themes(client, db, configured):
    import json

    from typer.testing import CliRunner

    from tests.helpers import login, make_user
    from voxpop.cli import app

    for i in range(5):
        submit(db, {"nps": 4, "why_low": f"The parcel arrived late, order {i}"})
    analyse(db)
    login(client, make_user(db, "viewer"))
    from_api = client.get("/api/v1/themes").json()
    from_cli = json.loads(CliRunner().invoke(app, ["text", "themes", "--format", "json"]).stdout)
    assert from_api == from_cli and from_api["themes"][0]["comments"] == 5
    assert client.get("/api/v1/themes?survey=nope").status_code == 404


def test_the_themes_page_shows_the_pareto_and_escapes(client, db):
    from tests.helpers import login, make_user

    for i in range(3):
        submit(db, {"nps": 2, "why_low": f"The parcel arrived late <script>x()</script> {i}"})
    analyse(db)
    assert client.get("/themes", follow_redirects=False).status_code == 303
    login(client, make_user(db, "viewer"))
    page = client.get("/themes")
    assert page.status_code == 200 and "Pareto" in page.text and "delivery" in page.text
    assert "<script>x()" not in page.text
