"""Improvement initiatives (Plan-Do-Check-Act) against recurring causes, and the Check: a test, not an opinion.

An initiative names its target metric as a survey, a metric (nps, csat, ces or mean), a question and a response
filter written as the pages' query (`attribute=channel=app&answer=nps:0-6`). The Check compares the metric in
the days after the change date with as many days just before it (at most CHECK_DAYS each), with the core's
comparison for the metric (NPS: z on trinomial variances; CSAT: two proportions; CES and means: Welch), and
draws the monthly control chart with its limits computed per phase (months that start before the change date, and
months that start on or after it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts.models import Department, User
from voxpop.accounts.service import audit
from voxpop.cases.models import Initiative, RootCause
from voxpop.collection.filters import FilterError, ResponseFilter, parse_response_filter, response_conditions
from voxpop.collection.models import Response
from voxpop.core import comparisons, estimates, spc
from voxpop.core.comparisons import Difference
from voxpop.core.estimates import Estimate
from voxpop.core.spc import ControlChart, Signal
from voxpop.dashboard.metrics import answer_counts
from voxpop.store.base import utcnow
from voxpop.surveys.models import Question, Survey, SurveyVersion

STAGES = ("plan", "do", "check", "act", "closed")
STAGE_LABELS = {"plan": "Plan", "do": "Do", "check": "Check", "act": "Act", "closed": "Closed"}
# Plan → Do → Check → Act, then close, or plan another cycle (Deming's wheel turns).
STAGE_MOVES = {"plan": ("do",), "do": ("check",), "check": ("act",), "act": ("plan", "closed"), "closed": ()}
METRICS = {"nps": ("nps",), "csat": ("csat",), "ces": ("ces",), "mean": ("nps", "csat", "ces", "rating")}
METRIC_LABELS = {"nps": "NPS", "csat": "CSAT (top-two-box %)", "ces": "CES mean", "mean": "Mean rating"}
FILTER_PARTS = ("attribute", "answer")  # the days come from the change date, so a target's filter names none
CHECK_DAYS = 365  # the longest window on each side of the change date
MAX_TEXT = 5000


class InitiativeError(ValueError):
    """An initiative that cannot be saved or moved, said so the user can fix it; `field` names the form field."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Target:
    """The metric an initiative or alert watches: survey key, metric, question key and response filter."""

    survey: str
    metric: str
    question: str
    filter: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict:
        return {"survey": self.survey, "metric": self.metric, "question": self.question,
                "filter": [list(pair) for pair in self.filter]}

    @property
    def filter_query(self) -> str:
        return urlencode(self.filter)

    def response_filter(self) -> ResponseFilter:
        """The target's filter as collection.filters reads it (no days)."""
        return parse_response_filter(today=date.today(), attribute=[v for k, v in self.filter if k == "attribute"],
                                     answer=[v for k, v in self.filter if k == "answer"])

    def describe(self) -> str:
        """'NPS of feedback (question nps), where channel is app'."""
        words = f"{METRIC_LABELS.get(self.metric, self.metric)} of {self.survey} (question {self.question})"
        try:
            parts = self.response_filter().describe()
        except FilterError:  # stored by hand, not through parse_target: say it as written
            parts = [self.filter_query]
        return words + (f", where {' and '.join(parts)}" if parts else "")


def target_from(stored: dict | None) -> Target | None:
    """The Target an initiative or alert stored, or None when it has none."""
    if not stored or not stored.get("survey"):
        return None
    return Target(stored["survey"], stored["metric"], stored["question"],
                  tuple((name, value) for name, value in stored.get("filter") or ()))


def parse_target(*, db_session: Session, survey: str, metric: str, question: str, filter_query: str = "",
                 metrics: tuple[str, ...] = tuple(METRICS)) -> Target:
    """A target checked against the surveys: the survey exists, the question is in it, its kind suits the metric,
    and the filter reads; raises InitiativeError naming the field."""
    survey, question, filter_query = survey.strip(), question.strip(), filter_query.strip().lstrip("?")
    if metric not in metrics:
        raise InitiativeError(f"choose the metric: {', '.join(metrics)}", field="metric")
    survey_id = db_session.scalar(select(Survey.id).where(Survey.key == survey))
    if survey_id is None:
        raise InitiativeError(f"there is no survey {survey!r}; choose one from the list", field="survey")
    kinds = set(db_session.scalars(select(Question.kind).join(SurveyVersion, SurveyVersion.id == Question.version_id)
                                   .where(SurveyVersion.survey_id == survey_id, Question.key == question)))
    if not kinds:
        raise InitiativeError(f"the survey {survey} has no question {question!r}; give a question's key",
                              field="question")
    if not kinds & set(METRICS[metric]):
        raise InitiativeError(f"the question {question} is a {sorted(kinds)[0]} question; {METRIC_LABELS[metric]} "
                              f"needs a {' or '.join(METRICS[metric])} question", field="question")
    pairs = tuple((name, value) for name, value in parse_qsl(filter_query, keep_blank_values=True) if value.strip())
    for name, _ in pairs:
        if name not in FILTER_PARTS:
            raise InitiativeError(f"the filter takes attribute=name=value and answer=question:test parts, not "
                                  f"{name}=…; the days come from the change date", field="filter")
    target = Target(survey, metric, question, pairs)
    try:
        target.response_filter()
    except FilterError as exc:
        raise InitiativeError(f"the filter cannot be read: {exc}", field="filter") from None
    return target


def _text(value: str, *, field: str, label: str, required: bool = False, limit: int = MAX_TEXT) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InitiativeError(f"give the initiative a {label}", field=field)
    if len(value) > limit:
        raise InitiativeError(f"the {label} is at most {limit:,} characters long", field=field)
    return value


def _known(db_session: Session, *, root_causes: list[str], themes: list[str]) -> tuple[list[str], list[str]]:
    keys = set(db_session.scalars(select(RootCause.key)))
    unknown = [key for key in root_causes if key not in keys]
    if unknown:
        raise InitiativeError(f"there is no root cause {unknown[0]!r}; choose from the list", field="root_causes")
    from voxpop.text.codebooks import codebook_keys

    theme_keys = set(codebook_keys(db_session.connection()))
    unknown = [key for key in themes if key not in theme_keys]
    if unknown:
        raise InitiativeError(f"the codebook has no theme {unknown[0]!r}; choose from the list", field="themes")
    return list(dict.fromkeys(root_causes)), list(dict.fromkeys(themes))


def save_initiative(*, db_session: Session, actor: User | None, title: str, problem: str = "",
                    owner_id: int | None = None, department_id: int | None = None, root_causes: list[str] = (),
                    themes: list[str] = (), target: Target | None = None, start_date: date | None = None,
                    change_date: date | None = None, draft: bool = False,
                    initiative: Initiative | None = None) -> Initiative:
    """Create an initiative, or change `initiative`, after checking every field."""
    title = _text(title, field="title", label="title", required=True, limit=200)
    problem = _text(problem, field="problem", label="problem statement")
    if owner_id is not None and db_session.get(User, owner_id) is None:
        raise InitiativeError("choose an existing user as the owner", field="owner")
    if department_id is not None and db_session.get(Department, department_id) is None:
        raise InitiativeError("choose an existing department", field="department")
    if start_date and change_date and change_date < start_date:
        raise InitiativeError(f"the change date ({change_date}) is before the start date ({start_date}); a change "
                              "goes live after the initiative starts", field="change_date")
    causes, theme_keys = _known(db_session, root_causes=list(root_causes), themes=list(themes))
    created = initiative is None
    if created:
        initiative = Initiative(stage="plan")
        db_session.add(initiative)
    before = None if created else _state(initiative)
    initiative.title, initiative.problem, initiative.owner_id = title, problem, owner_id
    initiative.department_id, initiative.root_causes, initiative.themes = department_id, causes, theme_keys
    initiative.target = target.as_json() if target else {}
    initiative.start_date, initiative.change_date = start_date, change_date
    initiative.draft = draft
    initiative.updated_at = utcnow()
    db_session.flush()
    if actor is not None:
        audit(db_session=db_session, actor=actor, action="initiative.create" if created else "initiative.update",
              target=f"initiative:{initiative.id}", before=before, after=_state(initiative))
    return initiative


def _state(initiative: Initiative) -> dict:
    return {"title": initiative.title, "stage": initiative.stage, "owner_id": initiative.owner_id,
            "target": initiative.target, "change_date": str(initiative.change_date or ""), "draft": initiative.draft}


def move_stage(*, db_session: Session, initiative: Initiative, to: str, actor: User | None,
               today: date | None = None) -> Initiative:
    """Move the initiative to the next PDCA stage its current one allows; Check needs the change date."""
    allowed = STAGE_MOVES.get(initiative.stage, ())
    if to not in allowed:
        words = " or ".join(STAGE_LABELS[stage] for stage in allowed) or "nothing: it is closed"
        raise InitiativeError(f"an initiative in {STAGE_LABELS.get(initiative.stage, initiative.stage)} can move to "
                              f"{words}, not {STAGE_LABELS.get(to, to)}", field="stage")
    if to == "check" and initiative.change_date is None:
        raise InitiativeError("set the change date (the day the change went live) before checking", field="stage")
    previous = initiative.stage
    initiative.stage, initiative.draft, initiative.updated_at = to, False, utcnow()
    if to == "closed":
        initiative.end_date = today or utcnow().date()
    if actor is not None:
        audit(db_session=db_session, actor=actor, action="initiative.stage", target=f"initiative:{initiative.id}",
              before={"stage": previous}, after={"stage": to})
    return initiative


# The Check ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One side of the change on the monthly chart: its months, their n, and its own control chart."""

    name: str  # before | after
    periods: tuple[str, ...]
    n: tuple[int, ...]
    estimates: tuple[Estimate, ...]
    chart: ControlChart | None  # None when the phase has too few months for limits
    signals: tuple[Signal, ...]
    scale: float  # 100 for shares, whose chart holds proportions


@dataclass(frozen=True)
class Check:
    target: Target
    change_date: date
    before_days: tuple[date, date]
    after_days: tuple[date, date]
    before: Estimate
    after: Estimate
    difference: Difference | None  # after − before
    verdict: str  # improvement | worse | no-change | too-few
    sentence: str
    phases: tuple[Phase, ...]
    higher_is_better: bool
    running: tuple[str, int, Estimate] | None = None  # the month not ended yet: drawn apart, outside the limits


def check_windows(change_date: date, today: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """The days after the change (from the change date to yesterday, the last whole day) and as many days just
    before it, at most CHECK_DAYS each."""
    after_end = max(today - timedelta(days=1), change_date)
    length = min((after_end - change_date).days + 1, CHECK_DAYS)
    after = (change_date, change_date + timedelta(days=length - 1))
    before = (change_date - timedelta(days=length), change_date - timedelta(days=1))
    return before, after


def _counts(db_session: Session, target: Target, *, zone: str, since: date, until: date, period: str | None):
    conditions = response_conditions(target.response_filter().with_days(since, until), zone=zone)
    conditions.append(Response.survey_id == select(Survey.id).where(Survey.key == target.survey).scalar_subquery())
    rows = [row for row in answer_counts(db_session.connection(), conditions=conditions, zone=zone, period=period)
            if row["question"] == target.question]
    return rows


def _merged(rows: list[dict]) -> dict:
    total = {"n": 0, "total": 0.0, "total_squares": 0.0, "promoters": 0, "detractors": 0, "top_two": 0,
             "ces_version": None, "scale_max": None}
    for row in rows:
        for name in ("n", "total", "total_squares", "promoters", "detractors", "top_two"):
            total[name] += row[name] or 0
        total["ces_version"] = total["ces_version"] or row["ces_version"]
        total["scale_max"] = total["scale_max"] or row["scale_max"]
    return total


def metric_estimate(metric: str, counts: dict, *, min_base: int) -> Estimate:
    """The target metric from summed answer counts."""
    n = int(counts["n"])
    if metric == "nps":
        return estimates.nps(promoters=int(counts["promoters"]), passives=n - int(counts["promoters"]) - int(
            counts["detractors"]), detractors=int(counts["detractors"]), min_base=min_base)
    if metric == "csat":
        return estimates.top_box(top=int(counts["top_two"]), n=n, min_base=min_base)
    return estimates.mean(n=n, total=float(counts["total"]), total_squares=float(counts["total_squares"]),
                          min_base=min_base)


def metric_difference(metric: str, after: dict, before: dict) -> Difference:
    """after − before with the core's comparison for the metric."""
    if metric == "nps":
        def groups(c):
            return (int(c["promoters"]), int(c["n"]) - int(c["promoters"]) - int(c["detractors"]), int(c["detractors"]))
        return comparisons.nps_difference(a=groups(after), b=groups(before))
    if metric == "csat":
        return comparisons.proportion_difference(a=(int(after["top_two"]), int(after["n"])),
                                                 b=(int(before["top_two"]), int(before["n"])))
    return comparisons.mean_difference(a=(int(after["n"]), float(after["total"]), float(after["total_squares"])),
                                       b=(int(before["n"]), float(before["total"]), float(before["total_squares"])))


def verdict(*, before: Estimate, after: Estimate, difference: Difference | None, higher_is_better: bool,
            min_base: int) -> tuple[str, str]:
    """The Check in plain words: an improvement, worse, no change the data can tell from noise, or too few."""
    if before.n < min_base or after.n < min_base or difference is None:
        return "too-few", f"Too few responses to tell (n before = {before.n:,}, n after = {after.n:,}; each side " \
                          f"needs {min_base})."
    if not difference.significant:
        return "no-change", "No change the data can tell from noise."
    better = (difference.difference > 0) == higher_is_better
    return ("improvement", "The data show an improvement.") if better else ("worse", "The data show it got worse.")


def _phase(name: str, metric: str, rows: list[dict], *, min_base: int) -> Phase:
    rows = sorted(rows, key=lambda row: str(row["period"]))
    periods = tuple(str(row["period"]) for row in rows)
    found = tuple(metric_estimate(metric, row, min_base=min_base) for row in rows)
    n = tuple(int(row["n"]) for row in rows)
    scale, chart = 1.0, None
    if metric == "nps" and rows:
        chart = spc.nps_chart(promoters=[row["promoters"] for row in rows],
                              passives=[row["n"] - row["promoters"] - row["detractors"] for row in rows],
                              detractors=[row["detractors"] for row in rows])
    elif metric == "csat" and rows:
        chart, scale = spc.p_chart(nonconforming=[row["top_two"] for row in rows], sizes=list(n)), 100.0
    elif len(rows) >= 2:
        chart = spc.xmr_chart(observations=[estimate.value for estimate in found]).individuals
    signals = spc.nelson_signals(chart=chart) if chart is not None else ()
    return Phase(name, periods, n, found, chart, signals, scale)


def check(db_session: Session, *, target: Target, change_date: date, zone: str, min_base: int,
          today: date | None = None) -> Check:
    """The metric before against after the change date, its verdict, and the monthly chart in two phases."""
    today = today or datetime.now(ZoneInfo(zone)).date()
    before_days, after_days = check_windows(change_date, today)
    before_rows = _counts(db_session, target, zone=zone, since=before_days[0], until=before_days[1], period=None)
    after_rows = _counts(db_session, target, zone=zone, since=after_days[0], until=after_days[1], period=None)
    before_counts, after_counts = _merged(before_rows), _merged(after_rows)
    before = metric_estimate(target.metric, before_counts, min_base=min_base)
    after = metric_estimate(target.metric, after_counts, min_base=min_base)
    try:
        difference = metric_difference(target.metric, after_counts, before_counts)
    except ValueError:  # a side without answers (or Welch without two on each side)
        difference = None
    version = after_counts["ces_version"] or before_counts["ces_version"]
    higher_is_better = not (target.metric == "ces" and version == "1.0")  # CES 1.0: lower is easier
    kind, sentence = verdict(before=before, after=after, difference=difference, higher_is_better=higher_is_better,
                             min_base=min_base)
    monthly = _counts(db_session, target, zone=zone, since=before_days[0], until=after_days[1], period="month")
    by_month: dict[str, list[dict]] = {}
    for row in monthly:  # a question kept over several survey versions has a row per version and month
        by_month.setdefault(str(row["period"]), []).append(row)
    months = [_merged(rows) | {"period": period} for period, rows in by_month.items()]
    # A month belongs to "after" when it starts on or after the change date: the after phase's limits then hold
    # only answers given after the change, and a month the change falls within stays "before".
    change_month, this_month = change_date.isoformat(), today.replace(day=1).isoformat()
    # The month still running is a partial period: as on the dashboard, it takes no part in the limits.
    ended = [row for row in months if row["period"] < this_month]
    phases = (_phase("before", target.metric, [row for row in ended if row["period"] < change_month],
                     min_base=min_base),
              _phase("after", target.metric, [row for row in ended if row["period"] >= change_month],
                     min_base=min_base))
    running = next(((row["period"], int(row["n"]), metric_estimate(target.metric, row, min_base=min_base))
                    for row in months if row["period"] >= this_month), None)
    return Check(target, change_date, before_days, after_days, before, after, difference, kind, sentence, phases,
                 higher_is_better, running)

