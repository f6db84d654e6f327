"""The command line: exit 2 and a clear message for bad input, against the configured database."""

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.helpers import FEEDBACK_SURVEY
from voxpop.accounts.models import User
from voxpop.cli import app

runner = CliRunner()


def test_survey_apply_creates_then_versions(configured, tmp_path):
    path = tmp_path / "feedback.yaml"
    path.write_text(FEEDBACK_SURVEY)
    first = runner.invoke(app, ["survey", "apply", str(path)])
    assert first.exit_code == 0 and "created: version 1" in first.output
    path.write_text(FEEDBACK_SURVEY.replace("What did you buy?", "What did you order?"))
    second = runner.invoke(app, ["survey", "apply", str(path)])
    assert second.exit_code == 0 and "new version: version 2" in second.output


def test_survey_apply_names_the_bad_field(configured, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"key": "s", "title": "T", "questions": [{"key": "q", "kind": "nps", "text": "R?", "required": "often"}]}')
    result = runner.invoke(app, ["survey", "apply", str(path)])
    assert result.exit_code == 2
    assert "questions[0].required: Input should be a valid boolean" in result.stderr


def test_survey_apply_on_a_missing_or_non_utf8_file(configured, tmp_path):
    assert runner.invoke(app, ["survey", "apply", str(tmp_path / "none.yaml")]).exit_code == 2
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("key: s\ntitle: Café\n".encode("cp1252"))
    result = runner.invoke(app, ["survey", "apply", str(latin)])
    assert result.exit_code == 2 and "save it as UTF-8" in result.stderr


def test_user_create_with_password_on_stdin(configured):
    result = runner.invoke(app, ["user", "create", "Ana@Example.com", "--role", "agent", "--password-stdin"],
                           input="a long enough secret\n")
    assert result.exit_code == 0, result.output
    with configured.read() as db_session:
        user = db_session.scalar(select(User))
        assert (user.email, user.role) == ("ana@example.com", "agent")
        assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize("arguments, message", [
    (["--role", "boss"], "Unknown role 'boss'"),
    (["--role", "admin"], "at least 10 characters"),
])
def test_user_create_refuses_bad_input(configured, arguments, message):
    result = runner.invoke(app, ["user", "create", "x@example.com", *arguments, "--password-stdin"], input="short\n")
    assert result.exit_code == 2 and message in result.stderr


def test_invite_prints_single_use_links(configured, tmp_path):
    path = tmp_path / "feedback.yaml"
    path.write_text(FEEDBACK_SURVEY)
    runner.invoke(app, ["survey", "apply", str(path)])
    result = runner.invoke(app, ["survey", "invite", "feedback", "--customer", "C-1", "--customer", "C-2"])
    assert result.exit_code == 0 and result.output.count("/s/feedback?t=") == 2
    assert runner.invoke(app, ["survey", "invite", "nope"]).exit_code == 2


def test_db_upgrade_fills_empty_rollups_of_an_older_store(configured):
    from sqlalchemy import delete, func

    from tests.helpers import apply_survey
    from voxpop.analysis.models import ScoreRollup
    from voxpop.collection import flows

    apply_survey(configured)
    flows.record_response(configured, flows.load_survey(configured, "feedback"),
                          flows.Submission(answers={"nps": 9}, channel="api"), max_text_length=100)
    with configured.write() as db_session:
        db_session.execute(delete(ScoreRollup))  # as in a store from before rollups existed
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and "daily rollups rebuilt" in result.output
    with configured.read() as db_session:
        assert db_session.scalar(select(func.sum(ScoreRollup.n)).where(ScoreRollup.attribute == "")) == 1
