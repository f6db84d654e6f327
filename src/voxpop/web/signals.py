"""Control-chart signals in plain words, with the rule beside them, for every page that shows a chart.

One wording per rule of core.spc (Nelson 1–8, Western Electric 1–4). "Standard error" is the chart's sigma:
the spread a period's figure has by chance alone.
"""

from __future__ import annotations

from voxpop.core.spc import Direction, Rule

RULE_NAMES = {f"nelson-{number}": f"Nelson rule {number}" for number in range(1, 9)} | {
    f"we-{number}": f"Western Electric rule {number}" for number in range(1, 5)}

# Per rule: (headline, detail). {metric}, {period}, {periods} (plural name), {above}/{high}/{rises} (by direction).
_WORDING = {
    "beyond-3": ("{period} is unusually {high}", "{metric} more than 3 standard errors {above} its usual level"),
    "beyond-2": ("{metric} is running {high}",
                 "more than 2 standard errors {above} its usual level in 2 of the 3 {periods} up to {period}"),
    "beyond-1": ("{metric} has shifted {up}",
                 "more than 1 standard error {above} its usual level in 4 of the 5 {periods} up to {period}"),
    "side-9": ("{metric} has shifted {up}", "{above} its usual level 9 {periods} in a row, up to {period}"),
    "side-8": ("{metric} has shifted {up}", "{above} its usual level 8 {periods} in a row, up to {period}"),
    "trend": ("{metric} is {rising} steadily",
              "{higher} than the {period_name} before, 6 {periods} in a row up to {period}"),
    "zigzag": ("{metric} zigzags", "up and down in turn 14 {periods} in a row up to {period}, more regularly than "
                                   "chance would: two alternating sources, such as two teams, may be mixed"),
    "hugging": ("{metric} varies less than expected",
                "within 1 standard error of its usual level 15 {periods} in a row up to {period}: the limits may be "
                "too wide, or the data may mix groups"),
    "swinging": ("{metric} swings widely", "more than 1 standard error from its usual level, on either side, "
                                           "8 {periods} in a row up to {period}: the data may mix two processes"),
}
_PATTERN = {"nelson-1": "beyond-3", "we-1": "beyond-3", "nelson-5": "beyond-2", "we-2": "beyond-2",
            "nelson-6": "beyond-1", "we-3": "beyond-1", "nelson-2": "side-9", "we-4": "side-8", "nelson-3": "trend",
            "nelson-4": "zigzag", "nelson-7": "hugging", "nelson-8": "swinging"}
_UNDIRECTED = {"zigzag", "hugging", "swinging"}


def rule_name(rule: Rule | str) -> str:
    """'nelson-1' as 'Nelson rule 1'."""
    rule_id = rule if isinstance(rule, str) else rule.id
    try:
        return RULE_NAMES[rule_id]
    except KeyError:
        raise ValueError(f"unknown control-chart rule {rule_id!r}; expected one of {', '.join(RULE_NAMES)}") from None


def signal_sentence(rule: Rule | str, direction: Direction | None, period: str, metric: str, *,
                    period_name: str = "month") -> str:
    """One sentence for a signal, the rule in brackets: 'December 2026 is unusually low: NPS more than 3
    standard errors below its usual level (Nelson rule 1)'. `period` labels the signal's last period,
    `metric` names the charted figure, `period_name` is the chart's period (month, week, day, quarter)."""
    name = rule_name(rule)
    pattern = _PATTERN[rule if isinstance(rule, str) else rule.id]
    if pattern not in _UNDIRECTED and direction not in ("up", "down"):
        raise ValueError(f"{name} signals a direction; give direction 'up' or 'down', not {direction!r}")
    up = direction == "up"
    headline, detail = _WORDING[pattern]
    words = {"metric": metric, "period": period, "period_name": period_name, "periods": period_name + "s",
             "above": "above" if up else "below", "high": "high" if up else "low", "up": "up" if up else "down",
             "rising": "rising" if up else "falling", "higher": "higher" if up else "lower"}
    sentence = f"{headline.format(**words)}: {detail.format(**words)} ({name})"
    return sentence[0].upper() + sentence[1:]
