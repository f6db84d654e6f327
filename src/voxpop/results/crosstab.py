"""A crosstab of one question by an attribute or a choice question: counts and column proportions with Wilson
intervals, each cell's column tested against the rest of its row (two-proportion z, Holm-adjusted across the
table's tested cells), and a chi-square test of independence for the table."""

from __future__ import annotations

from typing import Any

from scipy import stats
from sqlalchemy import Connection

from voxpop.collection.filters import FilterError, ResponseFilter, matching_responses
from voxpop.core import comparisons
from voxpop.core.counts import NPS_GROUP_LABELS
from voxpop.core.estimates import proportion
from voxpop.results.analysis_counts import (
    NPS_GROUP_ORDER,
    Grouping,
    SurveyCatalogue,
    SurveyQuestion,
    value_counts,
)
from voxpop.results.analysis_schemas import (
    ChiSquarePublic,
    CrosstabCellPublic,
    CrosstabColumnPublic,
    CrosstabPublic,
    CrosstabRowPublic,
)
from voxpop.surveys.schemas import OTHER

MAX_COLUMNS = 30  # columns a table shows; an attribute with more values is a filter's job
SMALL_EXPECTED = 5  # Cochran's rule (Cochran 1954, Biometrics 10(4)): most expected counts at least 5, none below 1
NO_VALUE = "(no value)"


def row_by_for(question: SurveyQuestion, row_by: str | None) -> str:
    """How the row question's answers make rows: its choices; a scored question's scores or, for NPS, its groups."""
    if question.choice:
        if row_by not in (None, "", "choice"):
            raise FilterError(f"row_by applies to scored questions; {question.key!r} is a choice question, so its "
                              "rows are its options", parameter="row_by")
        return "choice"
    if row_by in (None, ""):
        return "group" if question.kind == "nps" else "score"
    if row_by == "group" and question.kind != "nps":
        raise FilterError(f"row_by=group (the NPS groups) applies to NPS questions; {question.key!r} is "
                          f"{question.kind}, so use row_by=score", parameter="row_by")
    if row_by not in ("score", "group"):
        raise FilterError(f"row_by must be score or group, not {row_by!r}", parameter="row_by")
    return row_by


def _row_labels(question: SurveyQuestion, row_by: str) -> list[tuple[Any, str]]:
    if row_by == "choice":
        return list(question.options)
    if row_by == "group":
        return [(group, NPS_GROUP_LABELS[group]) for group in NPS_GROUP_ORDER]
    low, high = question.bounds
    return [(score, str(score)) for score in range(low, high + 1)]


def _columns(catalogue: SurveyCatalogue, row: SurveyQuestion, column: str) -> tuple[Grouping, str, str]:
    """The grouping a `column` names (a choice question's key, else an attribute), its kind and its label."""
    question = catalogue.question(column)
    if question is not None and question.choice and question.key != row.key:
        return Grouping(question=question), "question", question.text
    if column in catalogue.attributes:
        return Grouping(attribute=column), "attribute", column.replace("_", " ").capitalize()
    choices = [choice.key for choice in catalogue.choices if choice.key != row.key]
    offered = ", ".join([*catalogue.attributes, *choices]) or "none"
    raise FilterError(f"column must be an attribute or another choice question of this survey ({offered}), "
                      f"not {column!r}", parameter="column")


def crosstab(connection: Connection, *, catalogue: SurveyCatalogue, response_filter: ResponseFilter, zone: str,
             row: str, column: str, row_by: str | None, min_base: int, confidence: float) -> CrosstabPublic:
    """The table of `row` (a choice or scored question) by `column` over the responses the filter keeps."""
    question = catalogue.question(row)
    if question is None or not (question.choice or question.scored):
        offered = ", ".join(item.key for item in catalogue.questions if item.choice or item.scored)
        raise FilterError(f"row must be a choice or scored question of this survey ({offered}), not {row!r}",
                          parameter="row")
    row_by = row_by_for(question, row_by)
    grouping, column_kind, column_label = _columns(catalogue, question, column)
    responses = matching_responses(response_filter, zone=zone, survey=catalogue.key)
    counts, bases = value_counts(connection, question=question, responses=responses, by=row_by, grouping=grouping)
    notes = []
    if None in bases:
        notes.append(f"{bases.pop(None):,} responses have no {column} value and are left out.")
    if grouping.question is not None:
        order = {value: position for position, (value, _) in enumerate(grouping.question.options)}
        labels = dict(grouping.question.options)
        values = sorted(bases, key=lambda value: order.get(value, len(order)))
    else:
        labels, values = {}, sorted(bases)
    if len(values) > MAX_COLUMNS:
        raise FilterError(f"{column} has {len(values)} values here, more than the {MAX_COLUMNS} columns a crosstab "
                          f"shows; filter to some of them, or choose another column", parameter="column")
    columns = [CrosstabColumnPublic(value=value, label=labels.get(value, str(value)), base=bases[value],
                                    low_base=bases[value] < min_base) for value in values]
    overlapping = question.kind == "multiple_choice" or bool(grouping.question and
                                                             grouping.question.kind == "multiple_choice")
    if grouping.question is not None and grouping.question.kind == "multiple_choice":
        all_counts, all_bases = value_counts(connection, question=question, responses=responses, by=row_by)
        totals = {value: all_counts.get((value, None), 0) for value, _ in _row_labels(question, row_by)}
        total_base = all_bases.get(None, 0)
    else:
        totals = {value: sum(counts.get((value, group), 0) for group in values) for value, _ in _row_labels(question, row_by)}
        total_base = sum(bases[value] for value in values)
    rows, tested = [], []
    for value, label in _row_labels(question, row_by):
        if value == OTHER and not totals[value]:
            continue
        cells = []
        for column_public in columns:
            count = counts.get((value, column_public.value), 0)
            cell = _cell(count, column_public.base, min_base=min_base, confidence=confidence)
            rest_base = total_base - column_public.base
            if not (overlapping or column_public.low_base or rest_base < min_base):
                difference = comparisons.proportion_difference(
                    a=(count, column_public.base), b=(totals[value] - count, rest_base), confidence=confidence)
                cell.p_value = difference.p_value
                tested.append((cell, difference.difference))
            cells.append(cell)
        rows.append(CrosstabRowPublic(value=str(value), label=label, cells=cells,
                                      total=_cell(totals[value], total_base, min_base=min_base, confidence=confidence)))
    for (cell, difference), p_holm in zip(tested, comparisons.holm([cell.p_value for cell, _ in tested])):
        cell.p_holm = p_holm
        if p_holm < 1 - confidence:
            cell.mark = "higher" if difference > 0 else "lower"
    if overlapping:
        several = question if question.kind == "multiple_choice" else grouping.question
        notes.append(f"“{several.text}” takes several answers, so a response can count in more than one "
                     f"{'row' if several is question else 'column'}: no cell is tested against the rest of its row "
                     "and no chi-square test applies, since both need groups that do not overlap.")
    chi_square = None if overlapping else chi_square_test([[cell.count for cell in table_row.cells]
                                                           for table_row in rows])
    return CrosstabPublic(
        survey=catalogue.key, title=catalogue.title, row=question.key, row_text=question.text, row_by=row_by,
        column=column, column_kind=column_kind, column_label=column_label, confidence=confidence, min_base=min_base,
        filter=response_filter.describe(), columns=columns, rows=rows, base=total_base, tested=len(tested),
        overlapping=overlapping, chi_square=chi_square,
        notes=notes)


def _cell(count: int, base: int, *, min_base: int, confidence: float) -> CrosstabCellPublic:
    if not base:
        return CrosstabCellPublic(count=count, percent=None)
    estimate = proportion(successes=count, n=base, min_base=min_base, confidence=confidence)
    return CrosstabCellPublic(count=count, percent=estimate.value, ci_low=estimate.ci_low, ci_high=estimate.ci_high)


def chi_square_test(table: list[list[int]]) -> ChiSquarePublic | None:
    """Pearson's chi-square test of independence (scipy's chi2_contingency: Yates' correction on a 2×2 table) over
    the rows and columns that have answers; None when fewer than two of either remain."""
    rows = [row for row in table if sum(row)]
    kept = [index for index in range(len(rows[0]) if rows else 0) if sum(row[index] for row in rows)]
    if len(rows) < 2 or len(kept) < 2:
        return None
    observed = [[row[index] for index in kept] for row in rows]
    result = stats.chi2_contingency(observed)
    expected = result.expected_freq
    small = int((expected < SMALL_EXPECTED).sum())
    caveat = None
    if small > 0.2 * expected.size or expected.min() < 1:
        caveat = (f"{small} of the {expected.size} cells expect fewer than {SMALL_EXPECTED} responses (the smallest "
                  f"{expected.min():.1f}), so the chi-square p-value is only approximate; merge rows or columns, or "
                  "widen the filter")
    elif small:
        caveat = (f"{small} of the {expected.size} cells expect fewer than {SMALL_EXPECTED} responses; by Cochran's "
                  "rule (at most a fifth of them, none below 1) the p-value still holds")
    return ChiSquarePublic(statistic=float(result.statistic), dof=int(result.dof), p_value=float(result.pvalue),
                           smallest_expected=float(expected.min()), cells_expected_below_5=small, caveat=caveat)
