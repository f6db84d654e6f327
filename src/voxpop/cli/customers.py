"""Customer outcomes on transaction files: `voxpop clv fit` and `voxpop clv predict`."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from voxpop.cli import app, err, fail, out

clv_app = typer.Typer(help="Customer lifetime value: BG/NBD purchases and Gamma-Gamma spend.", no_args_is_help=True)
app.add_typer(clv_app, name="clv")
TIME_UNITS = ("day", "week", "month")

FileArgument = Annotated[Path | None, typer.Argument(help="Transactions: CDNOW text, or CSV, TSV, XLSX or Parquet; "
                                                            "omit with --store.")]
StoreOption = Annotated[bool, typer.Option("--store", help="Use the transactions imported into the database.")]
SourceOption = Annotated[str, typer.Option("--from", help="auto, cdnow or csv.")]
MappingOption = Annotated[Path | None, typer.Option("--mapping", help="YAML naming the customer, date and amount "
                                                                       "columns of a CSV, e.g. {customer: CustomerID}.")]
CalibrationOption = Annotated[str | None, typer.Option("--calibration-end", help="Fit on purchases up to this date "
                                                                                 "(YYYY-MM-DD); default the last one.")]
UnitOption = Annotated[str, typer.Option("--time-unit", help="day, week or month: the unit of recency and T.")]
ConnectOption = Annotated[str | None, typer.Option("--connect", help="Read --table where the data live, by an Ibis URL "
                                                                     "(e.g. duckdb:///sales.duckdb, postgresql://host/db "
                                                                     "or pyspark://); the per-customer summary runs there.")]
TableOption = Annotated[str | None, typer.Option("--table", help="With --connect: the table of transactions (columns "
                                                                 "named as for files, or by --mapping).")]


def _columns(mapping: Path | None) -> dict[str, str]:
    """The CSV's column names for customer, date and amount, from a mapping file (defaults otherwise)."""
    columns = {"customer": "customer", "date_column": "date", "amount": "amount"}
    if mapping is None:
        return columns
    import yaml

    try:
        given = yaml.safe_load(mapping.read_text(encoding="utf-8-sig")) or {}
    except (OSError, yaml.YAMLError) as exc:
        fail(f"The mapping file {mapping} cannot be read: {exc}")
    if not isinstance(given, dict) or set(given) - {"customer", "date", "amount", "cost"}:
        fail(f"The mapping file {mapping} names the columns as customer:, date:, amount: and (optional) cost:, e.g. "
             "{customer: CustomerID, date: InvoiceDate, amount: Amount, cost: CostToServe}")
    return columns | {("date_column" if key == "date" else key): str(value) for key, value in given.items()}


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be a date like 1997-09-30, not {text!r}")


@contextmanager
def _transactions(file: Path | None, *, store: bool, source: str, mapping: Path | None, keep: tuple[str, ...] = (),
                  connect: str | None = None, table: str | None = None):
    """The transactions of a file, with `store` those imported into the database, or with `connect` a table where
    the data live, as an engine table (the database connection stays open while the caller uses it)."""
    from voxpop.analysis import sources
    from voxpop.cli import get_settings
    from voxpop.cli.analysis import check_connect_and_table, connected_errors
    from voxpop.customers.transaction_files import Transactions, read_transactions

    if (file is not None) + store + (connect is not None) != 1:
        fail("Give either a transactions FILE, --store or --connect URL with --table NAME")
    check_connect_and_table(connect, table)
    if source not in ("auto", "cdnow", "csv"):
        fail(f"--from must be auto, cdnow or csv, not {source!r}")
    if connect is not None:
        from voxpop.analysis import warehouse

        columns = _columns(mapping)
        data = warehouse.open_table(connect, table)
        with connected_errors(connect):  # the caller's queries too: an error of the backend while they run
            shaped, without_customer = warehouse.transactions(
                data, customer=columns["customer"], date_column=columns["date_column"], amount=columns["amount"],
                source=f"the table {table!r}")
            yield Transactions(table=shaped, source_format=warehouse.backend_of(data),
                               without_customer=without_customer)
        return
    if not store:
        if not file.exists():
            fail(f"{file} does not exist")
        yield read_transactions(file, source_format=source, keep=keep, **_columns(mapping))  # type: ignore[arg-type]
        return
    if keep:
        fail("--by works on files: the stored transactions carry no segments or other attributes yet")
    connection = sources.store_connection(get_settings().sqlalchemy_url)
    try:
        yield Transactions(table=sources.store_transactions(connection), source_format="store", without_customer=0)
    finally:
        connection.disconnect()


def _sales(table):
    """Purchases only: cancellations and postage lines (where a layout marks them) are not purchases."""
    return table.filter(table.kind == "sale") if "kind" in table.columns else table


def _summary(file: Path | None, source: str, mapping: Path | None, calibration_end: str | None, time_unit: str,
             observation_end: str | None = None, store: bool = False, connect: str | None = None,
             table: str | None = None):
    """The per-customer summary of the sales in a transaction file, in the store or in a table where the data
    live, computed by the engine (DuckDB for files, the database itself for the store and --connect)."""
    from voxpop.analysis.customer_summary import customer_summary

    if time_unit not in TIME_UNITS:
        fail(f"--time-unit must be day, week or month, not {time_unit!r}")
    with _transactions(file, store=store, source=source, mapping=mapping, connect=connect, table=table) as read:
        summary = customer_summary(_sales(read.table), calibration_end=_date(calibration_end, "--calibration-end"),
                                   observation_end=_date(observation_end, "--holdout-end"),
                                   time_unit=time_unit).execute()  # type: ignore[arg-type]
    # Engines return groups in no set order, and the fit's sums (so its last digits) follow the order: by customer,
    # a file, the store and a warehouse give the same parameters to the last digit.
    summary = summary.sort_values("customer", kind="stable", ignore_index=True)
    if summary.empty:
        fail(f"{file or table or 'the store'} has no customer who bought by the calibration end; import transactions, or "
             "choose a later --calibration-end")
    return read, summary


@clv_app.command("fit")
def clv_fit(
    file: FileArgument = None,
    store: StoreOption = False,
    source: SourceOption = "auto",
    mapping: MappingOption = None,
    calibration_end: CalibrationOption = None,
    holdout_end: Annotated[str | None, typer.Option("--holdout-end", help="Also compare predicted and actual "
                                                                          "purchases from the calibration end to this "
                                                                          "date, by frequency bucket.")] = None,
    time_unit: UnitOption = "week",
    connect: ConnectOption = None,
    table: TableOption = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Fit BG/NBD (how often customers buy, and whether they are still customers) and Gamma-Gamma (how much)."""
    from voxpop.analysis.engine import MetricError
    from voxpop.core.clv import holdout
    from voxpop.customers.service import fit_lifetime_value

    if output not in ("table", "json"):
        fail(f"--format must be table or json, not {output!r}")
    if holdout_end and not calibration_end:
        fail("--holdout-end needs --calibration-end: the holdout starts where the calibration ends")
    try:
        read, summary = _summary(file, source, mapping, calibration_end, time_unit, holdout_end, store=store,
                                 connect=connect, table=table)
        models = fit_lifetime_value(summary)
        purchases, spend, independence = models.purchases, models.spend, models.independence
        checked = (holdout.compare(purchases, summary.frequency, summary.recency, summary["T"],
                                   summary.holdout_purchases, summary.holdout_duration.iloc[0])
                   if holdout_end else None)
    except (MetricError, ValueError) as exc:
        fail(str(exc))
    result: dict[str, Any] = {
        "file": str(file or table or "store"), "format": read.source_format, "time_unit": time_unit,
        "calibration_end": calibration_end, "n_customers": purchases.n_customers,
        "rows_without_customer": read.without_customer, "repeat_buyers": int((summary.frequency > 0).sum()),
        "r": purchases.r, "alpha": purchases.alpha, "a": purchases.a, "b": purchases.b,
        "log_likelihood": purchases.log_likelihood,
    }
    if spend is None:
        result["spend_unavailable"] = models.spend_unavailable
    else:
        result |= {"p": spend.p, "q": spend.q, "gamma": spend.gamma, "gamma_gamma_log_likelihood": spend.log_likelihood}
    if independence is not None:
        result["independence"] = {"correlation": independence.correlation, "p_value": independence.p_value,
                                  "n_customers": independence.n_customers, "verdict": independence.verdict}
    if checked is not None:
        result["holdout"] = {"end": holdout_end, "customers": checked.customers, "actual": checked.actual_total,
                             "predicted": checked.predicted_total, "total_error": checked.total_error,
                             "buckets": [asdict(bucket) for bucket in checked.buckets]}
    if output == "json":
        print(json.dumps(result, default=str))
        return
    _print_fit(result)


def _print_fit(result: dict[str, Any]) -> None:
    from rich.table import Table

    out.print(f"{result['file']}: {result['n_customers']:,} customers ({result['format']}), "
              f"{result['repeat_buyers']:,} of them bought again; time in {result['time_unit']}s", highlight=False)
    table = Table("model", "parameters", "log-likelihood", show_edge=False, header_style="bold")
    table.add_row("BG/NBD", f"r {result['r']:.4g}  α {result['alpha']:.4g}  a {result['a']:.4g}  b {result['b']:.4g}",
                  f"{result['log_likelihood']:,.1f}")
    if "p" in result:
        table.add_row("Gamma-Gamma", f"p {result['p']:.4g}  q {result['q']:.4g}  γ {result['gamma']:.4g}",
                      f"{result['gamma_gamma_log_likelihood']:,.1f}")
    out.print(table)
    if "independence" in result:
        out.print(f"frequency and spend: {result['independence']['verdict']}", highlight=False)
    if "spend_unavailable" in result:
        err.print(f"note: {result['spend_unavailable']}", highlight=False)
    if "holdout" in result:
        checked = result["holdout"]
        out.print(f"holdout to {checked['end']}: {checked['predicted']:,.0f} purchases predicted, "
                  f"{checked['actual']:,.0f} made ({checked['total_error']:+.1%})", highlight=False)
        buckets = Table("bought again in calibration", "customers", "actual per customer", "predicted",
                        show_edge=False, header_style="bold")
        for bucket in checked["buckets"]:
            buckets.add_row(bucket["frequency"], f"{bucket['customers']:,}", f"{bucket['actual']:.2f}",
                            f"{bucket['predicted']:.2f}")
        out.print(buckets)


@clv_app.command("predict")
def clv_predict(
    file: FileArgument = None,
    store: StoreOption = False,
    source: SourceOption = "auto",
    mapping: MappingOption = None,
    calibration_end: CalibrationOption = None,
    time_unit: UnitOption = "week",
    months: Annotated[int, typer.Option(min=0, help="The CLV horizon, in months.")] = 12,
    discount_rate: Annotated[float, typer.Option(min=0.0, max=0.99, help="Monthly discount rate, e.g. 0.01.")] = 0.01,
    top: Annotated[int, typer.Option(min=0, help="Show this many customers with the highest CLV (0: all).")] = 20,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Per customer: the probability of still being a customer, expected purchases and CLV over --months."""
    from voxpop.analysis.engine import MetricError
    from voxpop.core.clv import bgnbd
    from voxpop.core.clv.value import customer_lifetime_value
    from voxpop.customers.service import fit_lifetime_value

    if output not in ("table", "json", "csv"):
        fail(f"--format must be table, json or csv, not {output!r}")
    try:
        _, summary = _summary(file, source, mapping, calibration_end, time_unit, store=store)
        models = fit_lifetime_value(summary)
        purchases, spend = models.purchases, models.spend
        if spend is None:
            fail(models.spend_unavailable)
        x, t_x, T, spent = summary.frequency, summary.recency, summary["T"], summary.monetary_value
        periods = months * (365.25 / 12) / {"day": 1.0, "week": 7.0, "month": 365.25 / 12}[time_unit]
        summary = summary.assign(
            p_alive=bgnbd.probability_alive(purchases, x, t_x, T),
            expected_purchases=bgnbd.expected_purchases(purchases, periods, x, t_x, T),
            clv=customer_lifetime_value(purchases, spend, x, t_x, T, spent, months=months,
                                        monthly_discount_rate=discount_rate, time_unit=time_unit),  # type: ignore[arg-type]
        ).sort_values("clv", ascending=False)
    except (MetricError, ValueError) as exc:
        fail(str(exc))
    shown = summary if top == 0 else summary.head(top)
    columns = ["customer", "frequency", "recency", "T", "monetary_value", "p_alive", "expected_purchases", "clv"]
    if output == "json":
        print(json.dumps({"months": months, "monthly_discount_rate": discount_rate, "n_customers": len(summary),
                          "total_clv": float(summary.clv.sum()),
                          "rows": shown[columns].to_dict("records")}, default=str))
    elif output == "csv":
        shown[columns].to_csv(sys.stdout, index=False)
    else:
        from rich.table import Table

        table = Table("customer", "x", "t_x", "T", "mean spend", "P(alive)", "E[purchases]", "CLV", show_edge=False,
                      header_style="bold")
        for row in shown[columns].itertuples(index=False):
            table.add_row(str(row.customer), str(row.frequency), f"{row.recency:.1f}", f"{row.T:.1f}",
                          f"{row.monetary_value:,.2f}", f"{row.p_alive:.2f}", f"{row.expected_purchases:.2f}",
                          f"{row.clv:,.2f}")
        out.print(table)
        out.print(f"{len(summary):,} customers; total CLV over {months} months at {discount_rate:.1%} a month: "
                  f"{summary.clv.sum():,.2f}", highlight=False)


@app.command("retention")
def retention_command(
    file: Annotated[Path | None, typer.Argument(help="Transactions (CDNOW, CSV/XLSX/Parquet, or a folder of "
                                                     "daily CSV files); omit with --store.")] = None,
    store: Annotated[bool, typer.Option("--store", help="Read the transactions imported into the database.")] = False,
    source: SourceOption = "auto",
    mapping: MappingOption = None,
    period: Annotated[str, typer.Option(help="week, month, quarter or year.")] = "month",
    window: Annotated[int | None, typer.Option(help="Days without a purchase after which a customer counts as "
                                                    "lost (default: no purchase in the previous period).")] = None,
    by: Annotated[list[str] | None, typer.Option("--by", help="A column of the file to group by, e.g. a segment "
                                                              "or country; repeat for more.")] = None,
    min_base: Annotated[int, typer.Option(help="Below this many customers a share is flagged low_base.")] = 30,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level of the intervals.")] = 0.95,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Retention (E − N)/S, churn, acquisition and repeat purchase per period, with Wilson intervals."""
    from voxpop.analysis.customer_outcomes import customer_outcomes
    from voxpop.analysis.engine import MetricError

    if output not in ("table", "json", "csv"):
        fail(f"--format must be table, json or csv, not {output!r}")
    try:
        with _transactions(file, store=store, source=source, mapping=mapping, keep=tuple(by or ())) as read:
            rows = [row.as_dict() for row in customer_outcomes(_sales(read.table), period=period, window=window,  # type: ignore[arg-type]
                                                               by=by or [], min_base=min_base, confidence=confidence)]
    except (MetricError, ValueError) as exc:
        fail(str(exc))
    if output == "json":
        print(json.dumps({"rows": rows}, default=str))
    elif output == "csv":
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["period"], extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        _print_outcomes(rows, by or [])


def _print_outcomes(rows: list[dict[str, Any]], keys: list[str]) -> None:
    """The rows as a table, one column per group key (the --by columns) before the measure."""
    from rich.table import Table

    table = Table(*keys, "period", "measure", "value", "interval", "counts", show_edge=False, header_style="bold")
    for row in rows:
        counts = ", ".join(f"{name} {row[name]:,}" for name in ("start", "end", "new", "buyers", "repeat_buyers")
                           if row.get(name) is not None)
        value = "–" if row["value"] is None else f"{row['value']:.1f}%" + (" (low base)" if row["low_base"] else "")
        interval = "–" if row["ci_low"] is None else f"{row['ci_low']:.1f} to {row['ci_high']:.1f}"
        table.add_row(*("(blank)" if row[name] is None else str(row[name]) for name in keys), row["period"],
                      row["metric"], value, interval, counts)
    out.print(table)
    if rows:
        out.print(f"churn: {rows[0].get('definition', '')}; intervals at {rows[0]['confidence']:.0%}", style="dim",
                  highlight=False)


@app.command("market-share")
def market_share_command(
    file: Annotated[Path | None, typer.Argument(help="Transactions; omit with --store.")] = None,
    sizes: Annotated[Path, typer.Option("--sizes", help="CSV of market sizes: period (a date in the period, e.g. "
                                                        "2024-01-01) and size, in money (revenue) or customers.")] = ...,  # type: ignore[assignment]
    basis: Annotated[str, typer.Option(help="revenue or customers: what the market sizes count.")] = "revenue",
    store: StoreOption = False,
    source: SourceOption = "auto",
    mapping: MappingOption = None,
    period: Annotated[str, typer.Option(help="week, month, quarter or year.")] = "month",
    by: Annotated[str | None, typer.Option("--by", help="The file's segment column, when the sizes CSV has a "
                                                         "segment column.")] = None,
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Our share of the market sizes you enter per period (and segment): of revenue, or of customers (with a
    Wilson interval)."""
    import csv

    from voxpop.analysis.customer_outcomes import MarketSize, market_shares
    from voxpop.analysis.engine import MetricError

    if basis not in ("revenue", "customers"):
        fail(f"--basis must be revenue or customers, not {basis!r}")
    if output not in ("table", "json", "csv"):
        fail(f"--format must be table, json or csv, not {output!r}")
    try:
        with sizes.open(encoding="utf-8-sig", newline="") as handle:
            given = list(csv.DictReader(handle))
    except OSError as exc:
        fail(f"The market sizes file {sizes} cannot be read ({exc.strerror})")
    entered = []
    for number, record in enumerate(given, start=2):
        try:
            entered.append(MarketSize(period=date.fromisoformat((record.get("period") or "").strip()),
                                      segment=(record.get("segment") or "").strip() or None,
                                      size=float(record.get("size") or "")))
        except ValueError:
            fail(f"{sizes}, line {number}: give a period as a date (2024-01-01) and a size as a number, not "
                 f"{record.get('period')!r} and {record.get('size')!r}")
    if not entered:
        fail(f"{sizes} holds no market sizes; write a header line `period,size` and one line per period")
    try:
        with _transactions(file, store=store, source=source, mapping=mapping, keep=(by,) if by else ()) as read:
            table = read.table
            if "kind" in table.columns:
                table = table.filter(table.kind != "non_product")  # postage and fees are not what the market sells
            rows = [row.as_dict() for row in market_shares(table, entered, basis=basis, period=period,  # type: ignore[arg-type]
                                                           by=by)]
    except (MetricError, ValueError) as exc:
        fail(str(exc))
    if output == "json":
        print(json.dumps({"rows": rows}, default=str))
    elif output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        from rich.table import Table

        table_out = Table(*([by] if by else []), "period", "ours", "market", "share", "interval", show_edge=False,
                          header_style="bold")
        for row in rows:
            interval = "–" if row["ci_low"] is None else f"{row['ci_low']:.2f} to {row['ci_high']:.2f}"
            table_out.add_row(*([str(row[by])] if by else []), row["period"], f"{row['ours']:,.2f}", f"{row['market']:,.2f}",
                              "–" if row["value"] is None else f"{row['value']:.2f}%", interval)
        out.print(table_out)
