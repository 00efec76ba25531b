"""Email correlation: which tracked Dynamics 365 email does a mailbox message belong to (reference B.13).

Server-side sync and the Outlook client correlate an incoming message with an email that is already
tracked, in a fixed order: (1) In-Reply-To / References equal a tracked email's ``messageid``, (2) the
tracking token in the subject, (3) the ConversationIndex (Outlook's Thread-Index: its first 22 bytes name
the conversation). Smart matching (subject hashes) is off by default in the original and is left out.

This module is pure: the CRM look-ups come in through :class:`EmailLookup`, so the order and the parsers
are unit-tested without a server.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from wizard.mailbox.base import MailItem

#: Bytes of a ConversationIndex that identify the conversation (1 reserved/date byte, 5 date bytes, 16 GUID).
CONVERSATION_ROOT_BYTES = 22
#: The organization's default tracking-token prefix (``organization.trackingprefix``).
DEFAULT_TRACKING_PREFIX = "CRM"
#: A token carries at least the online/offline digit, a user number and a message counter.
_MIN_TOKEN_DIGITS = 3
_MAX_TOKEN_DIGITS = 40


class CorrelationMethod(enum.IntEnum):
    """``email.correlationmethod`` (protocols 2.1)."""

    NONE = 0
    SKIPPED = 1
    XHEADER = 2
    IN_REPLY_TO = 3
    TRACKING_TOKEN = 4
    CONVERSATION_INDEX = 5
    SMART_MATCHING = 6
    CUSTOM = 7


#: Methods after which ``parentactivityid`` is set (B.13: only for InReplyTo and ConversationIndex).
PARENT_METHODS = frozenset({CorrelationMethod.IN_REPLY_TO, CorrelationMethod.CONVERSATION_INDEX})


@dataclass(frozen=True)
class EmailRef:
    """A tracked Dynamics 365 email, as far as correlation needs it."""

    activityid: str
    messageid: str | None = None
    regarding_id: str | None = None
    #: logical name of the regarding row ("account", "contact", ...)
    regarding_type: str | None = None
    conversationindex: str | None = None
    trackingtoken: str | None = None
    #: ISO timestamp; newer wins among equals
    createdon: str = ""


@dataclass(frozen=True)
class Correlation:
    """The email a message was correlated with, and how."""

    email: EmailRef
    method: CorrelationMethod

    @property
    def sets_parent(self) -> bool:
        return self.method in PARENT_METHODS


class EmailLookup(Protocol):
    """Look-ups of tracked emails in Dynamics 365 (implemented against the Web API in ``wizard.sync.email``)."""

    def by_message_ids(self, message_ids: Sequence[str]) -> list[EmailRef]: ...

    def by_tracking_token(self, token: str) -> list[EmailRef]: ...

    def by_conversation_root(self, root: bytes) -> list[EmailRef]: ...


# ------------------------------------------------------------------------------------------ parsers


def normalize_message_id(value: str | None) -> str | None:
    """``<id@host>`` with surrounding space and case of the angle brackets fixed; None for nothing useful."""
    if not value:
        return None
    text = value.strip()
    match = re.search(r"<[^<>\s]+>", text)
    if match:
        return match.group(0)
    if text and " " not in text and "@" in text:
        return f"<{text}>"
    return None


def reply_message_ids(item: MailItem) -> list[str]:
    """The Message-IDs a message answers, most specific first: In-Reply-To, then References newest first."""
    out: list[str] = []
    own = normalize_message_id(item.message_id)
    candidates: list[str | None] = [item.in_reply_to]
    references: list[str] = []
    for ref in item.references:
        references.extend(re.findall(r"<[^<>\s]+>", ref) or [ref])
    candidates.extend(reversed(references))
    for raw in candidates:
        value = normalize_message_id(raw)
        if value and value != own and value not in out:
            out.append(value)
    return out


def tracking_token_pattern(prefix: str | None = DEFAULT_TRACKING_PREFIX) -> re.Pattern[str]:
    """The token in a subject: the org's prefix (1-20 characters, default "CRM"), an optional ":", digits."""
    text = (prefix or DEFAULT_TRACKING_PREFIX).strip() or DEFAULT_TRACKING_PREFIX
    base = text.rstrip(":")
    return re.compile(
        rf"(?<![0-9A-Za-z]){re.escape(base)}:?([0-9]{{{_MIN_TOKEN_DIGITS},{_MAX_TOKEN_DIGITS}}})(?![0-9])",
        re.IGNORECASE,
    )


def find_tracking_token(subject: str | None, prefix: str | None = DEFAULT_TRACKING_PREFIX) -> str | None:
    """The tracking token in a subject, normalized as ``<prefix>:<digits>`` (the last one wins: replies
    quote the subject, and a later token was added later). None when the subject has none."""
    if not subject:
        return None
    matches = list(tracking_token_pattern(prefix).finditer(subject))
    if not matches:
        return None
    base = ((prefix or DEFAULT_TRACKING_PREFIX).strip() or DEFAULT_TRACKING_PREFIX).rstrip(":")
    return f"{base}:{matches[-1].group(1)}"


def token_variants(token: str) -> list[str]:
    """Spellings a stored ``trackingtoken`` may have: with and without the colon."""
    base, _, digits = token.rpartition(":")
    return [token, f"{base}{digits}"] if base else [token]


def decode_conversation_index(value: str | None) -> bytes | None:
    """The ConversationIndex bytes from the base64 header form; None when absent or not base64."""
    if not value:
        return None
    text = "".join(value.split())
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


def conversation_root(value: str | None) -> bytes | None:
    """The first 22 bytes of a ConversationIndex (the conversation's identity); None if shorter."""
    data = decode_conversation_index(value)
    if data is None or len(data) < CONVERSATION_ROOT_BYTES:
        return None
    return data[:CONVERSATION_ROOT_BYTES]


def root_search_prefix(root: bytes) -> str:
    """The base64 text every ConversationIndex with this root starts with (21 bytes = 28 characters);
    the look-up narrows by it and :func:`conversation_root` then compares all 22 bytes."""
    return base64.b64encode(root[:21]).decode("ascii")


def _common_prefix(a: bytes, b: bytes) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


# ------------------------------------------------------------------------------------------ the order


def correlate(
    item: MailItem,
    lookup: EmailLookup,
    *,
    tracking_prefix: str | None = DEFAULT_TRACKING_PREFIX,
    use_in_reply_to: bool = True,
    use_tracking_token: bool = True,
    use_conversation_index: bool = True,
) -> Correlation | None:
    """The tracked email ``item`` belongs to, trying the documented methods in order; None if none."""
    own = normalize_message_id(item.message_id)

    def others(refs: Sequence[EmailRef]) -> list[EmailRef]:
        return [r for r in refs if normalize_message_id(r.messageid) != own or own is None]

    if use_in_reply_to:
        wanted = reply_message_ids(item)
        if wanted:
            found = others(lookup.by_message_ids(wanted))
            by_id: dict[str, list[EmailRef]] = {}
            for ref in found:
                key = normalize_message_id(ref.messageid)
                if key:
                    by_id.setdefault(key, []).append(ref)
            for message_id in wanted:  # the most specific answer first
                if message_id in by_id:
                    best = sorted(by_id[message_id], key=lambda r: r.createdon)[0]
                    return Correlation(best, CorrelationMethod.IN_REPLY_TO)
    if use_tracking_token:
        token = find_tracking_token(item.subject, tracking_prefix)
        if token:
            found = others(lookup.by_tracking_token(token))
            if found:
                best = sorted(found, key=lambda r: r.createdon, reverse=True)[0]
                return Correlation(best, CorrelationMethod.TRACKING_TOKEN)
    if use_conversation_index:
        mine = decode_conversation_index(item.conversation_index)
        root = conversation_root(item.conversation_index)
        if mine is not None and root is not None:
            scored: list[tuple[bool, int, str, EmailRef]] = []
            for ref in others(lookup.by_conversation_root(root)):
                theirs = decode_conversation_index(ref.conversationindex)
                if theirs is None or theirs[:CONVERSATION_ROOT_BYTES] != root or theirs == mine:
                    continue
                ancestor = mine.startswith(theirs)
                scored.append((ancestor, _common_prefix(mine, theirs), ref.createdon, ref))
            if scored:
                # the nearest ancestor (its index is a prefix of ours), else the closest relative; then newest
                scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
                return Correlation(scored[0][3], CorrelationMethod.CONVERSATION_INDEX)
    return None


__all__ = [
    "CONVERSATION_ROOT_BYTES",
    "DEFAULT_TRACKING_PREFIX",
    "PARENT_METHODS",
    "Correlation",
    "CorrelationMethod",
    "EmailLookup",
    "EmailRef",
    "conversation_root",
    "correlate",
    "decode_conversation_index",
    "find_tracking_token",
    "normalize_message_id",
    "reply_message_ids",
    "root_search_prefix",
    "token_variants",
    "tracking_token_pattern",
]
