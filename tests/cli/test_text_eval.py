"""`voxpop text eval`: sentiment and theme accuracy against human labels, from the files people have."""

import json

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

import voxpop.cli.text  # noqa: F401  (registers the `text` verbs)
from voxpop.cli import app

runner = CliRunner()

COMMENTS = ["I love it, great staff", "Terrible, the app keeps crashing", "It was fine", "Awful delivery, never again",
            "Wonderful and fast", "Not bad at all", "The worst refund process", "Good value for money"]
RATINGS = [4, -3, 0.5, -3.5, 3, 1, -3, 2]
CLASSES = ["positive", "negative", "neutral", "negative", "positive", "positive", "negative", "positive"]


def evaluate(*arguments):
    return runner.invoke(app, ["text", "eval", *map(str, arguments)])


def as_json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def write_csv(path, header, rows, delimiter=","):
    lines = [delimiter.join(header)] if header else []
    lines += [delimiter.join(f'"{cell}"' if delimiter in str(cell) else str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_ratings_give_correlations_next_to_plain_vader(tmp_path):
    path = write_csv(tmp_path / "rated.csv", ["comment", "rating"], zip(COMMENTS, RATINGS))
    report = as_json(evaluate(path, "--text", "comment", "--label", "rating", "--format", "json"))
    assert report["kind"] == "sentiment" and report["n"] == 8
    assert 0.8 < report["pearson"] <= 1 and 0.8 < report["spearman"] <= 1
    assert report["accuracy"] is None and report["macro_f1"] is None
    assert report["baseline"]["scorer"] == "plain VADER" and report["baseline"]["n"] == 8
    assert 0.8 < report["baseline"]["pearson"] <= 1


def test_classes_give_accuracy_and_macro_f1_and_rows_without_comment_or_label_are_left_out(tmp_path):
    rows = [*zip(COMMENTS, CLASSES), ("No label here", ""), ("", "negative")]
    path = write_csv(tmp_path / "classes.tsv", ["text", "sentiment"], rows, delimiter="\t")
    report = as_json(evaluate(path, "--text", "text", "--label", "sentiment", "--format", "json"))
    assert (report["n"], report["left_out"]) == (8, 2)
    assert report["accuracy"] >= 0.875 and report["macro_f1"] > 0.6 and report["pearson"] is None
    table = evaluate(path, "--text", "text", "--label", "sentiment")
    shown = " ".join(table.stdout.split())
    assert table.exit_code == 0 and "accuracy" in shown and "plain VADER" in shown
    assert "8 comments with human labels (2 without a comment or a label left out)" in shown


def test_zero_one_labels_in_a_workbook(tmp_path):
    workbook = Workbook()
    workbook.active.append(["Review", "Recommended"])
    for comment, label in zip(COMMENTS, CLASSES):
        workbook.active.append([comment, 0 if label == "negative" else 1])
    workbook.save(tmp_path / "reviews.xlsx")
    report = as_json(evaluate(tmp_path / "reviews.xlsx", "--text", "Review", "--label", "Recommended",
                              "--format", "json"))
    assert report["n"] == 8 and report["accuracy"] >= 0.875


def test_a_headerless_tab_separated_file_with_commas_in_its_first_line(tmp_path):
    rows = [("Slow, noisy, rude, and late.", -3), *zip(COMMENTS, RATINGS)]
    path = tmp_path / "ground_truth.txt"
    path.write_text("\n".join(f"id_{number}\t{rating}\t{comment}" for number, (comment, rating) in enumerate(rows)),
                    encoding="utf-8")
    report = as_json(evaluate(path, "--no-header", "--text", "3", "--label", "2", "--format", "json"))
    assert report["n"] == 9 and report["pearson"] > 0.8


def test_themes_per_theme_against_the_coder(tmp_path):
    rows = [("The parcel arrived late and the driver was rude", "delivery; late delivery; staff"),
            ("Parcel came on time", "delivery"),
            ("Lovely staff", "Staff"),
            ("Too expensive", "price"),
            ("The courier lost it", ""),
            ("Nice", "")]
    path = write_csv(tmp_path / "coded.csv", ["comment", "themes"], rows)
    report = as_json(evaluate(path, "--text", "comment", "--label", "themes", "--kind", "theme", "--format", "json"))
    assert report["kind"] == "theme" and report["n"] == 6 and report["not_in_codebook"] == []
    themes = {row["theme"]: row for row in report["themes"]}
    assert set(themes) == {"delivery", "delivery.late", "staff", "price"}
    assert themes["delivery"]["coded"] == 2 and themes["delivery"]["tagged"] == 3  # "courier" is a delivery word
    assert (themes["delivery"]["precision"], themes["delivery"]["recall"]) == (pytest.approx(2 / 3), 1.0)
    assert themes["staff"]["f1"] == 1.0 and themes["staff"]["kappa"] == 1.0
    assert set(themes["price"]) >= {"precision", "recall", "f1", "kappa"}


def test_themes_the_codebook_lacks_are_named(tmp_path):
    path = write_csv(tmp_path / "coded.csv", ["comment", "themes"], [("Seat was broken", "seats"), ("Fine", "")])
    result = evaluate(path, "--text", "comment", "--label", "themes", "--kind", "theme")
    assert result.exit_code == 0 and "seats" in result.stdout
    assert "the codebook has no theme 'seats'" in result.stderr


@pytest.mark.parametrize(("arguments", "message"), [
    (["--text", "coment", "--label", "rating"], "has no column 'coment' (--text); did you mean 'comment'?"),
    (["--text", "comment", "--label", "stars"], "has no column 'stars' (--label)"),
    (["--text", "comment", "--label", "rating", "--no-header"], "has no header, so give a column number from 1 to 2"),
    (["--text", "comment", "--label", "rating", "--kind", "topics"], "--kind must be sentiment or theme"),
    (["--text", "comment", "--label", "rating", "--format", "xml"], "--format must be table or json"),
])
def test_bad_options_exit_2_with_a_sentence(tmp_path, arguments, message):
    path = write_csv(tmp_path / "rated.csv", ["comment", "rating"], zip(COMMENTS, RATINGS))
    result = evaluate(path, *arguments)
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())


@pytest.mark.parametrize(("content", "message"), [
    ("", "is empty"),
    ("\n\n", "is empty"),
    ("comment,rating\n", "has a header but no rows to evaluate"),
    ("comment,rating\nGreat,good\nBad,awful\nMeh,so-so\n", "must be numeric ratings, 0/1, or negative/neutral/"),
    ("comment,rating\nGreat,4\nBad,-2\n", "need at least 3 labelled comments"),
])
def test_files_that_cannot_be_evaluated_exit_2(tmp_path, content, message):
    path = tmp_path / "labels.csv"
    path.write_text(content, encoding="utf-8")
    result = evaluate(path, "--text", "comment", "--label", "rating")
    assert result.exit_code == 2 and message in " ".join(result.stderr.split())


def test_a_missing_file_and_a_theme_column_without_themes(tmp_path):
    assert "is not a file" in evaluate(tmp_path / "none.csv", "--text", "a", "--label", "b").stderr
    path = write_csv(tmp_path / "coded.csv", ["comment", "themes"], [("Fine", ""), ("Good", " ; ")])
    result = evaluate(path, "--text", "comment", "--label", "themes", "--kind", "theme")
    assert result.exit_code == 2 and "no row of the label column names a theme" in result.stderr


def test_vaders_own_ground_truth_read_in_place(real_data):
    path = real_data / "vaderSentiment" / "tweets_GroundTruth.txt"
    report = as_json(evaluate(path, "--no-header", "--text", "3", "--label", "2", "--format", "json"))
    assert report["n"] == 4200
    # Hutto & Gilbert (2014), table 3: r = 0.881 for VADER on these tweets.
    assert report["baseline"]["pearson"] == pytest.approx(0.881, abs=0.02)
    assert report["pearson"] >= report["baseline"]["pearson"] - 0.005


def test_airline_complaint_reasons_against_a_small_codebook(real_data, tmp_path):
    codebook = tmp_path / "airline.yaml"
    codebook.write_text("themes:\n"
                        "  - {key: late_flight, label: Late Flight, phrases: [delayed, delay, delays, late]}\n"
                        "  - {key: cancelled_flight, label: Cancelled Flight, phrases: [cancelled, canceled]}\n")
    path = real_data / "twitter_us_airline_sentiment" / "Tweets.csv"
    report = as_json(evaluate(path, "--text", "text", "--label", "negativereason", "--kind", "theme",
                              "--codebook", codebook, "--format", "json"))
    themes = {row["theme"]: row for row in report["themes"]}
    assert report["n"] == 14640 and themes["late_flight"]["coded"] == 1665
    assert themes["cancelled_flight"]["kappa"] > 0.5 and themes["late_flight"]["kappa"] > 0.4
    assert "Customer Service Issue" in report["not_in_codebook"]
