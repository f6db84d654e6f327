"""Every table, imported in one place so Alembic and the tests see the whole schema.

It sits above the domains (it imports each one's models), so the store below them never has to."""

from voxpop.accounts.models import AuditEntry, Department, PasswordReset, User
from voxpop.analysis.models import ScoreRollup
from voxpop.cases.models import (
    AlertRule,
    AlertSignal,
    Case,
    CaseEvent,
    CasePolicy,
    CaseRoute,
    CaseRule,
    CaseTrigger,
    Initiative,
    Milestone,
    RootCause,
)
from voxpop.collection.models import (
    Answer,
    AttributeSet,
    AttributeSetValue,
    Invitation,
    Response,
)
from voxpop.customers.models import Customer, Sample, SampleMember, Suppression, Transaction
from voxpop.distribution.models import (
    ContactRule,
    InvitationEvent,
    Send,
    SendInvitation,
    Trigger,
    TriggerEvent,
)
from voxpop.imports.models import ImportRun, OptionMerge
from voxpop.notify.models import OutgoingMail, WebhookDelivery, WebhookEndpoint
from voxpop.qualitative.models import Participant, QualitativeSource, Turn, TurnTheme
from voxpop.scorecard.models import (
    ActionItem,
    Commentary,
    Link,
    Measure,
    MeasureTarget,
    MeasureValue,
    Objective,
    ObjectiveInitiative,
    Perspective,
    ReportSchedule,
    Review,
    Scorecard,
    ScorecardVersion,
)
from voxpop.store.base import Base
from voxpop.surveys.models import AttributeDefinition, Question, Survey, SurveyVersion, UnlistedLinkValue
from voxpop.text.models import CommentAnalysis, CommentTheme

__all__ = [
    "AlertRule", "AlertSignal", "Case", "CaseEvent", "CasePolicy", "CaseRoute", "CaseRule", "CaseTrigger", "Initiative",
    "Milestone", "OutgoingMail", "RootCause",
    "ActionItem", "Commentary", "Link", "Measure", "MeasureTarget", "MeasureValue", "Objective", "ObjectiveInitiative",
    "Perspective", "ReportSchedule", "Review", "Scorecard", "ScorecardVersion", "WebhookDelivery", "WebhookEndpoint",
    "Answer", "AttributeDefinition", "AttributeSet", "AttributeSetValue", "AuditEntry", "Base", "CommentAnalysis",
    "CommentTheme", "Customer", "Department", "ImportRun", "Invitation", "OptionMerge", "PasswordReset", "Question", "Response",
    "ScoreRollup", "Survey", "SurveyVersion", "Transaction", "UnlistedLinkValue", "User",
    "Participant", "QualitativeSource", "Turn", "TurnTheme",
    "Sample", "SampleMember", "Suppression",
    "ContactRule", "InvitationEvent", "Send", "SendInvitation", "Trigger", "TriggerEvent",
]
