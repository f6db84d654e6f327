"""The crosstab page and its JSON twin: counts and column percentages with Wilson intervals, each cell against the
rest of its row with Holm's adjustment across the table, and scipy's chi-square test of independence."""

from __future__ import annotations

import pytest
from scipy import stats

from tests.helpers import login, make_user
from tests.results.stored import answer, shop
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT
from voxpop.core import comparisons
from voxpop.core.estimates import wilson_interval
from voxpop.results.crosstab import chi_square_test

# "The staff were helpful" (disagree, neutral, agree) per segment: 40 answers each.
TABLE = {"SMB": (10, 10, 20), "Enterprise": (26, 8, 6), "Mid": (10, 15, 15)}
OPTIONS = ("disagree", "neutral", "agree")


@pytest.fixture
def helpful(db):
    shop(db)
    for segment, counts in TABLE.items():
        for option, count in zip(OPTIONS, counts):
            for _ in range(count):
                answer(db, {"agree": option, "nps": 10 if option == "agree" else 5, "bought": ["boots"]},
                       segment=segment)
    answer(db, {"nps": 9})  # no answer to the row question: not in the table
    return db


def test_counts_column_percentages_intervals_and_marks_by_hand(client, helpful):
    login(client, make_user(helpful, "viewer"))
    data = client.get("/api/v1/surveys/shop/crosstab?row=agree&column=segment").json()
    columns = [column["value"] for column in data["columns"]]
    assert columns == ["Enterprise", "Mid", "SMB"] and data["base"] == 120
    assert [column["base"] for column in data["columns"]] == [40, 40, 40]
    tested = []
    for row, option in zip(data["rows"], OPTIONS):
        assert row["value"] == option
        row_total = sum(TABLE[segment][OPTIONS.index(option)] for segment in columns)
        for cell, segment in zip(row["cells"], columns):
            count = TABLE[segment][OPTIONS.index(option)]
            low, high = wilson_interval(count, 40, 0.95)
            assert (cell["count"], cell["percent"]) == (count, pytest.approx(100 * count / 40))
            assert (cell["ci_low"], cell["ci_high"]) == pytest.approx((100 * low, 100 * high))
            expected = comparisons.proportion_difference(a=(count, 40), b=(row_total - count, 80))
            assert cell["p_value"] == pytest.approx(expected.p_value)
            tested.append((cell, expected))
        assert row["total"]["count"] == row_total
    adjusted = comparisons.holm([expected.p_value for _, expected in tested])
    for (cell, expected), p_holm in zip(tested, adjusted):
        assert cell["p_holm"] == pytest.approx(p_holm)
        assert cell["mark"] == (None if p_holm >= 0.05 else "higher" if expected.difference > 0 else "lower")
    assert data["tested"] == 9
    cells = {(row["value"], column): cell for row in data["rows"] for cell, column in zip(row["cells"], columns)}
    marked = {place: cell["mark"] for place, cell in cells.items() if cell["mark"]}
    assert marked == {("disagree", "Enterprise"): "higher", ("agree", "Enterprise"): "lower"}
    # SMB's agree (50% against 26%) has a raw p of 0.01, which nine cells at once do not survive.
    assert cells[("agree", "SMB")]["p_value"] < 0.05 <= cells[("agree", "SMB")]["p_holm"]
    table = [[TABLE[segment][index] for segment in columns] for index in range(3)]
    scipy_result = stats.chi2_contingency(table)
    assert data["chi_square"]["statistic"] == pytest.approx(scipy_result.statistic)
    assert data["chi_square"]["p_value"] == pytest.approx(scipy_result.pvalue)
    assert data["chi_square"]["dof"] == 4 and data["chi_square"]["caveat"] is None
    page = client.get("/surveys/shop/crosstab?row=agree&column=segment")
    assert page.status_code == 200 and "Chi-square test of independence" in page.text
    assert page.text.count("▲\u00a0Higher") + page.text.count("▼\u00a0Lower") == len(marked)


def test_an_nps_question_makes_rows_of_its_groups_or_of_every_score(client, helpful):
    login(client, make_user(helpful, "viewer"))
    groups = client.get("/api/v1/surveys/shop/crosstab?row=nps&column=segment").json()
    assert groups["row_by"] == "group" and [row["value"] for row in groups["rows"]] == ["detractors", "passives",
                                                                                        "promoters"]
    assert [row["total"]["count"] for row in groups["rows"]] == [sum(t[0] + t[1] for t in TABLE.values()), 0,
                                                                 sum(t[2] for t in TABLE.values()) + 1]
    scores = client.get("/api/v1/surveys/shop/crosstab?row=nps&column=segment&row_by=score").json()
    assert [row["value"] for row in scores["rows"]] == [str(score) for score in range(11)]
    # By a choice question: columns are its options, in their order, and the table is tested as any other.
    by_choice = client.get("/api/v1/surveys/shop/crosstab?row=nps&column=agree").json()
    assert by_choice["column_kind"] == "question" and [c["value"] for c in by_choice["columns"]] == list(OPTIONS)
    assert by_choice["chi_square"] is not None


def test_a_multiple_choice_question_overlaps_so_nothing_is_tested(client, helpful):
    login(client, make_user(helpful, "viewer"))
    for query in ("row=bought&column=segment", "row=nps&column=bought"):
        data = client.get(f"/api/v1/surveys/shop/crosstab?{query}").json()
        assert data["chi_square"] is None and data["tested"] == 0 and data["overlapping"]
        assert any("takes several answers" in note for note in data["notes"])
        assert not any(cell["mark"] for row in data["rows"] for cell in row["cells"])


def test_small_expected_counts_carry_cochrans_caveat_and_match_scipy():
    table = [[1, 2], [3, 30]]
    result = chi_square_test(table)
    reference = stats.chi2_contingency(table)
    assert result.statistic == pytest.approx(reference.statistic) and result.p_value == pytest.approx(reference.pvalue)
    assert result.cells_expected_below_5 == 3 and "only approximate" in result.caveat  # expected 0.3, 2.7, 3.7
    assert chi_square_test([[5, 0], [7, 0]]) is None  # one column has no answers: no test of two columns


def test_the_table_as_csv_in_long_form(client, helpful):
    login(client, make_user(helpful, "viewer"))
    response = client.get("/surveys/shop/crosstab?row=agree&column=segment&format=csv")
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "row,row_label,column,column_label,count,base,percent,ci_low,ci_high,p_value,p_holm,mark"
    assert len(lines) == 1 + 3 * 4 and lines[1].startswith("disagree,Disagree,Enterprise,Enterprise,26,40,65.0,")
    assert lines[4].startswith("disagree,Disagree,(all),All,46,120,")


@pytest.mark.parametrize(("query", "parameter"), [
    ("row=nothere", "row"),
    ("row=why", "row"),
    ("row=agree&column=planet", "column"),
    ("row=agree&column=agree", "column"),
    ("row=csat&row_by=group", "row_by"),
    ("row=agree&row_by=score", "row_by"),
    ("row=nps&row_by=deciles", "row_by"),
    ("confidence=high", "confidence"),
    ("period=someday", "period"),
])
def test_bad_parameters_are_a_400_page_and_a_422_problem_naming_them(client, db, query, parameter):
    shop(db)
    answer(db, {"nps": 9, "agree": "agree"})
    login(client, make_user(db, "viewer"))
    page = client.get(f"/surveys/shop/crosstab?{query}")
    assert page.status_code == 400 and 'class="error-summary"' in page.text
    problem = client.get(f"/api/v1/surveys/shop/crosstab?{query}")
    assert problem.status_code == 422 and problem.json()["detail"].startswith(f"Parameter {parameter}:")
    assert problem.json()["errors"][0]["field"] == parameter


def test_staff_only(client, db):
    shop(db)
    assert client.get("/surveys/shop/crosstab", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/surveys/shop/crosstab").status_code == 401
    login(client, make_user(db, "agent"))
    page = client.get("/surveys/shop/crosstab")
    assert page.status_code == 200 and 'aria-current="page">Crosstab' in page.text
    assert not any(pattern.search(page.text) for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT, EVENT_HANDLER))
    assert client.get("/surveys/nothere/crosstab").status_code == 404


def test_a_survey_with_nothing_to_cross_by_says_so(client, db):
    from tests.helpers import apply_survey

    apply_survey(db, "key: plain\ntitle: Plain\nquestions:\n  - {key: nps, kind: nps, text: 'Recommend us?'}\n")
    login(client, make_user(db, "viewer"))
    page = client.get("/surveys/plain/crosstab")
    assert page.status_code == 200 and "nothing to cross the answers by" in page.text
    assert client.get("/api/v1/surveys/plain/crosstab").json()["type"] == "urn:voxpop:problem:not-enough-data"
    compare = client.get("/surveys/plain/compare")
    assert compare.status_code == 200 and "Choose a period, or a first day" in compare.text
