"""The scorecard as a PDF and a CSV: the PDF is checked for real (its pages drawn as PNGs by poppler's pdftoppm must
not be blank; pdftotext must find the scorecard's name, a measure, the period, 'Page 1 of N'); long names wrap
instead of running off the page; WeasyPrint fetches voxpop's static files and nothing else; the CSV (the score
table) has one row per measure with its interval, score, colour and status."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from voxpop.scorecard import report
from voxpop.scorecard.evaluation import score_table
from voxpop.scorecard.measured import (
    MeasuredValue,
    ScorecardResult,
    ScoredMeasure,
    ScoredObjective,
    ScoredPerspective,
)
from voxpop.web.tables import csv_text

GENERATED = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)
LONG_NAME = ("Share of first-time customers who buy again within ninety days of their first order, across every "
             "channel and region, measured from the transaction history")


def scored(key: str, name: str, *, value: float | None, target: float | None = 40.0, score: float | None = 50.0,
           colour: str = "amber", status: str = "caution", ci: tuple[float, float] | None = None, n: int | None = 412,
           unit: str = "", within_noise: bool = False, scoring: str = "linear") -> ScoredMeasure:
    trend = tuple(MeasuredValue(f"2026-{month:02d}", None if value is None else value - 11 + month, n=n)
                  for month in range(1, 12))
    return ScoredMeasure(
        measure_id=hash(key) % 10_000, key=key, name=name, unit=unit, direction="up", scoring=scoring, weight=1.0,
        owner="Dana Ops", source="manual", value=MeasuredValue("2026-11", value, n=n if value is not None else None,
                                                               ci_low=ci[0] if ci else None,
                                                               ci_high=ci[1] if ci else None),
        target=target, score=score if value is not None else None, colour=colour if value is not None else "none",
        status=status if value is not None else "no data", within_noise=within_noise, previous_colour=None,
        change_is_signal=None, trend=trend)


def northwind() -> ScorecardResult:
    nps = scored("nps", "Relationship NPS", value=38.0, target=40.0, score=63.3, colour="amber",
                 status="within noise of target", ci=(31.5, 44.5), within_noise=True)
    retention = scored("retention", "Customer retention", value=81.2, unit="%", target=85.0, score=25.0,
                       colour="red", status="below plan", ci=(79.0, 83.4), n=5120)
    margin = scored("margin", "Gross margin", value=None)
    repeat = scored("repeat", LONG_NAME, value=22.5, unit="%", target=20.0, score=80.0, colour="green",
                    status="above target", ci=(20.1, 24.9), n=1300)
    revenue = scored("revenue", "Revenue per customer", value=262_500.0, target=260_000.0, score=75.0,
                     colour="green", status="above target", scoring="goal_red_flag", n=None)
    loyal = ScoredObjective(objective_id=1, key="loyal", name="Customers recommend us", owner="Ana Lead", weight=1.0,
                            score=44.2, colour="amber", measures=(nps, retention, repeat))
    profit = ScoredObjective(objective_id=2, key="profit", name="Grow profitably", owner=None, weight=2.0,
                             score=75.0, colour="green", measures=(margin, revenue))
    return ScorecardResult(
        scorecard_id=1, key="northwind", name="Northwind Traders scorecard", period="2026-11", score=59.6,
        colour="amber", locked=False, perspectives=(
            ScoredPerspective(perspective_id=1, key="financial", name="Financial", score=75.0, colour="green",
                              objectives=(profit,)),
            ScoredPerspective(perspective_id=2, key="customer", name="Customer", score=44.2, colour="amber",
                              objectives=(loyal,)),
            ScoredPerspective(perspective_id=3, key="learning", name="Learning and growth", score=None,
                              colour="none"),
        ))


def render(result: ScorecardResult | None = None) -> bytes:
    html = report.report_html(result=result or northwind(), generated_at=GENERATED, zone="Europe/Berlin",
                              min_base=30)
    return report.pdf_from_html(html)


def poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        skip_or_fail(f"{tool} (poppler-utils) is needed to check the PDF's pages")
    return found


def pages_as_png(pdf: bytes, folder: Path) -> list[Path]:
    source = folder / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run([poppler("pdftoppm"), "-png", "-r", "50", str(source), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))


def pdf_text(pdf: bytes, folder: Path) -> str:
    source = folder / "text.pdf"
    source.write_bytes(pdf)
    done = subprocess.run([poppler("pdftotext"), "-layout", str(source), "-"], check=True, capture_output=True)
    return done.stdout.decode()


def inked(png: Path) -> int:
    """How many pixels of the page are not white."""
    from PIL import Image

    with Image.open(png) as image:
        grey = image.convert("L")
        return sum(count for level, count in enumerate(grey.histogram()) if level < 250)


def test_the_pdf_pages_are_drawn_and_not_blank(tmp_path):
    pdf = render()
    assert pdf.startswith(b"%PDF-")
    pages = pages_as_png(pdf, tmp_path)
    assert len(pages) >= 2  # the summary, then the tree
    for page in pages:
        assert inked(page) > 500, f"{page.name} is blank"


def test_the_pdf_says_the_scorecard_the_period_its_measures_and_page_x_of_y(tmp_path):
    text = pdf_text(render(), tmp_path)
    words = " ".join(text.split())
    assert "Northwind Traders scorecard" in words
    assert "Relationship NPS" in words and "Customer retention" in words
    assert "2026-11" in words
    pages = text.count("\f")
    assert f"Page 1 of {pages}" in words and f"Page {pages} of {pages}" in words
    assert "Generated 2026-12-07 07:30 CET" in words  # the workspace's time zone, not UTC
    # Status is in words, never colour alone; noise is said as such; no data is not a zero.
    assert "Within noise of target" in words and "Below plan" in words and "No data for 2026-11" in words
    assert "6.67 / 10" not in words and "7.50 / 10" in words  # a goal/red flag score on its own scale


def test_a_long_measure_name_wraps_inside_the_page(tmp_path):
    text = pdf_text(render(), tmp_path)
    # pdftotext -layout keeps each printed line: the name is broken over lines, none of which runs off the page.
    assert LONG_NAME not in text
    lines = [line for line in text.splitlines() if "Share of first-time" in line or "the transaction" in line]
    assert len(lines) == 2  # its first and its last words, on lines of their own
    assert max(len(line) for line in text.splitlines()) < 250


def test_a_locked_snapshot_says_so(tmp_path):
    from dataclasses import replace

    words = " ".join(pdf_text(render(replace(northwind(), locked=True)), tmp_path).split())
    assert "the review's snapshot" in words


def test_a_scorecard_without_perspectives_still_renders(tmp_path):
    from dataclasses import replace

    pdf = render(replace(northwind(), perspectives=(), score=None, colour="none"))
    assert "This scorecard has no perspectives yet" in " ".join(pdf_text(pdf, tmp_path).split())


def test_names_are_escaped_and_cannot_fetch_anything(tmp_path):
    from dataclasses import replace

    sneaky = replace(northwind(), name='<img src="https://example.com/x.png"> & <b>bold</b>')
    html = report.report_html(result=sneaky, generated_at=GENERATED, zone="UTC", min_base=30)
    assert "<img src" not in html and "&lt;img" in html
    assert '<img src="https://example.com/x.png">' in " ".join(pdf_text(report.pdf_from_html(html), tmp_path).split())


@pytest.fixture
def http_listener():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def test_weasyprint_fetches_nothing_from_the_network_or_the_disk(http_listener, tmp_path):
    url, hits = http_listener
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    html = (f'<html><head><link rel="stylesheet" href="{url}/a.css"><link rel="stylesheet" href="file://{secret}">'
            '<link rel="stylesheet" href="/static/../../settings.py"></head>'
            f'<body><p>hello</p><img src="{url}/b.png"></body></html>')
    assert report.pdf_from_html(html).startswith(b"%PDF-")
    assert hits == []


def test_the_fetcher_serves_voxpops_static_files_only():
    assert report.static_file(report.BASE_URL + "static/voxpop.css") == report.STATIC / "voxpop.css"
    assert report.static_file(report.BASE_URL + "static/scorecard-print.css?v=1").name == "scorecard-print.css"
    for refused in ("https://example.com/static/voxpop.css", report.BASE_URL + "static/../app.py",
                    report.BASE_URL + "static/%2e%2e/app.py", report.BASE_URL + "static/", "file:///etc/passwd",
                    report.BASE_URL + "settings.py", "data:text/css,body{}"):
        assert report.static_file(refused) is None, refused
    with pytest.raises(ValueError, match="static files only"):
        report.static_fetcher().fetch("https://example.com/x.css")


REQUIRED_COLUMNS = ("perspective", "objective", "measure", "unit", "value", "ci_low", "ci_high", "n", "target",
                    "score", "colour", "status", "within_noise")


def test_the_csv_has_one_row_per_measure_with_interval_score_colour_and_status():
    header, rows = score_table(northwind())
    assert set(REQUIRED_COLUMNS) <= set(header)
    parsed = list(csv.DictReader(io.StringIO(csv_text(header, rows))))
    assert [row["measure"] for row in parsed] == ["Gross margin", "Revenue per customer", "Relationship NPS",
                                                  "Customer retention", LONG_NAME]
    nps = next(row for row in parsed if row["measure"] == "Relationship NPS")
    assert {column: nps[column] for column in REQUIRED_COLUMNS} == {
        "perspective": "Customer", "objective": "Customers recommend us", "measure": "Relationship NPS", "unit": "",
        "value": "38.0", "ci_low": "31.5", "ci_high": "44.5", "n": "412", "target": "40.0", "score": "63.3",
        "colour": "amber", "status": "within noise of target", "within_noise": "True"}
    margin = next(row for row in parsed if row["measure"] == "Gross margin")
    # No data is an empty cell, never a zero.
    assert (margin["value"], margin["score"], margin["colour"], margin["status"]) == ("", "", "none", "no data")


def test_a_csv_cell_that_starts_like_a_formula_is_quoted():
    from dataclasses import replace

    result = northwind()
    customer = result.perspectives[1]
    renamed = replace(result, perspectives=(replace(customer, name="=HYPERLINK(\"http://x\")"),))
    header, rows = score_table(renamed)
    assert next(csv.reader(io.StringIO(csv_text(header, rows).splitlines()[1])))[0].startswith("'=")


# --- from the store: the tree with its trends and the tested strategy map -----------------------------------------

def stored_scorecard(db) -> int:
    """A scorecard with two manual measures over 2026 (approved values) and a link between their objectives."""
    from voxpop.scorecard.models import Link, Measure, MeasureTarget, MeasureValue, Objective, Perspective, Scorecard

    with db.write() as db_session:
        card = Scorecard(key="northwind", name="Northwind scorecard")
        db_session.add(card)
        db_session.flush()
        made = []
        for position, (perspective_key, objective_name, measure_name, target) in enumerate([
                ("learning", "People know how to care", "Staff trained on care", 80.0),
                ("customer", "Customers recommend us", "Customers satisfied", 75.0)]):
            perspective = Perspective(scorecard_id=card.id, key=perspective_key,
                                      name=perspective_key.title(), position=position)
            db_session.add(perspective)
            db_session.flush()
            objective = Objective(scorecard_id=card.id, perspective_id=perspective.id, key=perspective_key + "-goal",
                                  name=objective_name)
            db_session.add(objective)
            db_session.flush()
            measure = Measure(scorecard_id=card.id, objective_id=objective.id, key=perspective_key + "-measure",
                              name=measure_name, unit="%", source={"kind": "manual"})
            db_session.add(measure)
            db_session.flush()
            db_session.add(MeasureTarget(measure_id=measure.id, from_period="2026-01", target=target, minimum=0.0,
                                         maximum=100.0))
            for month in range(1, 12):
                db_session.add(MeasureValue(measure_id=measure.id, period=f"2026-{month:02d}",
                                            value=60.0 + month * 2 + position * (month % 3), approved_at=GENERATED))
            made.append(objective)
        db_session.add(Link(scorecard_id=card.id, cause_id=made[0].id, effect_id=made[1].id, polarity=1, lag=1))
        return card.id


def test_the_stored_scorecard_prints_its_tree_with_trends_and_its_strategy_map(db, tmp_path):
    from voxpop.scorecard.models import Scorecard

    card_id = stored_scorecard(db)
    with db.read() as db_session:
        pdf = report.scorecard_pdf(db_session, scorecard=db_session.get(Scorecard, card_id), period="2026-11",
                                   zone="Europe/Berlin", min_base=30, now=GENERATED)
    words = " ".join(pdf_text(pdf, tmp_path).split())
    assert "Northwind scorecard" in words and "Strategy map" in words
    assert "People know how to care" in words and "Customers recommend us" in words
    assert "Staff trained on care" in words and "82.0%" in words  # 2026-11's value
    assert "Too few periods" not in words  # eleven months: each measure has its trend
    for page in pages_as_png(pdf, tmp_path):
        assert inked(page) > 500, f"{page.name} is blank"


def test_the_stored_scorecard_as_csv(db):
    from voxpop.scorecard.models import Scorecard

    card_id = stored_scorecard(db)
    with db.read() as db_session:
        name, header, rows = report.scorecard_csv(db_session, scorecard=db_session.get(Scorecard, card_id),
                                                  period="2026-11", zone="UTC", min_base=30, now=GENERATED)
    assert name == "northwind-2026-11"
    assert [(row[0], row[2], row[header.index("value")], row[header.index("target")]) for row in rows] == [
        ("Learning", "Staff trained on care", 82.0, 80.0), ("Customer", "Customers satisfied", 84.0, 75.0)]
