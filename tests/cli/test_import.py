"""`voxpop import responses`: the same import as the service, with a mapping table, dry run and exit codes."""

import json

from typer.testing import CliRunner

from tests.imports.test_merges import AGREE, audit_actions, imported, surveymonkey
from tests.imports.test_service import ROWS, qualtrics, row
from voxpop.cli import app

runner = CliRunner()


def invoke(*arguments):
    return runner.invoke(app, ["import", "responses", *map(str, arguments)])


def test_dry_run_then_import_then_again(configured, tmp_path):
    path = qualtrics(tmp_path / "export.csv", ROWS)
    dry = invoke(path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "export.csv: a Qualtrics export (CSV, UTF-8)" in dry.stdout and "nps" in dry.stdout
    assert "dry run: nothing was written" in dry.stdout
    first = json.loads(invoke(path, "--format", "json").stdout)
    assert (first["new"], first["present"], first["survey"], first["title"]) == (40, 0, "export", "export")
    again = invoke(path, "--survey", "export")
    assert again.exit_code == 0 and "added 0 new responses" in again.stdout and "40 already present" in again.stdout


def test_the_dry_run_shows_the_samples_as_question_and_answer_and_counts_in_their_number(configured, real_data):
    path = real_data / "qualtRics" / "sample.csv"
    dry = runner.invoke(app, ["import", "responses", str(path), "--dry-run"], env={"COLUMNS": "200"})
    assert dry.exit_code == 0, dry.output
    assert "The first 1 row as they will be stored" in dry.stdout and "Submitted (UTC)" in dry.stdout
    assert '"answers"' not in dry.stdout  # a table, not JSON
    assert "1 row read: would add 1 new response to survey 'sample'" in dry.stdout
    warnings = [" ".join(warning.split()) for warning in dry.stderr.split("warning: ")[1:]]
    assert warnings and len(warnings) == len(set(warnings))  # each given once


def test_the_survey_title_is_given_or_made_from_the_file_name(configured, real_data):
    path = real_data / "monkeyreadr" / "test-responses.csv"
    body = json.loads(invoke(path, "--survey", "lead-feedback", "--title", "LEAD module feedback", "--format", "json").stdout)
    assert (body["survey"], body["title"], body["layout"]) == ("lead-feedback", "LEAD module feedback",
                                                               "a SurveyMonkey export (CSV, UTF-8)")
    assert any("merge them with voxpop import merge-option SURVEY QUESTION FROM TO" in warning
               for warning in body["warnings"])
    refused = invoke(path, "--survey", "Lead Feedback")
    assert refused.exit_code == 2 and "use --survey KEY" in " ".join(refused.stderr.split())


def test_bad_input_exits_2_with_a_message_that_says_what_to_do(configured, tmp_path):
    path = qualtrics(tmp_path / "export.csv", [*ROWS, row(77, nps=11)])
    failed = invoke(path)
    assert failed.exit_code == 2 and "Row 44" in failed.stderr
    assert "list the rejected ones (use --skip-invalid --rejects FILE)" in " ".join(failed.stderr.split())
    assert invoke(path, "--skip-invalid").exit_code == 2  # without --rejects
    rejects = tmp_path / "rejects.csv"
    skipped = invoke(path, "--skip-invalid", "--rejects", rejects)
    assert skipped.exit_code == 0 and "1 rejected" in skipped.stdout
    assert "outside the 0–10" in rejects.read_text()
    missing = tmp_path / "mapping.yaml"
    missing.write_text("columns:\n  Q9: {role: nps}\n")
    unknown = invoke(path, "--mapping", missing, "--dry-run")
    assert unknown.exit_code == 2 and "Q9" in unknown.stderr
    assert invoke(tmp_path / "nothing.csv").exit_code == 2
    assert invoke(path, "--from", "spss").exit_code == 2


def test_the_google_forms_tsv_imports_with_its_1_to_10_recommend_question(configured, real_data):
    path = real_data / "rstudio_r_community_survey" / "Learning R Internet Survey - Form Responses 1.tsv"
    result = invoke(path, "--survey", "r-2018", "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["format"] == "googleforms" and body["rows"] == 3062 and body["new"] + body["present"] == 3062
    [nps] = [column for column in body["mapping"] if column["role"] == "nps"]
    assert nps["scale"] == "1–10" and any("1–10" in warning for warning in body["warnings"])
    metrics = runner.invoke(app, ["metrics", "--survey", "r-2018", "--metric", "nps", "--format", "json"])
    [estimate] = json.loads(metrics.stdout)["rows"]
    assert round(estimate["value"]) == 72


def test_import_transactions_reports_counts_and_is_idempotent(configured, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("Client,Day,Total\nc1,2024-01-05,10.5\nc2,2024-01-06,12\nc1,2024-02-01,9\n,2024-02-02,4\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("customer: Client\ndate: Day\namount: Total\n")
    first = runner.invoke(app, ["import", "transactions", str(path), "--mapping", str(mapping), "--format", "json"])
    assert first.exit_code == 0, first.output
    body = json.loads(first.stdout)
    assert (body["new"], body["new_customers"], body["without_customer"]) == (3, 2, 1)
    again = runner.invoke(app, ["import", "transactions", str(path), "--mapping", str(mapping)])
    assert again.exit_code == 0 and "added 0 new transactions, 3 already present" in again.stdout
    missing = runner.invoke(app, ["import", "transactions", str(path)])
    assert missing.exit_code == 2 and "customer" in missing.stderr


def test_the_command_line_merges_and_undoes(configured, tmp_path):
    key = imported(configured, surveymonkey(tmp_path / "lead.csv"))
    merged = runner.invoke(app, ["import", "merge-option", key, AGREE, "Disgree", "Disagree"])
    assert merged.exit_code == 0, merged.output
    assert "Answers 'Disgree' to question" in merged.stdout and "counted as 'Disagree'" in merged.stdout
    refused = runner.invoke(app, ["import", "merge-option", key, AGREE, "Disgree", "Agree"])
    assert refused.exit_code == 2 and "already merged into 'Disagree'" in refused.stderr
    assert runner.invoke(app, ["import", "merge-option", key, AGREE, "Agree"]).exit_code == 2  # no TO, no --undo
    undone = runner.invoke(app, ["import", "merge-option", key, AGREE, "Disgree", "--undo"])
    assert undone.exit_code == 0 and "counted as itself again" in undone.stdout
    assert [action for action, _ in audit_actions(configured)] == ["import.merge_option", "import.unmerge_option"]
