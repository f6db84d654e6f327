"""`voxpop nonresponse`: Who did not answer: respondents against the invited audience, and raking weights."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from voxpop.cli import _database, app, err, fail, get_settings, out, read_text_file

weighting_app = typer.Typer(help="Who did not answer: respondents against the invited audience, and raking weights.", no_args_is_help=True)
app.add_typer(weighting_app, name="nonresponse")

Survey = Annotated[str, typer.Option("--survey", help="The survey's key.")]
SendOption = Annotated[str | None, typer.Option("--send", help="Only this send's invitations (default: all).")]
Cap = Annotated[float | None, typer.Option("--cap", min=1.01, help="Trim weights above CAP × the mean weight and "
                                                                   "rake again.")]


def _diagnosed(survey: str, send: str | None, weight_by: list[str] | None, confidence: float,
               lifetime_value: bool = False):
    from voxpop.results.nonresponse import NonresponseError, diagnose
    from voxpop.results.service import UnknownSurvey

    db = _database()
    try:
        with db.read_connection() as connection:
            return diagnose(connection, survey_key=survey, send=send, weight_by=weight_by, confidence=confidence,
                            min_base=get_settings().min_base, lifetime_value=lifetime_value)
    except UnknownSurvey:
        fail(f"there is no survey {survey!r}; `voxpop survey list` shows the keys")
    except NonresponseError as exc:
        fail(f"--{exc.parameter}: {exc}")
    finally:
        db.dispose()


@weighting_app.command("diagnose")
def diagnose_command(
    survey: Survey,
    send: SendOption = None,
    weight: Annotated[list[str] | None, typer.Option("--weight", help="Rake on this customer attribute; repeat for "
                                                                      "several (default: those that differ).")] = None,
    confidence: Annotated[float, typer.Option("--confidence", min=0.5, max=0.999)] = 0.95,
    clv: Annotated[bool, typer.Option("--clv", help="Compare predicted CLV too (fits the CLV models: seconds).")] = False,
    output: Annotated[Literal["table", "json", "csv"], typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Respondents against the invited audience on every known attribute, then the answers weighted back to it."""
    result = _diagnosed(survey, send, weight, confidence, clv)
    if output == "json":
        print(result.model_dump_json(indent=2))
    elif output == "csv":
        _write_csv(sys.stdout, *_attribute_rows(result))
    else:
        _print_tables(result)


def _attribute_rows(result) -> tuple[list[str], list[list[Any]]]:
    header = ["attribute", "kind", "category", "invited", "responded", "rate", "ci_low", "ci_high",
              "respondents_mean", "non_respondents_mean", "test", "statistic", "p_value", "p_holm", "differs"]
    rows = []
    for test in result.attributes:
        common = [test.test, test.statistic, test.p_value, test.p_holm, test.differs]
        for category in test.categories:
            rows.append([test.name, test.kind, category.value, category.invited, category.responded,
                         category.rate.value, category.rate.ci_low, category.rate.ci_high, None, None, *common])
        if test.means:
            rows.append([test.name, test.kind, None, test.means.respondents_n + test.means.non_respondents_n,
                         test.means.respondents_n, None, None, None, test.means.respondents,
                         test.means.non_respondents, *common])
    return header, rows


def _print_tables(result) -> None:
    from rich.table import Table

    out.print(result.summary, highlight=False, markup=False)
    for test in result.attributes:
        table = Table(title=test.name, title_justify="left")
        if test.kind == "categorical":
            for column in (test.name, "invited", "answered", "rate %", "interval"):
                table.add_column(column, justify="left" if column == test.name else "right")
            for category in test.categories:
                rate = category.rate
                table.add_row(category.value, f"{category.invited:,}", f"{category.responded:,}", f"{rate.value:.1f}",
                              f"{rate.ci_low:.1f} to {rate.ci_high:.1f}")
            out.print(table)
        out.print(test.verdict, highlight=False, markup=False)
    for skipped in result.skipped:
        out.print(f"not tested: {skipped}", highlight=False, markup=False)
    weighting = result.weighting
    if weighting and weighting.by:
        if weighting.error:
            out.print(f"weighting by {', '.join(weighting.by)} is not possible: {weighting.error}", highlight=False,
                      markup=False)
            return
        out.print(f"weighted by {', '.join(weighting.by)}: n = {weighting.respondents:,}, n_eff = "
                  f"{weighting.effective_n:.1f}, design effect {weighting.design_effect:.2f}", highlight=False)
        table = Table(title="weighted against unweighted", title_justify="left")
        for column in ("question", "figure", "unweighted", "weighted", "changes"):
            table.add_column(column, justify="left" if column in ("question", "figure") else "right")
        for metric in weighting.metrics:
            table.add_row(metric.question, metric.metric, _figure(metric.unweighted), _figure(metric.weighted),
                          "yes" if metric.changes else "no")
        out.print(table)
        for finding in weighting.findings:
            out.print(finding, highlight=False, markup=False)


def _figure(estimate) -> str:
    if estimate.value is None:
        return "–"
    interval = f" ({estimate.ci_low:.1f} to {estimate.ci_high:.1f})" if estimate.ci_low is not None else ""
    return f"{estimate.value:.1f}{interval}"


@weighting_app.command("weights")
def weights_command(
    survey: Survey,
    by: Annotated[list[str] | None, typer.Option("--by", help="A customer attribute to rake on; repeat for several "
                                                              "(default: those on which respondents differ).")] = None,
    send: SendOption = None,
    cap: Cap = None,
    output: Annotated[Path | None, typer.Option("--output", help="Write the CSV here (default: standard output).")] = None,
) -> None:
    """Each respondent's raking weight to the invited audience's margins, as CSV: customer, response, weight (the
    invited customers the respondent stands for) and the attributes raked on."""
    from voxpop.core.raking import RakingError
    from voxpop.results.nonresponse import NonresponseError, audience_members, category_of, raked_weights
    from voxpop.results.service import UnknownSurvey

    db = _database()
    try:
        with db.read_connection() as connection:
            members, responses, categorical = audience_members(connection, survey_key=survey, send=send)
    except NonresponseError as exc:
        fail(f"--{exc.parameter}: {exc}")
    except UnknownSurvey:
        fail(f"there is no survey {survey!r}; `voxpop survey list` shows the keys")
    finally:
        db.dispose()
    if not members:
        fail(f"no customer was invited to {survey!r}, so there is no audience to weight to")
    chosen = list(dict.fromkeys(by or _differing(survey, send)))
    unknown = [name for name in chosen if name not in categorical]
    if unknown:
        fail(f"--by: the audience has no categorical attribute {unknown[0]!r} (offered: "
             f"{', '.join(categorical) or 'none'})")
    if not chosen:
        fail("respondents do not differ from the audience on any attribute; name one with --by to weight anyway")
    try:
        respondents, raked = raked_weights(members, chosen, cap=cap)
    except RakingError as exc:
        fail(str(exc))
    header = ["customer", "response", "weight", *chosen]
    rows = [[responses[member.response_id][0], responses[member.response_id][1], round(float(weight), 6),
             *(category_of(member, name) for name in chosen)] for member, weight in zip(respondents, raked.weights)]
    _write_rows(output, header, rows)
    err.print(f"{len(rows):,} respondents weighted to {len(members):,} invited customers by {', '.join(chosen)}: "
              f"n_eff {raked.effective_n:.1f}, design effect {raked.design_effect:.2f}, weights "
              f"{raked.weights.min():.3f} to {raked.weights.max():.3f}", highlight=False)


def _differing(survey: str, send: str | None) -> list[str]:
    result = _diagnosed(survey, send, None, 0.95)
    return [test.name for test in result.attributes if test.kind == "categorical" and test.differs]


@weighting_app.command("rake")
def rake_command(
    file: Annotated[Path, typer.Argument(help="A CSV, TSV, XLSX or Parquet file with one row per respondent.")],
    margins: Annotated[Path, typer.Option("--margins", help="A YAML file of target margins (docs/nonresponse.md).")],
    design_weight: Annotated[str | None, typer.Option("--design-weight", help="A column of starting weights.")] = None,
    cap: Cap = None,
    output: Annotated[Path | None, typer.Option("--output", help="Write the CSV here (default: standard output).")] = None,
) -> None:
    """Rake any export to target margins: the file's rows with a `weight` column added, as CSV."""
    import warnings

    from voxpop.analysis.engine import MetricError
    from voxpop.analysis.sources import ROW, read_file
    from voxpop.core.raking import RakingError, rake

    targets, total = _margins(margins)
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            frame = read_file(file).execute()
    except MetricError as exc:
        fail(str(exc))
    rows = frame[ROW].tolist()
    frame = frame.drop(columns=[ROW])
    for name in [*targets, *([design_weight] if design_weight else [])]:
        if name not in frame.columns:
            fail(f"{file} has no column {name!r} (its columns: {', '.join(frame.columns)})")
    categories = {}
    for name, margin in targets.items():
        values = frame[name].fillna("").astype(str).str.strip().tolist()
        for row, value in zip(rows, values):
            if value not in margin:
                said = "is empty" if value == "" else f"is {value!r}, which has no target"
                fail(f"row {row}: {name} {said}; every row needs a value with a target in {margins}")
        categories[name] = values
    start = None
    if design_weight:
        start = []
        for row, text in zip(rows, frame[design_weight].fillna("").astype(str)):
            try:
                start.append(float(text))
            except ValueError:
                fail(f"row {row}: {design_weight} is {text!r}, not a number")
    try:
        raked = rake(categories, targets, design_weights=start, total=total if total else float(len(frame)), cap=cap)
    except RakingError as exc:
        fail(str(exc))
    frame["weight"] = [round(float(weight), 6) for weight in raked.weights]
    _write_rows(output, list(frame.columns), frame.astype(object).where(frame.notna(), None).values.tolist())
    err.print(f"{len(frame):,} rows raked on {', '.join(targets)} in {raked.iterations} passes: n_eff "
              f"{raked.effective_n:.1f}, design effect {raked.design_effect:.2f}, weights {raked.weights.min():.3f} "
              f"to {raked.weights.max():.3f}{f', {raked.capped} capped' if raked.capped else ''}", highlight=False)


def _margins(path: Path) -> tuple[dict[str, dict[str, float]], float | None]:
    """The margins file: `margins:` maps each column to its categories' targets (counts or shares, alike for
    every column); `total:` (optional) is what the weights sum to, by default the number of rows."""
    import yaml

    text = read_text_file(path)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        fail(f"{path} is not valid YAML: {exc}")
    if not isinstance(document, dict) or not isinstance(document.get("margins"), dict) or not document["margins"]:
        fail(f"{path} needs a `margins:` mapping of each column to its categories' targets")
    total = document.get("total")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int | float) or total <= 0):
        fail(f"{path}: total must be a positive number, not {total!r}")
    targets = {}
    for name, margin in document["margins"].items():
        if not isinstance(margin, dict) or not margin:
            fail(f"{path}: margins.{name} must map each category to its target")
        for category, value in margin.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                fail(f"{path}: margins.{name}.{category} must be a number of zero or more, not {value!r}")
        targets[str(name)] = {str(category).strip(): float(value) for category, value in margin.items()}
    return targets, total


def _write_rows(output: Path | None, header: list[str], rows: list[list[Any]]) -> None:
    if output is None:
        _write_csv(sys.stdout, header, rows)
        return
    buffer = io.StringIO()
    _write_csv(buffer, header, rows)
    try:
        output.write_text(buffer.getvalue(), encoding="utf-8")
    except OSError as exc:
        fail(f"{output} cannot be written: {exc}", code=1)


def _write_csv(stream, header: list[str], rows: list[list[Any]]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
