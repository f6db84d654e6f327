"""The themes overview's one data function: the themes page, GET /api/v1/themes and `voxpop text themes` all show
what it returns, with each theme's label beside its key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from voxpop.collection.filters import ResponseFilter, response_conditions
from voxpop.surveys.models import Survey
from voxpop.text.codebooks import current_codebook
from voxpop.text.labels import theme_label, theme_labels
from voxpop.text.metrics import theme_metrics
from voxpop.text.schemas import ThemeMetricsPublic


class UnknownSurvey(LookupError):
    """A survey key that names no survey."""


def theme_overview(connection: Connection, *, survey: str | None, min_base: int, now: datetime | None = None,
                   responses: ResponseFilter = ResponseFilter(), zone: str = "UTC") -> ThemeMetricsPublic:
    """The theme metrics of one survey's comments, or of all, of the responses the filter keeps (its days in
    `zone`); an unknown survey raises UnknownSurvey. The month `now` (default: the present) falls in has not ended
    (text.metrics.theme_metrics)."""
    if survey is not None and connection.execute(select(Survey.id).where(Survey.key == survey)).first() is None:
        raise UnknownSurvey(f"there is no survey {survey!r}; leave survey out for all of them")
    metrics = theme_metrics(connection, survey=survey, min_base=min_base, now=now,
                            responses=tuple(response_conditions(responses, zone=zone)))
    labels = theme_labels(current_codebook(connection).codebook)
    for row in (*metrics["themes"], *metrics["pareto"], *metrics["emerging"]):
        row["label"] = theme_label(labels, row["theme"])
    return ThemeMetricsPublic.model_validate(metrics)
