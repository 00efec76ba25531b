"""Email activities in Dataverse: their columns' values, the queries and writes email sync makes, the attachments.

Only Dataverse knowledge (tables, columns, option values, request shapes); what to track or send, and when,
is decided in ``wizard.sync.email``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from wizard.crm.client import DataverseClient, guid
from wizard.isotime import iso_z
from wizard.odata.batch import BatchRequest
from wizard.odata.errors import NotFoundError, ValidationError

# ``incomingemailfilteringmethod`` (reference B.4)
FILTER_ALL = 0
FILTER_REPLIES = 1
FILTER_CUSTOMERS = 2
FILTER_EMAIL_ENABLED = 3
FILTER_NONE = 4

# email statecode / statuscode (protocols 2.1)
STATE_OPEN = 0
STATE_COMPLETED = 1
STATUS_SENT = 3
STATUS_RECEIVED = 4
STATUS_PENDING_SEND = 6
STATUS_FAILED = 8

# activityparty.participationtypemask
MASK_SENDER = 1
MASK_TO = 2
MASK_CC = 3
MASK_BCC = 4

# email.notifications
NOTIFY_ATTACHMENTS_NOT_SAVED = 1
NOTIFY_TRUNCATED_BODY = 2

#: email.prioritycode by the mailbox's importance
IMPORTANCE = {"low": 0, "normal": 1, "high": 2}

#: Regarding type codes the original stamped in ``crmregardingobjecttypecode`` (B.10).
REGARDING_TYPE_CODES = {
    "account": 1,
    "contact": 2,
    "opportunity": 3,
    "lead": 4,
    "systemuser": 8,
    "incident": 112,
}
_ENTITY_SETS = {
    "account": "accounts",
    "contact": "contacts",
    "lead": "leads",
    "systemuser": "systemusers",
    "opportunity": "opportunities",
    "incident": "incidents",
    "queue": "queues",
}
LOOKUP_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname"
_ANNOTATIONS = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
#: the columns a correlation look-up reads
REF_SELECT = (
    "activityid",
    "messageid",
    "_regardingobjectid_value",
    "conversationindex",
    "trackingtoken",
    "actualend",
    "directioncode",
)
DEFAULT_MAX_UPLOAD = 5_242_880  # maxuploadfilesize when the organization does not say


def entity_set_of(logical_name: str) -> str:
    if logical_name in _ENTITY_SETS:
        return _ENTITY_SETS[logical_name]
    if logical_name.endswith("y"):
        return logical_name[:-1] + "ies"
    return logical_name + ("es" if logical_name.endswith("s") else "s")


def query(crm: DataverseClient, flt: str, select: Sequence[str] = REF_SELECT) -> list[dict[str, Any]]:
    """The ``emails`` rows that match ``flt`` (with the Regarding's table as an annotation)."""
    params = [("$select", ",".join(select)), ("$filter", flt)]
    return list(crm.session.iter_rows("emails", params=params, prefer=[_ANNOTATIONS]))


def organization_settings(crm: DataverseClient) -> tuple[str, int | None]:
    """The organization's tracking prefix ("" when it has none) and ``maxuploadfilesize`` (None: unknown)."""
    try:
        rows = list(
            crm.query("organizations", select=["organizationid", "maxuploadfilesize", "trackingprefix"])
        )
    except ValidationError:  # a deployment without trackingprefix: the default prefix
        rows = list(crm.query("organizations", select=["organizationid", "maxuploadfilesize"]))
    if not rows:
        return "", None
    max_upload = int(rows[0]["maxuploadfilesize"]) if rows[0].get("maxuploadfilesize") else None
    return str(rows[0].get("trackingprefix") or "").strip(), max_upload


def get(crm: DataverseClient, activity_id: str | None, select: Sequence[str]) -> dict[str, Any] | None:
    """One email's columns, or None when it is gone (or the id is no GUID: a corrupted journal entry)."""
    if not activity_id:
        return None
    try:
        return crm.get("emails", activity_id, select=select)
    except NotFoundError:
        return None
    except ValueError:
        return None


def pending_sends(crm: DataverseClient, owner: str) -> list[dict[str, Any]]:
    """The user's outgoing emails in Pending Send, with their parties."""
    params = [
        (
            "$select",
            "activityid,subject,description,messageid,trackingtoken,prioritycode,_parentactivityid_value",
        ),
        (
            "$filter",
            f"statuscode eq {STATUS_PENDING_SEND} and directioncode eq true and _ownerid_value eq {owner}",
        ),
        ("$expand", "email_activity_parties($select=participationtypemask,addressused,_partyid_value)"),
    ]
    return list(crm.session.iter_rows("emails", params=params, prefer=[_ANNOTATIONS]))


def party_address(crm: DataverseClient, party: dict[str, Any]) -> str:
    """An activity party's address: the one used, else the party record's own ("" when none)."""
    address = str(party.get("addressused") or "").strip()
    if address:
        return address
    logical = party.get("_partyid_value" + LOOKUP_NAME)
    party_id = party.get("_partyid_value")
    if not logical or not party_id:
        return ""
    column = {"systemuser": "internalemailaddress", "queue": "emailaddress"}.get(
        str(logical), "emailaddress1"
    )
    try:
        row = crm.get(entity_set_of(str(logical)), str(party_id), select=[column])
    except (NotFoundError, ValidationError):
        return ""
    return str(row.get(column) or "").strip()


def attachments(crm: DataverseClient, activity_id: str) -> list[dict[str, Any]]:
    """An email's ``activitymimeattachments`` (file name, MIME type, base64 body, content id)."""
    return list(
        crm.query(
            "activitymimeattachments",
            select=["filename", "mimetype", "body", "attachmentcontentid"],
            filter=f"_objectid_value eq {guid(activity_id)}",
        )
    )


def attachment_row(
    activity_id: str,
    number: int,
    name: str | None,
    content_type: str | None,
    data: bytes,
    content_id: str | None,
) -> dict[str, Any]:
    """The ``activitymimeattachments`` row that attaches ``data`` to the email ``activity_id``."""
    row: dict[str, Any] = {
        "objectid_email@odata.bind": f"emails({activity_id})",
        "objecttypecode": "email",
        "filename": (name or "attachment")[:255],
        "mimetype": (content_type or "application/octet-stream")[:256],
        "body": base64.b64encode(data).decode("ascii"),
        "attachmentnumber": number,
    }
    if content_id:
        row["attachmentcontentid"] = content_id.strip("<>")[:200]
    return row


def create_requests(
    activity_id: str, body: dict[str, Any], attachment_rows: Sequence[dict[str, Any]]
) -> list[BatchRequest]:
    """The ``$batch`` parts that create one email (with a client-chosen id) and then its attachments."""
    return [
        BatchRequest("POST", "emails", body={"activityid": activity_id, **body}),
        *(BatchRequest("POST", "activitymimeattachments", body=row) for row in attachment_rows),
    ]


def mark_sent(crm: DataverseClient, activity_id: str, message_id: str, when: datetime) -> None:
    changes = {
        "statecode": STATE_COMPLETED,
        "statuscode": STATUS_SENT,
        "messageid": message_id[:320],
        "actualend": iso_z(when),
    }
    crm.update("emails", activity_id, changes, etag="*")


def mark_failed(crm: DataverseClient, activity_id: str) -> None:
    crm.update("emails", activity_id, {"statecode": STATE_OPEN, "statuscode": STATUS_FAILED}, etag="*")


def mark_attachments_not_saved(crm: DataverseClient, activity_id: str) -> None:
    crm.update("emails", activity_id, {"notifications": NOTIFY_ATTACHMENTS_NOT_SAVED}, etag="*")
