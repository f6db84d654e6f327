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
