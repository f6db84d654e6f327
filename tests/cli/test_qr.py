"""`voxpop survey qr`: the code of a survey link with its attributes, decoded back to the exact link."""

import csv
import io
import zipfile

from typer.testing import CliRunner

from tests.collection.reach_survey import STORES
from tests.collection.test_qr import decoded
from tests.helpers import apply_survey
from voxpop.cli import app

runner = CliRunner()


def test_a_png_for_one_store_holds_the_link(configured, tmp_path, monkeypatch):
    monkeypatch.setenv("VOXPOP_PUBLIC_URL", "https://feedback.example")
    apply_survey(configured, STORES)
    output = tmp_path / "berlin.png"
    made = runner.invoke(app, ["survey", "qr", "instore", "--attribute", "store=Berlin", "-a", "channel=table 7",
                               "--lang", "de", "--format", "png", "--output", str(output)])
    assert made.exit_code == 0, made.output
    link = "https://feedback.example/s/instore?lang=de&channel=table+7&store=Berlin"
    assert f"wrote {output} for {link}" in made.output.replace("\n", "")
    assert decoded(output.read_bytes()) == link


def test_an_svg_by_default_and_a_zip_per_store(configured, tmp_path):
    apply_survey(configured, STORES)
    svg = tmp_path / "code.svg"
    assert runner.invoke(app, ["survey", "qr", "instore", "--output", str(svg)]).exit_code == 0
    assert svg.read_text().startswith("<?xml") and "<svg" in svg.read_text()
    archive = tmp_path / "stores.zip"
    made = runner.invoke(app, ["survey", "qr", "instore", "--each", "store", "--format", "png", "--output", str(archive)])
    assert made.exit_code == 0 and "with one code per store" in made.output
    with zipfile.ZipFile(archive) as codes:
        rows = list(csv.DictReader(io.StringIO(codes.read("links.csv").decode())))
        assert [row["link"].rsplit("=", 1)[1] for row in rows] == ["Berlin", "M%C3%BCnchen", "Hamburg"]
        assert all(decoded(codes.read(row["file"])) == row["link"] for row in rows)


def test_bad_options_are_refused_by_name(configured, tmp_path):
    apply_survey(configured, STORES)
    output = tmp_path / "code.svg"
    refusals = {
        ("--attribute", "store=Köln"): "--attribute store: 'Köln' is not one of the values survey 'instore' allows",
        ("--attribute", "store"): "--attribute 'store' needs the form name=value",
        ("--attribute", "table=7"): "'table' is not an attribute of survey 'instore'",
        ("--lang", "fr"): "--lang: the survey is in de, en, not 'fr'",
        ("--each", "channel"): "--each: 'channel' has no list of values",
    }
    for options, message in refusals.items():
        refused = runner.invoke(app, ["survey", "qr", "instore", *options, "--output", str(output)])
        assert refused.exit_code == 2 and message in " ".join(refused.output.split()), refused.output
    assert not output.exists()  # nothing half-made
    missing = runner.invoke(app, ["survey", "qr", "nothing", "--output", str(output)])
    assert missing.exit_code == 2 and "there is no survey with key 'nothing'" in missing.output.lower()
    unwritable = runner.invoke(app, ["survey", "qr", "instore", "--output", str(tmp_path / "no" / "such" / "dir.svg")])
    assert unwritable.exit_code == 1 and "Cannot write" in unwritable.output
