"""The chart module's pure parts: nice ticks, the drawings' geometry, and signals in plain words."""

from __future__ import annotations

import math
import re

import pytest

from voxpop.core import spc
from voxpop.core.estimates import Estimate
from voxpop.web import charts
from voxpop.web.signals import signal_sentence
from voxpop.web.templating import templates


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0, 30, (0, 10, 20, 30)),
    (-13, 30, (-20, -10, 0, 10, 20, 30)),
    (61, 243, (50, 100, 150, 200, 250)),  # the old axis read 243/182/122/61
    (0, 100, (0, 20, 40, 60, 80, 100)),
    (0.42, 0.61, (0.4, 0.45, 0.5, 0.55, 0.6, 0.65)),
    (5.6, 6.3, (5.6, 5.8, 6.0, 6.2, 6.4)),
    (-100, 100, (-100, -50, 0, 50, 100)),
    (7, 7, (6, 6.5, 7, 7.5, 8)),
])
def test_nice_ticks_step_by_one_two_or_five_and_cover_the_data(low, high, expected):
    ticks = charts.nice_ticks(low, high)
    assert ticks == pytest.approx(expected)
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 5) and ticks[0] <= low and ticks[-1] >= high


def test_tick_labels_use_the_steps_decimals_and_a_true_minus():
    assert charts.tick_label(-20, 10) == "\u221220"
    assert charts.tick_label(0.45, 0.05, "%") == "0.45%"
    assert charts.tick_label(12000, 5000) == "12,000"
    assert charts.tick_label(-0.0, 1) == "0"


def test_a_point_title_says_value_interval_and_n():
    estimate = Estimate(value=31.2, n=212, se=4.6, ci_low=22.1, ci_high=40.3, confidence=0.95, low_base=False)
    assert charts.estimate_title("March 2026", "NPS", estimate) == "March 2026: NPS 31 (95% CI 22 to 40), n = 212"
    assert charts.month_label("2026-03-01") == "Mar 2026" and charts.month_label("2026-03-01", short=False) == "March 2026"


def test_a_partial_period_is_hollow_marked_so_far_and_has_no_limits():
    points = [charts.ControlPoint(f"M{i}", value, f"M{i}: {value}", centre=40, lower=30, upper=50)
              for i, value in enumerate([41, 38, 44, 39])]
    points.append(charts.ControlPoint("M4", 12, "M4 so far", partial=True))
    chart = charts.control_chart(points, title="NPS", y_title="NPS (−100 to 100)", floor=-100, ceiling=100)
    assert [point.kind for point in chart.points] == ["point"] * 4 + ["partial"]
    assert chart.points[-1].note == "so far"
    limits = [line for line in chart.lines if line.kind == "limit"]
    assert all(len(line.points.split()) == 8 for line in limits)  # two ends of a step for each ended period
    assert [line.kind for line in chart.lines].count("partial") == 1
    assert ("partial", "Period not ended yet") in chart.legend


def test_every_chart_renders_through_one_macro_without_inline_style():
    drawn = [
        charts.control_chart([charts.ControlPoint("Jan 2026", 30, "t", 31, 20, 42, signalled=True),
                              charts.ControlPoint("Feb 2026", 33, "t", 31, 20, 42)],
                             title="NPS by month", y_title="NPS (−100 to 100)"),
        charts.line_with_band([charts.BandPoint("Jan 2026", 60, 55, 65, "t"),
                               charts.BandPoint("Feb 2026", 58, 50, 66, "t", partial=True)],
                              title="Retention", y_title="Retention (%)"),
        charts.bar_chart([charts.BarGroup("0", ((3, "3 customers"),)), charts.BarGroup("50", ((7, "7"),))],
                         title="CLV", y_title="Customers", x_title="CLV (EUR)"),
        charts.pareto([("Delivery", 12), ("Price", 30), ("A very long theme name that goes on", 3)],
                      title="Negative comments by theme", y_title="Negative comments"),
        charts.curve([(0, 0), (20, 130), (100, 100)], title="Whale", x_title="Customers (%)",
                     y_title="Profit (%)", reference=100),
    ]
    module = templates.env.get_template("charts.html").module
    for chart in drawn:
        html = str(module.figure(chart, "A caption"))
        assert "<svg" in html and not re.search(r"\sstyle\s*=", html) and "<script" not in html
        assert "viewBox" not in html.split('class="chart-plot"')[1].split(">")[0]  # text is never scaled
        assert chart.title in html


def test_the_pareto_sorts_largest_first_and_its_cumulative_line_ends_at_100():
    chart = charts.pareto([("Delivery", 12), ("Price", 30), ("Sizing", 8)], title="t", y_title="Comments")
    assert [tick.label for tick in chart.x_ticks] == ["Price", "Delivery", "Sizing"]
    assert [bar.title for bar in chart.bars] == ["Price: 30", "Delivery: 12", "Sizing: 8"]
    shares = [point.title.split(": ")[1] for point in chart.points]
    assert shares == ["60% of the total", "84% of the total", "100% of the total"]
    assert chart.y2_axis is not None and [tick.label for tick in chart.y2_axis.ticks][-1] == "100%"
    assert chart.points[-1].y == charts.PLOT_TOP  # 100% is the top of the plot


def test_x_labels_thin_out_on_a_phone_but_the_newest_is_always_labelled():
    for count in (1, 3, 4, 5, 12, 13, 18, 19, 24, 40):
        labels = [f"M{i}" for i in range(count)]
        ticks = charts._category_ticks(labels)
        assert ticks[-1].label == labels[-1] and not ticks[-1].wide_only
        assert min(count, 3) <= sum(not tick.wide_only for tick in ticks) <= charts.PHONE_X_LABELS
        assert min(count, 7) <= len(ticks) <= charts.WIDE_X_LABELS


RULES = {rule.id: rule for rule in spc.NELSON_RULES + spc.WESTERN_ELECTRIC_RULES}


@pytest.mark.parametrize(("rule", "direction", "expected"), [
    ("nelson-1", "down", "December 2026 is unusually low: NPS more than 3 standard errors below its usual level "
                         "(Nelson rule 1)"),
    ("we-1", "up", "December 2026 is unusually high: NPS more than 3 standard errors above its usual level "
                   "(Western Electric rule 1)"),
    ("nelson-2", "up", "NPS has shifted up: above its usual level 9 months in a row, up to December 2026 "
                       "(Nelson rule 2)"),
    ("nelson-3", "down", "NPS is falling steadily: lower than the month before, 6 months in a row up to "
                         "December 2026 (Nelson rule 3)"),
    ("nelson-4", None, "NPS zigzags: up and down in turn 14 months in a row up to December 2026, more regularly "
                       "than chance would: two alternating sources, such as two teams, may be mixed (Nelson rule 4)"),
    ("nelson-5", "up", "NPS is running high: more than 2 standard errors above its usual level in 2 of the 3 "
                       "months up to December 2026 (Nelson rule 5)"),
    ("nelson-6", "down", "NPS has shifted down: more than 1 standard error below its usual level in 4 of the 5 "
                         "months up to December 2026 (Nelson rule 6)"),
    ("nelson-7", None, "NPS varies less than expected: within 1 standard error of its usual level 15 months in a "
                       "row up to December 2026: the limits may be too wide, or the data may mix groups "
                       "(Nelson rule 7)"),
    ("nelson-8", None, "NPS swings widely: more than 1 standard error from its usual level, on either side, 8 "
                       "months in a row up to December 2026: the data may mix two processes (Nelson rule 8)"),
    ("we-2", "down", "NPS is running low: more than 2 standard errors below its usual level in 2 of the 3 months "
                     "up to December 2026 (Western Electric rule 2)"),
    ("we-3", "up", "NPS has shifted up: more than 1 standard error above its usual level in 4 of the 5 months up "
                   "to December 2026 (Western Electric rule 3)"),
    ("we-4", "down", "NPS has shifted down: below its usual level 8 months in a row, up to December 2026 "
                     "(Western Electric rule 4)"),
])
def test_each_rule_has_its_plain_words(rule, direction, expected):
    assert signal_sentence(RULES[rule], direction, "December 2026", "NPS") == expected
    assert signal_sentence(rule, direction, "December 2026", "NPS") == expected


def test_every_rule_of_the_core_has_words_and_sentences_start_with_a_capital():
    for rule in RULES.values():
        direction = None if rule.id in ("nelson-4", "nelson-7", "nelson-8") else "up"
        sentence = signal_sentence(rule, direction, "week 12", "share of late deliveries", period_name="week")
        assert sentence[0].isupper() and sentence.endswith(")") and "weeks" in sentence + "weeks"
    with pytest.raises(ValueError, match="direction"):
        signal_sentence("nelson-1", None, "May", "NPS")
    with pytest.raises(ValueError, match="unknown control-chart rule"):
        signal_sentence("nelson-9", "up", "May", "NPS")
