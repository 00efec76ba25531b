"""The correlation look-ups of tracked emails in Dynamics 365 (:class:`~wizard.sync.correlation.EmailLookup`):
one message at a time (:class:`CrmEmails`), or a page of messages together (:class:`PageLookup`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from wizard.crm import emails as crm_emails
from wizard.crm.client import DataverseClient, odata_string
from wizard.mailbox.base import MailItem
from wizard.sync.correlation import (
    EmailRef,
    conversation_root,
    normalize_message_id,
    reply_message_ids,
    root_search_prefix,
    token_variants,
)

#: Message-IDs (or conversation prefixes) per ``or`` filter: a page of messages in one query, and the URL
#: (about 110 characters a Message-ID) still well under the service's 32 KB
IDS_PER_QUERY = 100


def ref_from_row(row: dict[str, Any]) -> EmailRef:
    return EmailRef(
        activityid=str(row.get("activityid") or "").lower(),
        messageid=row.get("messageid"),
        regarding_id=(
            str(row["_regardingobjectid_value"]).lower() if row.get("_regardingobjectid_value") else None
        ),
        regarding_type=row.get("_regardingobjectid_value" + crm_emails.LOOKUP_NAME),
        conversationindex=row.get("conversationindex"),
        trackingtoken=row.get("trackingtoken"),
        createdon=str(
            row.get("actualend") or ""
        ),  # when it was sent/received (the stand-in has no createdon)
    )


class CrmEmails:
    """The :class:`~wizard.sync.correlation.EmailLookup` against the Web API (plus the messageid check)."""

    def __init__(self, crm: DataverseClient) -> None:
        self.crm = crm
        self.queries = 0

    def rows_where(self, flt: str, extra: Sequence[str] = ()) -> list[dict[str, Any]]:
        self.queries += 1
        return crm_emails.query(self.crm, flt, (*crm_emails.REF_SELECT, *extra))

    def rows_by_ids(self, message_ids: Sequence[str], direction: bool | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(m for m in message_ids if m))
        for start in range(0, len(unique), IDS_PER_QUERY):
            chunk = unique[start : start + IDS_PER_QUERY]
            flt = "(" + " or ".join(f"messageid eq {odata_string(m)}" for m in chunk) + ")"
            if direction is not None:
                flt += f" and directioncode eq {'true' if direction else 'false'}"
            out.extend(self.rows_where(flt))
        return out

    def by_message_ids(self, message_ids: Sequence[str]) -> list[EmailRef]:
        return [ref_from_row(r) for r in self.rows_by_ids(message_ids, None)]

    def by_tracking_token(self, token: str) -> list[EmailRef]:
        flt = " or ".join(f"trackingtoken eq {odata_string(v)}" for v in token_variants(token))
        return [ref_from_row(r) for r in self.rows_where(flt)]

    def by_conversation_root(self, root: bytes) -> list[EmailRef]:
        flt = f"startswith(conversationindex,{odata_string(root_search_prefix(root))})"
        return [ref_from_row(r) for r in self.rows_where(flt)]

    def existing(self, message_ids: Sequence[str], *, outgoing: bool) -> dict[str, EmailRef]:
        """Emails already in Dynamics 365 with these Message-IDs and this direction (the duplicate check).

        Sent and received copies of one message are separate emails (B.13), hence the direction."""
        out: dict[str, EmailRef] = {}
        for row in self.rows_by_ids(message_ids, outgoing):
            key = normalize_message_id(row.get("messageid"))
            if key and key not in out:
                out[key] = ref_from_row(row)
        return out


class PageLookup:
    """The correlation look-ups of one page of messages, asked of Dynamics 365 together.

    ``prefetch`` reads, for the whole page, the emails the messages answer (In-Reply-To/References) and
    those of their conversations (ConversationIndex root) in ``or`` queries of IDS_PER_QUERY, instead
    of a query or two per message. The emails this page tracks are added as they are decided (``add``),
    before their ``$batch`` is sent, so a later message of the page correlates with them exactly as if
    each had been created on its own. A question the prefetch did not cover goes to Dynamics 365 after
    the page's pending creates were sent (``flush``), so the answer is never older than sequential work.
    """

    def __init__(self, base: CrmEmails, flush: Callable[[], None]) -> None:
        self.base = base
        self.flush = flush
        self.by_id: dict[str, list[EmailRef]] = {}
        self.by_root: dict[str, list[EmailRef]] = {}
        self.page: list[EmailRef] = []

    def prefetch(self, items: Sequence[MailItem]) -> None:
        wanted = list(dict.fromkeys(m for i in items for m in reply_message_ids(i)))
        for message_id in wanted:
            self.by_id.setdefault(message_id.lower(), [])  # the service compares case-insensitively
        for row in self.base.rows_by_ids(wanted, None):
            key = (normalize_message_id(row.get("messageid")) or "").lower()
            if key in self.by_id:
                self.by_id[key].append(ref_from_row(row))
        prefixes = list(
            dict.fromkeys(
                root_search_prefix(root)
                for i in items
                if (root := conversation_root(i.conversation_index)) is not None
            )
        )
        for start in range(0, len(prefixes), IDS_PER_QUERY):
            chunk = prefixes[start : start + IDS_PER_QUERY]
            for prefix in chunk:
                self.by_root.setdefault(prefix, [])
            flt = " or ".join(f"startswith(conversationindex,{odata_string(p)})" for p in chunk)
            for row in self.base.rows_where(flt):
                ref = ref_from_row(row)
                for prefix in chunk:
                    if (ref.conversationindex or "").startswith(prefix):
                        self.by_root[prefix].append(ref)

    def add(self, ref: EmailRef) -> None:
        self.page.append(ref)

    @staticmethod
    def _unique(refs: Iterable[EmailRef]) -> list[EmailRef]:
        return list({r.activityid: r for r in refs}.values())

    def by_message_ids(self, message_ids: Sequence[str]) -> list[EmailRef]:
        wanted = {m.lower() for m in message_ids if m}
        if wanted <= set(self.by_id):
            found = [r for m in wanted for r in self.by_id[m]]
        else:
            self.flush()
            found = self.base.by_message_ids(message_ids)
        mine = [r for r in self.page if (normalize_message_id(r.messageid) or "").lower() in wanted]
        return self._unique([*found, *mine])

    def forget(self, activity_id: str) -> None:
        """An email of this page that could not be created: no later message may correlate with it."""
        self.page = [r for r in self.page if r.activityid != activity_id]

    def by_tracking_token(self, token: str) -> list[EmailRef]:
        self.flush()  # a new email's token is the service's: ask it, with this page's emails created
        return self.base.by_tracking_token(token)

    def by_conversation_root(self, root: bytes) -> list[EmailRef]:
        prefix = root_search_prefix(root)
        if prefix in self.by_root:
            found = list(self.by_root[prefix])
        else:
            self.flush()
            found = self.base.by_conversation_root(root)
        mine = [r for r in self.page if (r.conversationindex or "").startswith(prefix)]
        return self._unique([*found, *mine])
