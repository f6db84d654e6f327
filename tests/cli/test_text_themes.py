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
    assert {row["theme"]: row["label"] for row in from_cli["themes"]}["delivery.late"] == "Late delivery"
    assert client.get("/api/v1/themes?survey=nope").status_code == 404
    unknown = CliRunner().invoke(app, ["text", "themes", "--survey", "nope"])
    assert unknown.exit_code == 2 and "leave out --survey" in unknown.output


def test_an_infinite_z_is_null_from_the_api_and_the_cli_alike(client, db, configured):
    import json

    from typer.testing import CliRunner

    from tests.helpers import login, make_user
    from voxpop.cli import app

    # Every detractor mentions delivery and nobody else does: neither side varies, so z is infinite.
    for i in range(30):
        submit(db, {"nps": 2, "why_low": f"The parcel arrived late, order {i}"})
        submit(db, {"nps": 10, "why_high": f"Lovely staff in the shop, visit {i}"})
    analyse(db)
    login(client, make_user(db, "viewer"))
    from_api = client.get("/api/v1/themes").json()
    printed = CliRunner().invoke(app, ["text", "themes", "--format", "json"]).stdout
    assert "Infinity" not in printed and json.loads(printed) == from_api
    delivery = next(row for row in from_api["themes"] if row["theme"] == "delivery")
    assert delivery["nps_difference"]["difference"] == -200.0 and delivery["nps_difference"]["statistic"] is None
    table = CliRunner().invoke(app, ["text", "themes"], env={"COLUMNS": "160"}).stdout
    assert "Late delivery" in table and "delivery.late" in table and "Staff and service" in table


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


def test_the_codebook_is_shown_saved_and_listed_from_the_command_line(db, configured, tmp_path):
    from typer.testing import CliRunner

    from voxpop.cli import app
    from voxpop.text.codebook import DEFAULT_CODEBOOK_YAML

    runner = CliRunner()
    submit(db, {"nps": 4, "why_low": "No parking at the store"})
    analyse(db)
    assert runner.invoke(app, ["text", "codebook", "show"]).stdout == DEFAULT_CODEBOOK_YAML
    assert "built-in codebook (version 0) is in use" in runner.invoke(app, ["text", "codebook", "history"]).stdout
    edited = tmp_path / "codebook.yaml"
    edited.write_text(DEFAULT_CODEBOOK_YAML + "- key: parking\n  phrases: [parking]\n", encoding="utf-8")
    unsure = runner.invoke(app, ["text", "codebook", "set", str(edited)])
    assert unsure.exit_code == 2 and "--base-version" in unsure.output
    saved = runner.invoke(app, ["text", "codebook", "set", str(edited), "--base-version", "0", "--note", "parking"])
    assert saved.exit_code == 0 and "saved codebook version 1" in saved.stdout
    stale = runner.invoke(app, ["text", "codebook", "set", str(edited), "--base-version", "0"])
    assert stale.exit_code == 2 and "version 1 was saved after you opened version 0" in stale.output
    again = runner.invoke(app, ["text", "codebook", "set", str(edited), "--force"])
    assert again.exit_code == 2 and "nothing changed since version 1" in again.output
    backfill = runner.invoke(app, ["text", "backfill"])
    assert "re-tagged 1 with the codebook in use" in backfill.stdout
    assert "parking" in runner.invoke(app, ["text", "codebook", "history"]).stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("themes: [\n", encoding="utf-8")
    refused = runner.invoke(app, ["text", "codebook", "set", str(broken), "--base-version", "1"])
    assert refused.exit_code == 2 and "line 2, column 1" in refused.output
