"""Which control chart follows which metric: one choice for `voxpop spc`, the Python API and the dashboard.

The rule (`chart` auto): NPS on the NPS chart; a share (CSAT's top two boxes, CES 2.0's % agreeing) on a
p-chart, or Laney's p′ chart when the periods vary more than binomially; a mean (CES 1.0, a rating) on an
XmR chart of the period means.
"""

from __future__ import annotations

from collections.abc import Sequence

from voxpop.analysis.engine import MetricError, MetricSpec, Row
from voxpop.core import spc
from voxpop.core.spc import ControlChart

CHARTS = ("auto", "nps", "p", "laney", "xmr")
SHARES = ("csat", "ces2.0_agree")  # the estimates that are 100·count/n
ALLOWED = {"nps": ("nps", "xmr"), "share": ("p", "laney", "xmr"), "mean": ("xmr",)}


def charted_metric(spec: MetricSpec) -> str:
    """The estimate a chart follows: CES 2.0 as its % agree (a share), CES 1.0 as its mean."""
    if spec.metric != "ces":
        return spec.metric
    return "ces2.0_agree" if spec.ces_version == "2.0" else f"ces{spec.ces_version}"


def is_charted(metric: str) -> bool:
    """Whether an estimate (a Row's metric) is the one its question's chart follows: not CES 2.0's mean."""
    return metric != "ces2.0"


def draw(points: Sequence[Row], *, chart: str = "auto") -> tuple[ControlChart, float]:
    """The control chart of one metric's estimates in time order, and the factor that puts its values on the
    metric's scale (100 for shares, whose chart holds proportions)."""
    metric = points[0].metric
    kind = "nps" if metric == "nps" else "share" if metric in SHARES else "mean"
    if chart != "auto" and chart not in ALLOWED[kind]:
        raise MetricError(f"The {chart} chart does not fit {metric}; choose `chart` from "
                          f"{', '.join(('auto', *ALLOWED[kind][:-1]))} or {ALLOWED[kind][-1]}", parameter="chart")
    if kind == "nps" and chart in ("auto", "nps"):
        return spc.nps_chart(promoters=[row.extra["promoters"] for row in points],
                             passives=[row.extra["passives"] for row in points],
                             detractors=[row.extra["detractors"] for row in points]), 1.0
    if kind == "share" and chart != "xmr":
        # A share's estimate is 100·count/n exactly, so rounding gives the count back.
        sizes = [row.estimate.n for row in points]
        counts = [round(row.estimate.value * row.estimate.n / 100) for row in points]
        laney = chart == "laney" or (chart == "auto" and spc.laney_advisable(nonconforming=counts, sizes=sizes))
        return (spc.laney_p_chart if laney else spc.p_chart)(nonconforming=counts, sizes=sizes), 100.0
    return spc.xmr_chart(observations=[row.estimate.value for row in points]).individuals, 1.0
