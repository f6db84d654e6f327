"""The scorecard as a PDF and as a CSV, for one period.

The PDF is rendered by WeasyPrint from the same templates as the pages (the scorecard tree and the strategy map
partials) with a print stylesheet: A4 landscape, the scorecard's name and period at the top of each page, page x
of y and the time it was generated at the foot. WeasyPrint fetches nothing from the network: its fetcher serves
voxpop's own static files and refuses anything else, so a report can neither leak a request nor wait on one.

The CSV is evaluation.score_table (the table `voxpop scorecard score --format csv` writes): one row per measure,
cascaded objectives' measures under their parent objective, written by voxpop.web.tables as every CSV download is.
"""

from __future__ import annotations

import mimetypes
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.analysis.periods import period_kind
from voxpop.scorecard import evaluation, map_views
from voxpop.scorecard.map_svg import strategy_map_svg
from voxpop.scorecard.measured import ScorecardResult
from voxpop.scorecard.models import Link, Scorecard
from voxpop.scorecard.strategy_map import test_links
from voxpop.scorecard.views import Period, tree_context
from voxpop.web.templating import PACKAGE, templates

STATIC = (PACKAGE / "web" / "static").resolve()
# The address the report's links resolve against: `.invalid` never resolves (RFC 2606), and the fetcher below
# answers only for its /static/ files, so `/static/voxpop.css` in a template means the file, as on the pages.
BASE_URL = "https://voxpop.invalid/"
STATIC_URL = BASE_URL + "static/"
TEMPLATE = "scorecard/report_pdf.html"
# WeasyPrint draws an inline SVG from the SVG's own <style> only: neither the page's stylesheets nor CSS custom
# properties reach it. So the rules that style the report's SVGs (the map, the trends) are copied into each, with
# voxpop's palette written out. Only WeasyPrint reads this HTML; no browser (and so no CSP) ever sees it.
SVG_STYLESHEETS = ("voxpop.css", "charts.css", "scorecard-map.css", "scorecard-print.css")
SVG_CLASSES = (".strategy-map", ".sparkline", ".chart ")
SVG_START = re.compile(r"<svg\b[^>]*>")
CUSTOM_PROPERTY = re.compile(r"var\((--[\w-]+)\)")


def static_fetcher():
    """WeasyPrint's fetcher for the report: voxpop's static files, nothing else (no network, no other file)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFilesOnly(URLFetcher):
        def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
            file = static_file(url)
            if file is None:
                raise ValueError(f"the scorecard PDF uses voxpop's static files only, not {url}")
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, file.read_bytes(), {"Content-Type": content_type})

    return StaticFilesOnly(allowed_protocols=("https",), allow_redirects=False)


def static_file(url: str) -> Path | None:
    """The file under voxpop's static folder that `url` names, or None for any other address."""
    if not url.startswith(STATIC_URL):
        return None
    file = (STATIC / url[len(STATIC_URL):].split("?")[0].split("#")[0]).resolve()
    return file if file.is_relative_to(STATIC) and file.is_file() else None


@cache
def svg_rules() -> str:
    """The static stylesheets' rules for the SVG classes, with each var(--colour) replaced by its value."""
    import tinycss2  # WeasyPrint's CSS parser

    palette: dict[str, str] = {}
    rules = []
    for name in SVG_STYLESHEETS:
        for rule in tinycss2.parse_stylesheet((STATIC / name).read_text(), skip_comments=True,
                                              skip_whitespace=True):
            if rule.type != "qualified-rule":
                continue
            selector, content = tinycss2.serialize(rule.prelude).strip(), tinycss2.serialize(rule.content)
            if selector == ":root":
                palette |= {key: value.strip() for key, value in re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", content)}
            elif any(part.strip().startswith(SVG_CLASSES) for part in selector.split(",")):
                rules.append(f"{selector} {{{content}}}")
    return CUSTOM_PROPERTY.sub(lambda found: palette.get(found.group(1), "currentColor"), "\n".join(rules))


def with_svg_styles(html: str) -> str:
    """`html` with the SVG rules inside each <svg>, where WeasyPrint reads them."""
    return SVG_START.sub(lambda found: f"{found.group(0)}<style>{svg_rules()}</style>", html)


def report_html(*, result: ScorecardResult, generated_at: datetime, zone: str, min_base: int,
                strategy_map: dict[str, Any] | None = None) -> str:
    """The report as HTML, from the partials the pages use; `strategy_map` is what scorecard/_map.html reads (none:
    the report has no map)."""
    generated = generated_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    context = tree_context(result, min_base=min_base) | (strategy_map or {"svg": ""}) | {"generated": generated}
    return with_svg_styles(templates.env.get_template(TEMPLATE).render(context))


def strategy_map(db_session: Session, *, scorecard: Scorecard, result: ScorecardResult, zone: str, min_base: int,
                 now: datetime) -> dict[str, Any] | None:
    """The map page's figure and links table for the report, each link tested; None without links."""
    links = list(db_session.scalars(select(Link).where(Link.scorecard_id == scorecard.id).order_by(Link.id)))
    if not links:
        return None
    tests = test_links(db_session, scorecard=scorecard, period=result.period, zone=zone, min_base=min_base, now=now,
                       periods=map_views.HISTORY)
    period = Period(result.period, period_kind(result.period), result.period, None, None, (result.period,))
    return {  # strategy_map_svg escapes every name and word it writes, so its markup is placed as it is
        "svg": Markup(strategy_map_svg(result, links, tests)),  # noqa: S704
        "public": map_views.strategy_map_public(map_views.MapPage(scorecard.key, period, result, links, tests)),
        "badges": map_views.VERDICT_BADGES}


def pdf_from_html(html: str) -> bytes:
    """The HTML laid out as a PDF, with voxpop's static files as its only resources."""
    from weasyprint import HTML  # seconds to import: only when a PDF is made, not with every page and command

    return HTML(string=html, base_url=BASE_URL, url_fetcher=static_fetcher()).write_pdf()


def scorecard_pdf(db_session: Session, *, scorecard: Scorecard, period: str, zone: str, min_base: int,
                  now: datetime) -> bytes:
    """The scorecard of `period` (a locked review's snapshot once locked) and its strategy map as a PDF; DaysError
    for a period that is not one."""
    result = evaluation.evaluate(db_session, scorecard=scorecard, period=period, zone=zone, min_base=min_base,
                                 now=now)
    tested = strategy_map(db_session, scorecard=scorecard, result=result, zone=zone, min_base=min_base, now=now)
    return pdf_from_html(report_html(result=result, generated_at=now, zone=zone, min_base=min_base,
                                     strategy_map=tested))


def report_name(key: str, period: str) -> str:
    """The report's file name without its extension: the scorecard's key and the period, "northwind-2026-11"."""
    return f"{key}-{period}"


def scorecard_csv(db_session: Session, *, scorecard: Scorecard, period: str, zone: str, min_base: int,
                  now: datetime) -> tuple[str, tuple[str, ...], list[list[object]]]:
    """The scorecard of `period` as a CSV's file name (without .csv), header and rows: the table `voxpop scorecard
    score --format csv` writes, one row per measure."""
    result = evaluation.evaluate(db_session, scorecard=scorecard, period=period, zone=zone, min_base=min_base,
                                 now=now)
    return (report_name(result.key, result.period), *evaluation.score_table(result))
