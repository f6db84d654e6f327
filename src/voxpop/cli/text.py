"""What customers write: `voxpop text eval`, the accuracy of sentiment and themes against human labels."""

from __future__ import annotations

import csv
import difflib
import json
from pathlib import Path
from typing import Annotated

import typer

from voxpop.cli import app, err, fail, out

text_app = typer.Typer(help="Comments: sentiment, themes and their measured accuracy.", no_args_is_help=True)
app.add_typer(text_app, name="text")
KINDS = ("sentiment", "theme")
THEME_SEPARATOR = ";"
# Lines read to check that a delimiter splits every row alike (a headerless file is sniffed from its first line).
SNIFF_LINES = 50
SENTIMENT_FIGURES = ("pearson", "spearman", "accuracy", "macro_f1")


@text_app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="Labelled comments: CSV, TSV, XLSX, Parquet or tab-separated .txt.")],
    text: Annotated[str, typer.Option(help="Column holding the comments (a number, 1 = first, with --no-header).")],
    label: Annotated[str, typer.Option(help="Column holding the human label: a rating, 0/1, negative/neutral/positive, "
                                            "or for --kind theme the coder's themes separated by ';'.")],
    kind: Annotated[str, typer.Option(help="sentiment or theme.")] = "sentiment",
    no_header: Annotated[bool, typer.Option("--no-header", help="The file has no header row, as the research sets "
                                                                "(VADER's ground truth: --text 3 --label 2).")] = False,
    codebook_file: Annotated[Path | None, typer.Option("--codebook", help="A codebook YAML to evaluate "
                                                                          "(default: the built-in codebook; "
                                                                          "`voxpop text codebook show > FILE` "
                                                                          "gives the workspace's).")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Measure sentiment or theme tagging against human labels.

    Numeric ratings give Pearson and Spearman correlations; 0/1 or negative/neutral/positive labels give accuracy
    and macro-F1; themes give per-theme precision, recall, F1 and Cohen's kappa, naming each theme by codebook key
    or label. Sentiment is shown next to plain VADER, scored in the same run, leaving out rows without a comment
    or a label; for themes an empty label means the coder found none."""
    if kind not in KINDS:
        fail(f"--kind must be sentiment or theme, not {kind!r}")
    if output not in ("table", "json"):
        fail(f"--format must be table or json, not {output!r}")
    rows = _labelled_rows(file, text_column=text, label_column=label, numbered=no_header)
    if kind == "sentiment":
        _sentiment(file, rows, output)
    else:
        _themes(file, rows, _codebook(codebook_file), output)


def _labelled_rows(file: Path, *, text_column: str, label_column: str, numbered: bool) -> list[tuple[str, str]]:
    """(comment, label) of every data row, labels as written ("" when blank)."""
    from voxpop.imports.reading import ImportFileError

    if not file.is_file():
        fail(f"{file} is not a file; check the path")
    if not file.read_bytes()[: 1 << 16].strip(b" \t\r\n\xef\xbb\xbf\x00\xff\xfe"):
        fail(f"{file} is empty; give a file with a comment and a label on each row")
    try:
        records = [record for record in _source(file).records() if any(cell and cell.strip() for cell in record)]
    except ImportFileError as exc:
        fail(str(exc))
    header, data = ([], records) if numbered else (records[0], records[1:])
    if not data:
        fail(f"{file} has a header but no rows to evaluate")
    width = max(map(len, records))
    positions = [_position(name, header, width, file, option) for name, option in
                 ((text_column, "--text"), (label_column, "--label"))]
    return [tuple(_cell(record, position) for position in positions) for record in data]  # type: ignore[misc]


def _source(file: Path):
    """How to read the file; a tab-separated file whose first line has more commas than tabs is still read by tabs."""
    from voxpop.imports.reading import inspect

    source = inspect(file)
    if source.kind == "text" and source.delimiter != "\t":
        with file.open(encoding=source.encoding, newline="") as handle:
            lines = [line for _, line in zip(range(SNIFF_LINES), handle) if line.strip()]
        if _same_width(lines, "\t") and not _same_width(lines, source.delimiter):
            # Research sets such as UCI's write quotes as text, so a tab-separated line is read without quoting.
            source.delimiter, source.quoting = "\t", csv.QUOTE_NONE
    return source


def _same_width(lines: list[str], delimiter: str) -> bool:
    """Whether the delimiter splits every line into the same number (at least two) of cells."""
    widths = {line.count(delimiter) for line in lines}
    return len(widths) == 1 and widths != {0}


def _position(name: str, header: list[str | None], width: int, file: Path, option: str) -> int:
    """The 0-based column of a header name, or of a 1-based number when the file has no header."""
    if not header:
        if not name.isdigit() or not 1 <= int(name) <= width:
            fail(f"{option} {name!r}: {file.name} has no header, so give a column number from 1 to {width}")
        return int(name) - 1
    names = [(cell or "").strip() for cell in header]
    if name in names:
        return names.index(name)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}?" if close else f"the columns are: {', '.join(map(repr, names[:30]))}"
    fail(f"{file.name} has no column {name!r} ({option}); {hint} A file without a header row needs --no-header "
         "and column numbers.")


def _cell(record: list[str | None], position: int) -> str:
    """A cell as text, "" when blank or beyond a short row."""
    return (record[position] or "").strip() if position < len(record) else ""


def _sentiment(file: Path, rows: list[tuple[str, str]], output: str) -> None:
    from voxpop.text.evaluation import EvaluationError, evaluate_sentiment
    from voxpop.text.sentiment import vader_score

    # An empty comment has no sentiment to compare with its rating.
    texts, labels = [comment for comment, _ in rows if comment], [label for comment, label in rows if comment]
    try:
        improved = evaluate_sentiment(texts, labels)
        plain = evaluate_sentiment(texts, labels, scorer=vader_score)
    except EvaluationError as exc:
        fail(f"{file.name}: {exc}")
    left_out = len(rows) - improved.n
    figures = [name for name in SENTIMENT_FIGURES if getattr(improved, name) is not None]
    if output == "json":
        print(json.dumps({"kind": "sentiment", "n": improved.n,
                          **{name: getattr(improved, name) for name in SENTIMENT_FIGURES},
                          "left_out": left_out, "scorer": "voxpop",
                          "baseline": {"scorer": "plain VADER", "n": plain.n,
                                       **{name: getattr(plain, name) for name in SENTIMENT_FIGURES}}}))
        return
    from rich.table import Table

    labels_are = "ratings" if "pearson" in figures else "labels"
    out.print(f"{file.name}: {improved.n:,} comments with human {labels_are}"
              + (f" ({left_out:,} without a comment or a label left out)" if left_out else ""), highlight=False)
    table = Table("figure", "voxpop", "plain VADER", show_edge=False, header_style="bold")
    for name in figures:
        table.add_row(name.replace("_", "-"), f"{getattr(improved, name):.3f}", f"{getattr(plain, name):.3f}")
    out.print(table)
    out.print("voxpop: VADER with a customer-feedback lexicon, scored per clause; plain VADER: as published "
              "(Hutto & Gilbert 2014)", style="dim")


def _codebook(path: Path | None):
    from voxpop.text.codebook import DEFAULT_CODEBOOK, CodebookError, codebook_from_yaml

    if path is None:
        return DEFAULT_CODEBOOK
    try:
        return codebook_from_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the codebook {path}: {exc}; give a UTF-8 YAML file")
    except CodebookError as exc:
        fail(f"{path.name}: {exc}")


def _themes(file: Path, rows: list[tuple[str, str]], codebook, output: str) -> None:
    from voxpop.text.codebook import tag_comment, walk
    from voxpop.text.evaluation import evaluate_themes
    from voxpop.text.redaction import redact

    # The coder may name a theme by its key or its label, in any case.
    keys = {theme.label.lower(): theme.key for theme in walk(codebook.themes)}
    keys |= {theme.key: theme.key for theme in walk(codebook.themes)}
    human = [{keys.get(name.strip().lower(), name.strip()) for name in label.split(THEME_SEPARATOR) if name.strip()}
             for _, label in rows]
    if not any(human):
        fail(f"{file.name}: no row of the label column names a theme; it should hold the coder's themes, "
             f"separated by '{THEME_SEPARATOR}'")
    # Tagged as the pipeline tags: on the redacted text.
    machine = [{tag.theme for tag in tag_comment(codebook, redact(comment).text)} for comment, _ in rows]
    results = evaluate_themes(machine, human)
    unknown = sorted(result.theme for result in results if result.theme not in keys.values())
    coded = {result.theme: sum(result.theme in codes for codes in human) for result in results}
    tagged = {result.theme: sum(result.theme in codes for codes in machine) for result in results}
    if output == "json":
        print(json.dumps({"kind": "theme", "n": len(rows), "themes": [
            {"theme": result.theme, "n": result.n, "coded": coded[result.theme], "tagged": tagged[result.theme],
             "precision": result.precision, "recall": result.recall, "f1": result.f1, "kappa": result.kappa}
            for result in results], "not_in_codebook": unknown}))
        return
    from rich.table import Table

    out.print(f"{file.name}: {len(rows):,} comments, themes of the human coder against the codebook's tags",
              highlight=False)
    table = Table("theme", "coded", "tagged", "precision", "recall", "F1", "kappa", show_edge=False,
                  header_style="bold")
    for result in results:
        table.add_row(result.theme, f"{coded[result.theme]:,}", f"{tagged[result.theme]:,}",
                      *("–" if value is None else f"{value:.3f}"
                        for value in (result.precision, result.recall, result.f1, result.kappa)))
    out.print(table)
    if unknown:
        err.print(f"note: the codebook has no theme {', '.join(map(repr, unknown))}; name the coder's themes by "
                  "codebook key or label, or pass the codebook that has them with --codebook", highlight=False)


@text_app.command("themes")
def themes_command(
    survey: Annotated[str | None, typer.Option(help="One survey's comments (default: all).")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json (as GET /api/v1/themes).")] = "table",
) -> None:
    """Each theme of the analysed comments: share, sentiment, and NPS of those who raise it against the rest."""
    from voxpop.cli import _database, get_settings
    from voxpop.text.overview import UnknownSurvey, theme_overview

    if output not in ("table", "json"):
        fail(f"--format must be table or json, not {output!r}")
    settings = get_settings()
    db = _database(settings)
    try:
        with db.read_connection() as connection:
            overview = theme_overview(connection, survey=survey, min_base=settings.min_base)
    except UnknownSurvey:
        fail(f"there is no survey {survey!r}; leave out --survey for all of them")
    finally:
        db.dispose()
    if output == "json":
        # As the API serialises it: JSON has no infinity, so a z with no variance on either side is null.
        print(overview.model_dump_json())
        return
    from rich.table import Column, Table
    from rich.text import Text

    from voxpop.core.estimates import Estimate

    def shown(estimate: Estimate, digits: int, unit: str = "") -> str:
        if estimate.value is None:
            return "–"
        if estimate.low_base:
            return f"n = {estimate.n} (low base)"
        return f"{estimate.value:.{digits}f}{unit} ({estimate.ci_low:.{digits}f} to {estimate.ci_high:.{digits}f})"

    table = Table(Column("theme", overflow="fold"), "comments", "share", "sentiment", "NPS mentioning", "NPS rest", "difference",
                  show_edge=False, header_style="bold")
    for row in overview.themes:
        difference = row.nps_difference
        # The label to read, and below it, dimmed, the key that the codebook YAML and the API use.
        table.add_row(Text.assemble(row.label, "\n", (row.theme, "dim")), f"{row.comments:,}",
                      shown(row.share, 1, "%"), shown(row.sentiment, 2), shown(row.nps_mentioning, 0),
                      shown(row.nps_not_mentioning, 0),
                      "not tested" if difference is None else
                      f"{difference.difference:+.0f} ({difference.ci_low:.0f} to {difference.ci_high:.0f})"
                      + (" *" if difference.significant else ""))
    out.print(table)
    out.print(f"{overview.analysed_comments:,} analysed comments; {overview.note}; * significant at 95%",
              style="dim", highlight=False)
