"""`voxpop sources import|list|show|reanalyse`, with real transcript files in tmp_path."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.qualitative.conftest import FOCUS_GROUP
from voxpop.cli import app
from voxpop.customers.models import Customer

runner = CliRunner()


def cli(*arguments):
    return runner.invoke(app, ["sources", *arguments])


def test_import_list_show_and_reanalyse_a_focus_group(configured, tmp_path):
    db = configured
    with db.write() as db_session:
        db_session.add(Customer(external_id="NW-000123", attributes={"segment": "consumer"}))
    path = tmp_path / "group.vtt"
    path.write_text(FOCUS_GROUP, encoding="utf-8")
    done = cli("import", str(path), "--kind", "focus-group", "--title", "App release", "--date", "2026-11-20",
               "--moderator", "Moderator", "--participant", "Anna=NW-000123", "--participant", "Ben=segment:SMB")
    assert done.exit_code == 0, done.output
    assert "imported 2026-11-20-app-release: 4 turns by 3 participants (vtt)" in done.stdout
    assert "1 with personal data removed" in done.stdout
    listed = cli("list", "--format", "json")
    assert [source["key"] for source in json.loads(listed.stdout)["sources"]] == ["2026-11-20-app-release"]
    assert "2026-11-20-app-release  2026-11-20  focus group  3 participants  4 turns" in cli("list").stdout
    shown = cli("show", "2026-11-20-app-release", "--theme", "delivery")
    assert shown.exit_code == 0, shown.output
    assert "Anna (participant; customer NW-000123, segment consumer): 1 turns" in shown.stdout
    assert "Ben (participant; segment SMB)" in shown.stdout
    assert "[00:00:12] Ben: My parcel arrived five days late" in shown.stdout and "[phone]" in shown.stdout
    assert "crashed" not in shown.stdout
    detail = json.loads(cli("show", "2026-11-20-app-release", "--format", "json").stdout)
    assert detail["total_turns"] == 4 and detail["turns"][0]["role"] == "moderator"
    again = cli("reanalyse")
    assert again.exit_code == 0 and "analysed 0 turns again" in again.stdout
    assert "analysed 4 turns again" in cli("reanalyse", "--all").stdout


def test_errors_name_the_option_or_the_line(configured, tmp_path):
    path = tmp_path / "talk.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nAnna: hi\n\n2\nBen: no time\n", encoding="utf-8")
    bad = cli("import", str(path), "--kind", "interview", "--title", "T", "--date", "2026-11-20")
    assert bad.exit_code == 2 and "line 6: a cue without a time range" in bad.output
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nAnna: hi\n", encoding="utf-8")
    for options, message in ((["--kind", "survey"], "--kind: the kind must be focus-group or interview"),
                             (["--date", "20.11.2026"], "--date must be a day such as 2026-11-20"),
                             (["--participant", "Anna=NW-404"], "--participant: no customer has the id 'NW-404'"),
                             (["--participant", "Zed=segment:SMB"], "'Zed' does not speak in this transcript")):
        arguments = {"--kind": "interview", "--title": "T", "--date": "2026-11-20"}
        arguments.update(dict(zip(options[::2], options[1::2])))
        answer = cli("import", str(path), *[part for pair in arguments.items() for part in pair])
        assert answer.exit_code == 2 and message in " ".join(answer.output.split()), answer.output
    missing = cli("import", str(tmp_path / "nope.txt"), "--kind", "interview", "--title", "T", "--date", "2026-11-20")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    unknown = cli("show", "nope")
    assert unknown.exit_code == 2 and "There is no source 'nope'; `voxpop sources list`" in unknown.output
    assert "no sources yet" in cli("list").stdout
