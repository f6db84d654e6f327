"""The analyst's verbs: metrics, spc and drivers, on an export file or a survey in the database."""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voxpop.cli import app, err, fail, get_settings, in_cli_terms, out

if TYPE_CHECKING:
    from voxpop.settings import Settings

PERIODS = ("day", "week", "month", "quarter")
# Where metrics, spc and drivers read from, besides a FILE or --survey, and how a FILE is read.
ConnectOption = Annotated[str | None, typer.Option("--connect", help="Read --table where the data live, by an Ibis "
                                                                     "URL (e.g. duckdb:///data.duckdb or "
                                                                     "postgresql://host/db); only the aggregation "
                                                                     "runs there.")]
TableOption = Annotated[str | None, typer.Option("--table", help="With --connect: the table or view to read.")]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="Read the FILE itself, not the Parquet copy an "
                                                                "earlier run kept in the data directory.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", help="Say how the FILE was read.")]


def _scale(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        low, high = (int(part) for part in text.replace("–", "-").split("-", 1))
    except ValueError:
        fail(f"--scale takes LOW-HIGH, e.g. 0-10 or 1-5, not {text!r}")
    if low >= high:
        fail(f"--scale {text}: the low end must be below the high end")
    return low, high


def _filters(pairs: list[str] | None) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--filter takes COLUMN=VALUE, not {pair!r}")
        filters.setdefault(name, []).append(value)
    return filters


def _cut_points(cuts: str | None) -> tuple[int, int] | None:
    if cuts is None:
        return None
    try:
        detractor_max, promoter_min = (int(part) for part in cuts.split(","))
    except ValueError:
        fail(f"--cuts takes DETRACTOR_MAX,PROMOTER_MIN, e.g. 6,9, not {cuts!r}")
    return detractor_max, promoter_min


def _check_format(output: str) -> None:
    if output not in ("table", "json", "csv"):
        fail(f"--format must be table, json or csv, not {output!r}")


def _note_nps_scale(metric: str, scale: tuple[int, int] | None, cut_points: tuple[int, int] | None) -> None:
    if metric == "nps" and scale not in (None, (0, 10)) and cut_points is None:
        err.print(f"note: NPS on a {scale[0]}–{scale[1]} scale, counted as detractors ≤ 6 and "
                  "promoters ≥ 9 (state others with --cuts)", highlight=False)


@contextmanager
def _notes():
    """Print what the analysis notes (voxpop.metrics.MetricNote) on stderr, also when it then stops: a note such as
    "the 2 header rows Qualtrics adds were skipped" explains the row an error names."""
    from voxpop.metrics import MetricNote

    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", MetricNote)
        try:
            yield
        finally:
            for note in notes:
                err.print(f"note: {in_cli_terms(str(note.message))}", highlight=False)


def _checked_request(settings: Settings, *, output, period, file, survey, cuts, min_base, connect=None, table=None):
    """The checks `metrics` and `spc` share; returns the NPS cut points and the minimum base."""
    _check_format(output)
    if period is not None and period not in PERIODS:
        fail(f"--period must be day, week, month or quarter, not {period!r}")
    _check_source(file=file, survey=survey, connect=connect, table=table)
    return _cut_points(cuts), (min_base if min_base is not None else settings.min_base)


def _check_source(*, file, survey, connect, table) -> None:
    """Exactly one source: an export FILE, a survey in the database, or a table where the data live (--connect)."""
    if (file is None) + (survey is None) + (connect is None) != 2:
        fail("Give either an export FILE, --survey KEY or --connect URL with --table NAME")
    check_connect_and_table(connect, table)


def check_connect_and_table(connect: str | None, table: str | None) -> None:
    """--connect and --table come together (also for `clv fit`)."""
    if (connect is None) != (table is None):
        fail("--connect and --table go together: --connect names the database, --table the table in it")


def _data(file: Path | None, *, connect: str | None, table: str | None, no_cache: bool, verbose: bool):
    """What the engine reads (voxpop.metrics takes a path or an Ibis table): the export FILE, or with --connect
    the table where the data live, so that only the aggregation runs there."""
    if connect is not None:
        return _connected_table(connect, table)
    return _file_data(file, no_cache=no_cache, verbose=verbose)


def _connected_table(connect: str, table: str | None):
    """--connect URL --table NAME as an Ibis table on that backend (analysis.warehouse: the URL forms, Parquet paths)."""
    from voxpop.analysis import warehouse

    try:
        return warehouse.open_table(connect, table)
    except ValueError as exc:  # MetricError: an unknown scheme, a missing driver, an unreachable server, no such table
        fail(str(exc))  # fail says `parameters` as options


@contextmanager
def connected_errors(connect: str | None):
    """With --connect, an error the backend or Ibis raises while the query runs as one sentence (exit 2); the
    errors voxpop raises (ValueError, MetricError) are the command's to say, and without --connect nothing changes."""
    try:
        yield
    except (typer.Exit, ValueError):
        raise
    except Exception as exc:
        if connect is None:
            raise
        from voxpop.analysis import warehouse

        fail(warehouse.query_failed(connect, exc))


def _file_data(file: Path | None, *, no_cache: bool, verbose: bool):
    """An export file as the engine reads it: through a Parquet copy kept in the data directory unless --no-cache,
    saying on stderr when a copy is used and, with --verbose, how the file was read."""
    from voxpop.analysis.sources import Export

    cache = None if no_cache else get_settings().data_dir / "cache" / "files"
    return Export(file, cache=cache, tell=lambda message: err.print(f"note: {message}", highlight=False, soft_wrap=True),
                  verbose=verbose)


def _response_filter(settings: Settings, *, since, until, during, answers):
    """The staff pages' response filter from --since, --until, --during and --answer (None when none is given),
    counted from today in the workspace's time zone, as the pages count it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from voxpop.collection.filters import FilterError, parse_response_filter

    if since is None and until is None and during is None and not answers:
        return None
    try:
        return parse_response_filter(today=datetime.now(ZoneInfo(settings.timezone)).date(), since=since,
                                     until=until, period=during, answer=answers or [])
    except FilterError as exc:
        option, message = "--during" if exc.parameter == "period" else f"--{exc.parameter}", str(exc)
        # The filter's messages name query parameters (period, answer); here each is said as its option.
        fail(option + message[len(exc.parameter):] if message.startswith(f"{exc.parameter} ") else f"{option}: {message}")


def _kept_responses(connection, table, response_filter, *, survey: str, zone: str):
    """The answers of the responses the filter keeps: the filter's own SQL (collection.filters.matching_responses)
    as a semi-join, so the command selects exactly the responses a staff page shows."""
    from voxpop.collection.filters import matching_responses

    statement = matching_responses(response_filter, zone=zone, survey=survey)
    kept = connection.sql(str(statement.compile(dialect=_dialect(connection), compile_kwargs={"literal_binds": True})))
    return table.semi_join(kept, table.response_id == kept.id)


def _dialect(connection):
    from sqlalchemy.dialects import postgresql, sqlite

    return sqlite.dialect() if connection.name == "sqlite" else postgresql.psycopg.dialect()


def _survey_answers(settings: Settings, *, survey, question, metric, cut_points, by, filters, response_filter=None):
    """One question's answers in the database (columns score and submitted_at), and the spec of its scale."""
    from voxpop.analysis import sources
    from voxpop.analysis.engine import MetricSpec
    from voxpop.core.estimates import NpsCuts

    connection = sources.store_connection(settings.sqlalchemy_url)
    table, found = sources.survey_answers(connection, survey=survey, kind="rating" if metric == "mean" else metric,
                                          question=question, attributes=list(by or []), filters=filters)
    if response_filter is not None:
        table = _kept_responses(connection, table, response_filter, survey=survey, zone=settings.timezone)
    scale = found.scale
    if metric == "nps":
        return table, MetricSpec.create("nps", scale, cuts=NpsCuts(*scale, *cut_points) if cut_points else NpsCuts(*scale))
    return table, MetricSpec.create(metric, scale, ces_version=found.ces_version)  # type: ignore[arg-type]


def _print_rows(rows: list[dict], keys: list[str], output: str, *, compared: bool = False) -> None:
    import csv
    import json

    fields = ["metric", "n", "value", "se", "ci_low", "ci_high", "confidence", "low_base"]
    fields += ["vs_rest", "p_value", "p_holm", "significant"] if compared else []
    if output == "json":
        print(json.dumps({"rows": rows}, ensure_ascii=False, default=str))
        return
    if output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=keys + fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    from rich.table import Table

    columns = [*keys, "metric", "n", "value", "interval", "se"] + (["vs rest", "p (Holm)"] if compared else [])
    table = Table(*columns, show_edge=False, header_style="bold")
    for row in rows:
        digits = 2 if row["metric"].startswith(("mean", "ces")) and not row["metric"].endswith("agree") else 1
        value = "–" if row["value"] is None else f"{row['value']:.{digits}f}"
        interval = "–" if row["ci_low"] is None else f"{row['ci_low']:.{digits}f} to {row['ci_high']:.{digits}f}"
        if row["low_base"] and row["n"]:
            value += " (low base)"
        se = "–" if row["se"] is None else f"{row['se']:.{digits + 1}f}"
        cells = [*("(blank)" if row[key] is None else str(row[key]) for key in keys), row["metric"], f"{row['n']:,}",
                 value, interval, se]
        if compared:
            untested = row["p_holm"] is None
            cells += ["–" if untested else f"{row['vs_rest']:+.{digits}f}",
                      "not tested" if untested else (f"{row['p_holm']:.3f}" if row["p_holm"] >= 0.001 else "<0.001") + (" *" if row["significant"] else "")]
        table.add_row(*cells)
    out.print(table)
    if rows and rows[0].get("confidence"):
        out.print(f"intervals at {rows[0]['confidence']:.0%} confidence", style="dim")
    if compared:
        out.print("vs rest: the group minus all other groups combined; p adjusted with Holm across the groups; "
                  f"* = significant at {1 - rows[0]['confidence']:.0%}; low bases are not tested", style="dim")


CHART_TITLES = {
    "nps": "NPS chart: limits ±3 standard errors of NPS at each period's n",
    "p": "p-chart: limits ±3σ of a share at each period's n",
    "laney-p": "Laney p′ chart: p-chart limits rescaled by how much the shares really vary between periods (σz)",
    "xmr": "XmR chart of the individual values: limits ±2.66 × the mean moving range",
}
METRIC_LABELS = {"nps": "NPS", "csat": "CSAT, % top two boxes", "ces2.0_agree": "CES 2.0, % agreeing (5–7)",
                 "ces1.0": "CES 1.0, mean", "mean": "mean"}
ARROWS = {"up": "↑", "down": "↓", None: ""}


def _print_chart(result: dict, keys: list[str], output: str) -> None:
    import csv
    import json

    if output == "json":
        print(json.dumps(result, ensure_ascii=False, default=str))
        return
    said = lambda signals: "; ".join(f"{s['rule']} {s['direction'] or ''}".strip() for s in signals)
    if output == "csv":
        fields = [*keys, "period", "chart", "n", "value", "centre", "lower", "upper", "low_base", "signals"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "signals": said(row["signals"])} for row in result["rows"])
        return
    from rich.markup import escape
    from rich.table import Table

    digits = 2 if result["metric"] in ("mean", "ces1.0") else 1
    in_runs = {(*(signal[key] for key in keys), period) for signal in result["signals"] for period in signal["periods"]}
    mixed = result["chart"] == "mixed"
    table = Table(*keys, "period", *(["chart"] if mixed else []), "n", "value", "centre", "limits", "signal",
                  show_edge=False, header_style="bold")
    for row in result["rows"]:
        value = f"{row['value']:.{digits}f}"
        if row["signals"]:
            value = f"[bold red]{value} ◆[/]"
        elif (*(row[key] for key in keys), row["period"]) in in_runs:
            value = f"[yellow]{value} ·[/]"
        base = f"{row['n']:,}" + (" (low base)" if row["low_base"] else "")
        signal = ", ".join(f"{s['rule']} {ARROWS[s['direction']]}".strip() for s in row["signals"])
        table.add_row(*("(blank)" if row[key] is None else escape(str(row[key])) for key in keys), row["period"],
                      *([row["chart"]] if mixed else []), base, value, f"{row['centre']:.{digits}f}",
                      f"{row['lower']:.{digits}f} to {row['upper']:.{digits}f}",
                      f"[bold red]{signal}[/]" if signal else "")
    charts = " ".join(CHART_TITLES[name] + "." for name in dict.fromkeys(row["chart"] for row in result["rows"]))
    out.print(f"[bold]{METRIC_LABELS[result['metric']]}[/] per period. {charts}", highlight=False)
    out.print(table)
    rules = "Nelson" if result["rules"] == "nelson" else "Western Electric"
    fired = {signal["rule"]: signal["description"] for signal in result["signals"]}
    if not fired:
        out.print(f"no signals: no {rules} rule fires on these points", style="dim")
        return
    out.print(f"[bold red]◆[/] a signal ends here, [yellow]·[/] a point in its run. {rules} rules that fired:",
              highlight=False)
    for rule, description in fired.items():
        out.print(f"  {rule}: {description}", highlight=False)


def _print_drivers(result: dict, output: str) -> None:
    import csv
    import json

    if output == "json":
        print(json.dumps(result, ensure_ascii=False))
        return
    if output == "csv":
        fields = ["driver", "raw_weight", "rescaled", "ci_low", "ci_high", "raw_ci_low", "raw_ci_high", "performance",
                  "quadrant", "n", "r_squared"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "n": result["n"], "r_squared": result["r_squared"]} for row in result["rows"])
        return
    from rich.markup import escape
    from rich.table import Table

    rows = result["rows"]
    bootstrapped = bool(result["resamples"])
    table = Table("driver", "weight", "% of R²", *(["interval"] if bootstrapped else []), "performance", "quadrant",
                  show_edge=False, header_style="bold")
    for row in rows:
        interval = [f"{row['ci_low']:.1f} to {row['ci_high']:.1f}"] if bootstrapped else []
        table.add_row(escape(row["driver"]), f"{row['raw_weight']:.3f}", f"{row['rescaled']:.1f}", *interval,
                      f"{row['performance']:.2f}", row["quadrant"])
    out.print(f"[bold]Key drivers of {escape(repr(result['outcome']))}[/]: R² = {result['r_squared']:.3f} "
              f"on {result['n']:,} complete rows (Johnson's relative weights)", highlight=False)
    out.print(table)
    mean_performance = sum(row["performance"] for row in rows) / len(rows)
    out.print(f"weight: the share of the outcome's variance a driver explains (the weights sum to R²); performance: "
              f"the driver's mean over the same rows; quadrants split at the mean importance ({100 / len(rows):.1f}%) "
              f"and the mean performance ({mean_performance:.2f})", style="dim", highlight=False)
    if bootstrapped:
        out.print(f"intervals: {result['confidence']:.0%} bootstrap percentile intervals of % of R², "
                  f"{result['resamples']:,} resamples (--seed {result['seed']})", style="dim", highlight=False)


@app.command("metrics")
def metrics_command(
    file: Annotated[Path | None, typer.Argument(help="CSV, TSV, Parquet or XLSX export; omit with --survey.")] = None,
    metric: Annotated[str, typer.Option(help="nps, csat, ces or mean.")] = ...,  # type: ignore[assignment]
    score: Annotated[str | None, typer.Option(help="Column holding the scores (files).")] = None,
    survey: Annotated[str | None, typer.Option(help="A survey in the database instead of a file.")] = None,
    question: Annotated[str | None, typer.Option(help="With --survey: the question key, when several qualify.")] = None,
    scale: Annotated[str | None, typer.Option(help="LOW-HIGH, e.g. 1-10; default the metric's standard scale.")] = None,
    cuts: Annotated[str | None, typer.Option(help="NPS cut points DETRACTOR_MAX,PROMOTER_MIN, e.g. 6,9.")] = None,
    by: Annotated[list[str] | None, typer.Option(help="Group by this column or attribute; repeatable.")] = None,
    period: Annotated[str | None, typer.Option(help="day, week, month or quarter.")] = None,
    time: Annotated[str | None, typer.Option(help="Column holding the answer time (files).")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="COLUMN=VALUE; repeatable.")] = None,
    since: Annotated[str | None, typer.Option(help="With --survey: first day, YYYY-MM-DD, in the workspace's time "
                                                   "zone.")] = None,
    until: Annotated[str | None, typer.Option(help="With --survey: last day (included), YYYY-MM-DD.")] = None,
    during: Annotated[str | None, typer.Option(help="With --survey: a preset period instead of --since/--until, e.g. "
                                                    "last-quarter or this-month.")] = None,
    answer: Annotated[list[str] | None, typer.Option("--answer", help="With --survey: QUESTION:TEST, e.g. "
                                                                      "nps:detractors, nps:0-6 or bought:boots; "
                                                                      "repeatable.")] = None,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level of the intervals.")] = 0.95,
    method: Annotated[str, typer.Option(help="NPS interval: adjusted-wald (Rocks 2016) or wald.")] = "adjusted-wald",
    min_base: Annotated[int | None, typer.Option(help="Flag groups below this n (default: VOXPOP_MIN_BASE).")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Test each --by group against the rest (Holm-adjusted).")] = False,
    connect: ConnectOption = None,
    table: TableOption = None,
    no_cache: NoCacheOption = False,
    verbose: VerboseOption = False,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """NPS, CSAT, CES or a mean, with n and a confidence interval, per group and period."""
    from voxpop.analysis.engine import compute
    from voxpop.metrics import metrics

    settings = get_settings()
    cut_points, floor = _checked_request(settings, output=output, period=period, file=file, survey=survey,
                                         cuts=cuts, min_base=min_base, connect=connect, table=table)
    try:
        with _notes(), connected_errors(connect):
            if survey is None:
                if score is None:
                    fail("Name the score column with --score")
                if since or until or during or answer:
                    fail("--since, --until, --during and --answer filter a survey in the database; filter a file "
                         "with --filter COLUMN=VALUE")
                spec_scale = _scale(scale)
                _note_nps_scale(metric, spec_scale, cut_points)
                data = _data(file, connect=connect, table=table, no_cache=no_cache, verbose=verbose)
                rows = metrics(data, metric=metric, score=score, scale=spec_scale, cuts=cut_points, by=by,  # type: ignore[arg-type]
                               period=period, time=time, filters=_filters(filter_), confidence=confidence,  # type: ignore[arg-type]
                               min_base=floor, method=method)
            else:
                kept = _response_filter(settings, since=since, until=until, during=during, answers=answer)
                table, spec = _survey_answers(settings, survey=survey, question=question, metric=metric,
                                              cut_points=cut_points, by=by, filters=_filters(filter_),
                                              response_filter=kept)
                rows = [row.as_dict() for row in compute(
                    table, spec, score="score", by=by, period=period, time="submitted_at",  # type: ignore[arg-type]
                    zone=settings.timezone, min_base=floor, confidence=confidence, method=method)]
    except ValueError as exc:  # MetricError included: each says what to change
        fail(str(exc))
    if compare:
        from voxpop.analysis.compare import against_the_rest

        if not by:
            fail("--compare needs groups to compare: add --by COLUMN")
        rows = against_the_rest(rows, confidence=confidence)
    _print_rows(rows, [*(by or []), *(["period"] if period else [])], output, compared=compare)


@app.command("spc")
def spc_command(
    file: Annotated[Path | None, typer.Argument(help="CSV, TSV, Parquet or XLSX export; omit with --survey.")] = None,
    metric: Annotated[str, typer.Option(help="nps, csat, ces or mean.")] = ...,  # type: ignore[assignment]
    period: Annotated[str, typer.Option(help="day, week, month or quarter: one point per period.")] = ...,  # type: ignore[assignment]
    score: Annotated[str | None, typer.Option(help="Column holding the scores (files).")] = None,
    time: Annotated[str | None, typer.Option(help="Column holding the answer time (files).")] = None,
    survey: Annotated[str | None, typer.Option(help="A survey in the database instead of a file.")] = None,
    question: Annotated[str | None, typer.Option(help="With --survey: the question key, when several qualify.")] = None,
    scale: Annotated[str | None, typer.Option(help="LOW-HIGH, e.g. 1-10; default the metric's standard scale.")] = None,
    cuts: Annotated[str | None, typer.Option(help="NPS cut points DETRACTOR_MAX,PROMOTER_MIN, e.g. 6,9.")] = None,
    chart: Annotated[str, typer.Option(help="auto, nps, p, laney or xmr. auto: the NPS chart for NPS, p or Laney's "
                                            "p′ for CSAT and CES 2.0 % agree, XmR for means.")] = "auto",
    rules: Annotated[str, typer.Option(help="nelson (the 8 tests) or western-electric (the 4 zone rules).")] = "nelson",
    by: Annotated[list[str] | None, typer.Option(help="One chart per value of this column or attribute; "
                                                      "repeatable.")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="COLUMN=VALUE; repeatable.")] = None,
    min_base: Annotated[int | None, typer.Option(help="Flag periods below this n (default: VOXPOP_MIN_BASE).")] = None,
    connect: ConnectOption = None,
    table: TableOption = None,
    no_cache: NoCacheOption = False,
    verbose: VerboseOption = False,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """A control chart of NPS, CSAT, CES or a mean per period, with the signals of the run rules."""
    from voxpop.metrics import control_charts, spc

    settings = get_settings()
    cut_points, floor = _checked_request(settings, output=output, period=period, file=file, survey=survey,
                                         cuts=cuts, min_base=min_base, connect=connect, table=table)
    try:
        with _notes(), connected_errors(connect):
            if survey is None:
                if score is None or time is None:
                    fail("Name the score column with --score and the time column with --time")
                spec_scale = _scale(scale)
                _note_nps_scale(metric, spec_scale, cut_points)
                data = _data(file, connect=connect, table=table, no_cache=no_cache, verbose=verbose)
                result = spc(data, metric=metric, score=score, period=period, time=time,  # type: ignore[arg-type]
                             scale=spec_scale, cuts=cut_points, chart=chart, rules=rules, by=by,
                             filters=_filters(filter_), min_base=floor)
            else:
                table, spec = _survey_answers(settings, survey=survey, question=question, metric=metric,
                                              cut_points=cut_points, by=by, filters=_filters(filter_))
                result = control_charts(table, spec, score="score", period=period, time="submitted_at",  # type: ignore[arg-type]
                                        zone=settings.timezone, by=by, chart=chart, rules=rules, min_base=floor)
    except ValueError as exc:  # MetricError, and core's refusals of data it cannot chart
        fail(str(exc))
    _print_chart(result, list(by or []), output)


@app.command("drivers")
def drivers_command(
    file: Annotated[Path | None, typer.Argument(help="CSV, TSV, Parquet or XLSX export, one row per respondent.")] = None,
    outcome: Annotated[str, typer.Option(help="Column (or, with --survey, question key) of the outcome, e.g. the "
                                              "recommend score.")] = ...,  # type: ignore[assignment]
    driver: Annotated[list[str], typer.Option("--driver", help="Column (or question key) of a driver; repeat for "
                                                                "each.")] = ...,  # type: ignore[assignment]
    survey: Annotated[str | None, typer.Option(help="A survey in the database instead of a FILE; its questions' "
                                                    "scales are known.")] = None,
    scale: Annotated[str | None, typer.Option(help="LOW-HIGH of every driver, e.g. 1-5, checked; default "
                                                   "any number.")] = None,
    outcome_scale: Annotated[str | None, typer.Option(help="LOW-HIGH of the outcome, e.g. 0-10, checked; default "
                                                           "any number.")] = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Resamples for percentile intervals, e.g. 1000. This reads "
                                                       "the complete rows of these columns into memory; without it "
                                                       "the database only returns sums.")] = 0,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level of the intervals.")] = 0.95,
    seed: Annotated[int | None, typer.Option(help="Random seed of the resampling, for a repeatable run.")] = None,
    connect: ConnectOption = None,
    table: TableOption = None,
    no_cache: NoCacheOption = False,
    verbose: VerboseOption = False,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Key drivers of an outcome: Johnson's relative weights, and an importance × performance table."""
    from voxpop.metrics import drivers

    _check_format(output)
    _check_source(file=file, survey=survey, connect=connect, table=table)
    driver_scale, scale_of_outcome = _scale(scale), _scale(outcome_scale)
    connection = None
    try:
        if survey is None:
            data = _data(file, connect=connect, table=table, no_cache=no_cache, verbose=verbose)
        else:
            from voxpop.analysis import sources

            if scale or outcome_scale:
                fail("--scale and --outcome-scale apply to files; a survey's questions carry their own scales")
            connection = sources.store_connection(get_settings().sqlalchemy_url)
            data, found = sources.survey_scores_wide(connection, survey=survey, questions=[outcome, *driver])
            if len({found[name].scale for name in driver}) == 1:
                driver_scale = found[driver[0]].scale
        with connected_errors(connect):
            result = drivers(data, outcome=outcome, drivers=driver, scale=driver_scale,
                             outcome_scale=scale_of_outcome, bootstrap=bootstrap, confidence=confidence, seed=seed)
    except ValueError as exc:  # MetricError, and core's refusals (a constant column, collinear drivers)
        fail(str(exc))
    finally:
        if connection is not None:
            connection.disconnect()
    if driver_scale is None and len(driver) > 1 and output == "table":
        err.print("note: with no --scale, each driver's performance is its mean on its own scale; the quadrants "
                  "compare those means, so they only mean something when the drivers share one scale", highlight=False)
    _print_drivers(result, output)
