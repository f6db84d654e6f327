"""What an export's columns are by name: the survey tools' metadata columns, multi-select option columns,
and the voxpop keys the columns get."""

from __future__ import annotations

import os
import re
import unicodedata

from voxpop.imports.formats import SourceColumn

# Metadata columns by their name with case, spaces and punctuation removed: (role, key).
METADATA = {
    "responseid": ("response_id", "response_id"), "respondentid": ("response_id", "response_id"),
    "recordid": ("response_id", "response_id"), "#": ("response_id", "response_id"),
    "enddate": ("submitted_at", "submitted_at"), "submitdateutc": ("submitted_at", "submitted_at"),
    "submitdate": ("submitted_at", "submitted_at"), "datesubmitted": ("submitted_at", "submitted_at"),
    "submittedat": ("submitted_at", "submitted_at"), "timestamp": ("submitted_at", "submitted_at"),
    "marcatemporal": ("submitted_at", "submitted_at"),
    "startdate": ("started_at", "started_at"), "startdateutc": ("started_at", "started_at"),
    "datestarted": ("started_at", "started_at"), "startedat": ("started_at", "started_at"),
    "recipientemail": ("customer_email", "email"), "emailaddress": ("customer_email", "email"),
    "email": ("customer_email", "email"), "customeremail": ("customer_email", "email"),
    "externalreference": ("customer_ref", "customer_ref"), "externaldatareference": ("customer_ref", "customer_ref"),
    "customerid": ("customer_ref", "customer_ref"), "customerref": ("customer_ref", "customer_ref"),
    "token": ("customer_ref", "customer_ref"),
    "distributionchannel": ("attribute", "channel"), "channel": ("attribute", "channel"),
    "userlanguage": ("attribute", "language"), "startlanguage": ("attribute", "language"),
    "collectorid": ("attribute", "collector"), "networkid": ("attribute", "network_id"),
    "customdata1": ("attribute", "custom_data_1"), "customdata2": ("attribute", "custom_data_2"),
}
# Bookkeeping and personal data that voxpop does not keep: the tools' own status codes, IP addresses,
# locations and names.
IGNORED = {"ipaddress", "ipaddr", "status", "progress", "duration", "durationinseconds", "finished", "responseset",
           "name", "recipientfirstname", "recipientlastname", "firstname", "lastname", "locationlatitude",
           "locationlongitude", "locationaccuracy", "lastpage", "seed", "datestamp", "refurl", "recordeddate",
           "responsetype"}
ID_PLACEHOLDER = re.compile(r"V\d+")
QUALTRICS_OPTION = re.compile(r"(.+)_(-?\d+)")
LIMESURVEY_SUBQUESTION = re.compile(r"([^\[\]]+)\[([^\[\]]+)\]")
KEY_LENGTH = 48  # leaves room for a "_2" suffix and "_comment" under the store's 64


def normalised(name: str) -> str:
    """A column name without case, spaces or punctuation, for looking it up ("Start Date (UTC)" → startdateutc)."""
    return "#" if name.strip() == "#" else re.sub(r"[^a-z0-9]", "", name.lower())


def metadata_role(column: SourceColumn, export_format: str) -> tuple[str, str] | None:
    """(role, key) of a tool's metadata column, ("ignore", name) for bookkeeping it does not keep, else None."""
    names = [column.header]
    if export_format == "qualtrics-legacy" and ID_PLACEHOLDER.fullmatch(column.header.strip()):
        names = [column.label or ""]
    if export_format == "limesurvey" and column.header.strip() == "id":
        return "response_id", "response_id"
    for name in names:
        key = normalised(name)
        if key in METADATA:
            return METADATA[key]
        if key in IGNORED:
            return "ignore", slug(name)
    return None


def option_column(column: SourceColumn, value: str, export_format: str) -> tuple[str, str] | None:
    """(question, option) when a column is one option of a multi-select (its only answer marks the option)."""
    value = value.strip()
    header = column.header.strip()
    if export_format == "typeform" and value == header:
        return "", value  # Typeform: grouped by adjacency, since the question text is not in the file
    if export_format == "surveymonkey" and column.sub_label and value == column.sub_label.strip():
        return column.label or "", value
    if export_format.startswith("qualtrics") and value == "1" and (match := QUALTRICS_OPTION.fullmatch(header)):
        return match.group(1), column.label or header
    if export_format == "limesurvey" and value == "Y" and (match := LIMESURVEY_SUBQUESTION.fullmatch(header)):
        return match.group(1), match.group(2)
    return None


def option_texts(labels: list[str]) -> list[str]:
    """Qualtrics' 'Question-Option' labels of one question as the options' texts."""
    if len(labels) == 1:
        return [labels[0].rsplit("-", 1)[-1]]
    prefix = os.path.commonprefix(labels)
    cut = prefix.rfind("-") + 1
    return [label[cut:] or label for label in labels]


def question_text(labels: list[str]) -> str:
    """The shared question text of Qualtrics' 'Question-Option' labels."""
    prefix = os.path.commonprefix(labels) if len(labels) > 1 else labels[0].rsplit("-", 1)[0]
    return prefix[: prefix.rfind("-")] if len(labels) > 1 and "-" in prefix else prefix


def slug(text: str, limit: int = KEY_LENGTH) -> str:
    """A voxpop key from any text: ASCII lower case, digits and underscores, starting with a letter."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if len(key) > limit:
        key = key[:limit].rsplit("_", 1)[0] if "_" in key[:limit] else key[:limit]
    if not key:
        return "column"
    return key if key[0].isalpha() else f"q_{key}"[:limit]


class Keys:
    """Hands out unique keys: a second 'other' becomes 'other_2'."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, wanted: str) -> str:
        key, number = wanted, 1
        while key in self.taken:
            number += 1
            key = f"{wanted}_{number}"
        self.taken.add(key)
        return key
