"""A survey's results from the store: distributions equal a hand count, estimates equal the dashboard's and the
core's, choices keep their order and list what was answered outside them, and the filter narrows every figure."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from tests.results.stored import answer, shop
from voxpop.collection.filters import ResponseFilter, parse_response_filter
from voxpop.core import estimates
from voxpop.dashboard.metrics import survey_estimates
from voxpop.results.service import UnknownSurvey, survey_results

TODAY = date(2026, 12, 6)
NPS = [10, 9, 9, 8, 7, 6, 0, 3, 10, 5, 9, 8]


def results(db, response_filter: ResponseFilter | None = None, *, min_base: int = 5):
    with db.read_connection() as connection:
        return survey_results(connection, survey="shop", response_filter=response_filter or ResponseFilter(),
                              zone="Europe/Berlin", min_base=min_base, today=TODAY)


def section(found, key: str):
    return next(question for question in found.questions if question.key == key)


@pytest.fixture
def answered(db):
    shop(db)
    for index, score in enumerate(NPS):
        answer(db, {"nps": score, "csat": 1 + index % 5, "ease": 1 + index % 7, "quality": 1 + (index * 2) % 5,
                    "agree": ["agree", "agree", "neutral", "disagree"][index % 4],
                    "bought": ["boots", "tents"] if index % 3 == 0 else ["socks"]},
               segment="SMB" if index % 2 else "Enterprise")
    return db


def test_distributions_equal_a_hand_count_in_question_order(answered):
    found = results(answered)
    assert found.responses == len(NPS)
    assert [question.key for question in found.questions] == ["nps", "csat", "ease", "quality", "agree", "bought", "why"]
    nps = section(found, "nps")
    assert [(point.score, point.count) for point in nps.distribution] == [(s, NPS.count(s)) for s in range(11)]
    assert [point.group for point in nps.distribution] == ["detractors"] * 7 + ["passives"] * 2 + ["promoters"] * 2
    assert nps.answered == len(NPS)


def test_headlines_equal_the_dashboards_and_the_cores(answered):
    found = results(answered)
    with answered.read_connection() as connection:
        dashboard = {(row.keys["question"], row.metric): row.estimate
                     for row in survey_estimates(connection, min_base=5, survey="shop")}
    shown = {(question.key, headline.metric): headline.estimate for question in found.questions
             for headline in question.headlines}
    assert shown == dashboard
    promoters, detractors = sum(s >= 9 for s in NPS), sum(s <= 6 for s in NPS)
    assert shown[("nps", "nps")] == estimates.nps(promoters=promoters, passives=len(NPS) - promoters - detractors,
                                                  detractors=detractors, min_base=5)
    assert set(shown) >= {("csat", "csat"), ("ease", "ces2.0"), ("ease", "ces2.0_agree"), ("quality", "mean")}


def test_choice_shares_have_wilson_intervals_of_those_who_answered(db):
    shop(db)
    for index in range(263):
        answer(db, {"agree": "agree" if index < 81 else "neutral"})
    agree = section(results(db), "agree")
    assert agree.answered == 263
    share = next(option for option in agree.options if option.value == "agree").share
    # Newcombe (1998, Statistics in Medicine 17), Wilson score interval for 81/263: 0.2553 to 0.3662.
    assert (round(share.ci_low, 2), round(share.ci_high, 2)) == (25.53, 36.62)


def test_an_ordered_scale_keeps_its_order_and_unordered_options_sort_by_count(answered):
    found = results(answered)
    assert [option.value for option in section(found, "agree").options] == ["disagree", "neutral", "agree"]
    bought = section(found, "bought")
    assert [(option.value, option.count) for option in bought.options] == [("socks", 8), ("boots", 4), ("tents", 4)]
    # Of those who answered, each could choose several: the shares sum over 100%.
    assert bought.answered == len(NPS)
    assert sum(option.share.value for option in bought.options) > 100


def test_answers_outside_the_options_are_other_and_listed(db):
    shop(db)
    answer(db, {"bought": ["boots", "Hiking poles"]})
    answer(db, {"bought": ["Hiking poles"]})
    answer(db, {"bought": ["tents", "Map", "mail me at ann@example.com"]})
    bought = section(results(db), "bought")
    other = bought.options[-1]
    assert (other.value, other.listed, other.count, bought.answered) == ("other", False, 3, 3)
    assert [(row.text, row.count) for row in bought.other_texts] == [("Hiking poles", 2), ("Map", 1),
                                                                     ("mail me at [email]", 1)]


def test_the_filter_narrows_every_figure(answered):
    answer(answered, {"nps": 0}, segment="SMB", when=datetime(2025, 1, 5, 12, tzinfo=timezone.utc))
    chosen = parse_response_filter(today=TODAY, since="2025-01-01", until="2025-01-31", attribute=["segment=SMB"])
    found = results(answered, chosen)
    assert found.responses == 1
    assert [(point.score, point.count) for point in section(found, "nps").distribution if point.count] == [(0, 1)]
    assert found.filter == ["2025-01-01 to 2025-01-31", "segment is SMB"]
    smb = results(answered, parse_response_filter(today=TODAY, attribute=["segment=SMB"], answer=["nps:promoters"]))
    # The SMB responses are the odd-numbered ones; of them, the promoters.
    expected = [score for index, score in enumerate(NPS) if index % 2 and score >= 9]
    assert section(smb, "nps").answered == len(expected) == smb.responses


def test_a_preset_period_to_today_is_partial(answered):
    found = results(answered, parse_response_filter(today=TODAY, period="this-month"))
    assert found.partial
    assert not results(answered, parse_response_filter(today=TODAY, period="last-month")).partial


def test_the_command_reproduces_with_dates_attributes_and_answers(answered):
    chosen = parse_response_filter(today=TODAY, period="last-quarter", attribute=["segment=SMB", "segment=Big Co"],
                                   answer=["agree:agree"])
    assert section(results(answered, chosen), "nps").command == (
        "voxpop metrics --survey shop --question nps --metric nps --since 2026-07-01 --until 2026-09-30 "
        "--filter segment=SMB --filter 'segment=Big Co' --answer agree:agree --format json")
    assert section(results(answered), "quality").command.endswith("--question quality --metric mean --format json")


def test_an_unknown_survey_says_so(db):
    with pytest.raises(UnknownSurvey, match="no survey 'nope'"):
        with db.read_connection() as connection:
            survey_results(connection, survey="nope", response_filter=ResponseFilter(), zone="UTC", min_base=5,
                           today=TODAY)


def test_a_merged_misspelt_option_counts_as_the_one_it_means_until_undone(db):
    from voxpop.imports.merges import merge_option, undo_merge

    shop(db)
    for choice in ("agree", "Agre", "Agre", "neutral"):
        answer(db, {"agree": choice})
    before = section(results(db), "agree")
    assert [(o.value, o.count) for o in before.options] == [("disagree", 0), ("neutral", 1), ("agree", 1), ("other", 2)]
    with db.write() as db_session:
        merge_option(db_session=db_session, survey_key="shop", question="agree", from_option="Agre",
                     to_option="agree", actor=None)
    merged = section(results(db), "agree")
    assert [(o.value, o.count) for o in merged.options] == [("disagree", 0), ("neutral", 1), ("agree", 3)]
    assert merged.other_texts == [] and merged.answered == 4
    with db.write() as db_session:
        undo_merge(db_session=db_session, survey_key="shop", question="agree", from_option="Agre", actor=None)
    assert section(results(db), "agree").options == before.options


def test_versions_pool_by_key_within_one_scale_and_retired_questions_come_last(db):
    from tests.helpers import apply_survey
    from tests.results.stored import SHOP_SURVEY

    shop(db)
    answer(db, {"nps": 9, "quality": 2})
    # Version 2 asks quality on 1-7 and no longer asks about the staff; nps is unchanged.
    apply_survey(db, SHOP_SURVEY.replace("scale: {min: 1, max: 5}", "scale: {min: 1, max: 7}")
                 .replace("  - key: agree\n", "  - key: helpful\n"))
    answer(db, {"nps": 3, "quality": 7})
    found = results(db)
    keys = [(question.key, question.scale_max, question.versions, question.retired) for question in found.questions]
    assert keys[:5] == [("nps", 10, [1, 2], False), ("csat", 5, [1, 2], False), ("ease", 7, [1, 2], False),
                        ("quality", 7, [2], False), ("helpful", None, [2], False)]
    assert ("quality", 5, [1], True) in keys and ("agree", None, [1], True) in keys
    assert keys.index(("quality", 5, [1], True)) > keys.index(("why", None, [1, 2], False))
    nps = section(found, "nps")
    assert nps.answered == 2 and nps.command is not None
    new, old = (question for question in found.questions if question.key == "quality")
    assert (new.scale_max, new.answered, old.scale_max, old.answered) == (7, 1, 5, 1)  # never pooled
    assert old.command is None and new.command is None  # voxpop metrics would refuse the key: two scales


def test_the_words_typed_under_other_are_listed_with_the_other_option(db):
    from tests.helpers import apply_survey
    from tests.results.stored import SHOP_SURVEY

    options = "options: [{value: boots, label: Boots}, {value: tents, label: Tents}, {value: socks, label: Socks}]"
    apply_survey(db, SHOP_SURVEY.replace(options, options + '\n    other: "Something else"'))
    answer(db, {"bought": ["boots", "other"], "bought.other": "A <b>stove</b>"})
    answer(db, {"bought": ["other"], "bought.other": "A <b>stove</b>"})
    answer(db, {"bought": ["tents"]})
    bought = section(results(db), "bought")
    assert [(o.label, o.count, o.listed) for o in bought.options][-1] == ("Something else", 2, False)
    assert [(row.text, row.count) for row in bought.other_texts] == [("A <b>stove</b>", 2)]
