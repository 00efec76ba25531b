"""The server side of DESIGN section 1's "only one" rules, on the user's ``mailbox`` record.

* one synchronizing organization: ``isactsyncorgflagset`` + ``orgmarkedasprimaryforexchangesync`` true in the
  chosen org, false in every other configured org (:func:`set_sync_org`);
* one primary mailbox per user, one user per mailbox (:func:`check_mailbox_address`, :func:`bind_mailbox`);
* one synchronizing computer: a claim element in ``exchangesyncstatexml`` (:func:`claim` and friends).

Every write carries ``If-Match`` with the ETag of the row as read; on 412 the row is read again and the
decision is made again on fresh data, so two computers cannot both win a race.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from xml.sax.saxutils import quoteattr

import defusedxml.ElementTree as SafeET

from wizard.crm.addresses import addresses_match, parse_address
from wizard.crm.client import DataverseClient
from wizard.crm.entities import (
    ACT_NONE,
    ACT_OUTLOOK,
    DELIVERY_NONE,
    DELIVERY_OUTLOOK,
    MailboxRecord,
    SystemUser,
)
from wizard.errors import D365SyncError, RuleViolation, Severity
from wizard.isotime import iso_z
from wizard.odata.errors import NotFoundError, PreconditionFailedError

log = logging.getLogger(__name__)

# The original's text (reference B.1, "outlook-email-address-should-same").
ADDRESS_MISMATCH_TEXT = (
    "To track emails and perform synchronization, your Outlook email address should be the same as your "
    "email address in Microsoft Dynamics 365 apps."
)
CLAIM_ELEMENT = "d365syncclaim"
_CLAIM_RE = re.compile(rf"<{CLAIM_ELEMENT}\b[^>]*?(?:/>|>.*?</{CLAIM_ELEMENT}\s*>)", re.DOTALL)
WRITE_ATTEMPTS = 4


class MailboxRecordMissing(RuleViolation):
    """The user has no mailbox record in this organization (an administrator must create/enable it)."""


class ClaimReleased(RuleViolation):
    """No computer holds the claim any more (it was released while this one synchronized)."""

    severity = Severity.ACCOUNT


class ClaimHeldElsewhere(RuleViolation):
    """Another computer is the synchronizing computer for this user."""

    severity = Severity.ACCOUNT

    def __init__(self, holder: Claim, *, lost: bool = False) -> None:
        since = holder.claimed_at.strftime("%Y-%m-%d %H:%M UTC")
        seen = holder.heartbeat.strftime("%Y-%m-%d %H:%M UTC")
        what = "took over as" if lost else "is"
        super().__init__(
            f"Synchronizing computer is {holder.hostname} ({holder.instance_id}) since {since}",
            user_text=(
                f"The computer {holder.hostname} {what} the synchronizing computer for your mailbox "
                f"(since {since}, last seen {seen}). Make this computer the synchronizing client? "
                "If not, you can still connect and browse, but this computer will not synchronize."
            ),
        )
        self.holder = holder
        self.lost = lost

    @property
    def claim(self) -> Claim:
        """The claim that is in the way (same as ``holder``)."""
        return self.holder


def check_mailbox_address(client: DataverseClient, address: str) -> SystemUser:
    """Refuse an address that is not the user's Primary Email, or that is bound to another user.

    Returns the current user on success.
    """
    parse_address(address)  # a malformed or look-alike address is refused before anything is asked
    user = client.current_user()
    if not user.primary_email:
        raise RuleViolation(
            "User has no Primary Email",
            user_text=(
                f"{ADDRESS_MISMATCH_TEXT} Your user record in Dynamics 365 has no Primary Email; ask your "
                "administrator to set it to your mailbox address."
            ),
        )
    if not addresses_match(address, user.primary_email):
        raise RuleViolation(
            f"Mailbox address {address!r} differs from Primary Email {user.primary_email!r}",
            user_text=(
                f"{ADDRESS_MISMATCH_TEXT} Your Primary Email in Dynamics 365 is {user.primary_email}, the "
                f"mailbox is {address.strip()}. Either use the mailbox {user.primary_email}, or have the "
                "Primary Email on your user record in Dynamics 365 changed to the mailbox address."
            ),
        )
    for record in client.find_mailboxes_by_address(address):
        if (
            record.regarding_id
            and record.regarding_id != user.id
            and record.emailaddress.strip().casefold() == address.strip().casefold()
        ):
            holder = _holder_name(client, record)
            raise RuleViolation(
                f"Address {address!r} is bound to {holder}",
                user_text=(
                    f"The mailbox {address.strip()} is already bound to {holder} in Dynamics 365. A mailbox "
                    "can belong to one user only; ask your administrator to correct the other user's "
                    "mailbox record."
                ),
            )
    return user


def _holder_name(client: DataverseClient, record: MailboxRecord) -> str:
    if record.regarding_name:
        return record.regarding_name
    if record.regarding_id:
        try:
            other = client.user(record.regarding_id)
        except (NotFoundError, ValueError):
            return "another user or queue"
        return f"{other.fullname} ({other.domainname})" if other.domainname else other.fullname
    return "another user or queue"


# -- guarded writes to the user's mailbox record -------------------------------------------------------------


def own_mailbox(client: DataverseClient) -> MailboxRecord:
    record = client.user_mailbox()
    if record is None:
        raise MailboxRecordMissing(
            f"No mailbox record for the user in {client.org_url}",
            user_text=(
                f"Your user has no mailbox record in {client.org_url}. Ask your Dynamics 365 administrator "
                "to check your user's mailbox (Settings > Email Configuration > Mailboxes)."
            ),
        )
    return record


def update_own_mailbox(
    client: DataverseClient,
    decide: Callable[[MailboxRecord], Mapping[str, Any] | None],
    *,
    attempts: int = WRITE_ATTEMPTS,
    written: Callable[[MailboxRecord], None] | None = None,
) -> MailboxRecord:
    """Read the user's mailbox record, let ``decide`` compute the changes, PATCH them with If-Match.

    ``decide`` may raise (the rule says no) or return None/{} (nothing to do). On 412 the row is read again
    and ``decide`` runs again on the fresh row. Returns the row as read before the (last) write; ``written``
    gets the row as written (with its new ETag: the PATCH asks for the representation).
    """
    for attempt in range(1, attempts + 1):
        record = own_mailbox(client)
        changes = decide(record)
        if not changes:
            return record
        try:
            row = client.update(
                MailboxRecord.SET,
                record.id,
                changes,
                etag=record.etag,
                return_representation=written is not None,
            )
        except PreconditionFailedError:
            log.info("mailbox record changed under us (attempt %d); reading it again", attempt)
            continue
        if written is not None and row:
            written(MailboxRecord.from_row(row))
        return record
    raise PreconditionFailedError(
        "mailbox record kept changing",
        status=412,
        user_text="Your mailbox record in Dynamics 365 kept changing while we tried to update it; try again.",
        retriable=True,
    )


# -- one synchronizing organization --------------------------------------------------------------------------


@dataclass
class SyncOrgReport:
    chosen: str
    cleared: list[str] = field(default_factory=list)
    failed: dict[str, D365SyncError] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.failed

    @property
    def user_text(self) -> str:
        if not self.failed:
            return f"{self.chosen} is now your synchronizing organization."
        lines = [f"{self.chosen} is now your synchronizing organization, but these could not be updated:"]
        lines += [f"  {org}: {error.user_text}" for org, error in self.failed.items()]
        lines.append(
            "They may still be marked as synchronizing; run d365sync orgs set-sync again once they can be reached."
        )
        return "\n".join(lines)


def set_sync_org(chosen: DataverseClient, others: Sequence[DataverseClient]) -> SyncOrgReport:
    """Mark ``chosen`` as the synchronizing organization and clear the mark in every other configured org.

    The chosen org must succeed (else the error is raised and nothing else is touched). An org among
    ``others`` that cannot be reached is reported in ``failed`` by URL, never silently skipped.
    """

    def set_flags(record: MailboxRecord) -> dict[str, Any] | None:
        if record.isactsyncorgflagset and record.orgmarkedasprimaryforexchangesync:
            return None
        return {"isactsyncorgflagset": True, "orgmarkedasprimaryforexchangesync": True}

    def clear_flags(record: MailboxRecord) -> dict[str, Any] | None:
        if not record.isactsyncorgflagset and not record.orgmarkedasprimaryforexchangesync:
            return None
        return {"isactsyncorgflagset": False, "orgmarkedasprimaryforexchangesync": False}

    update_own_mailbox(chosen, set_flags)
    report = SyncOrgReport(chosen=chosen.org_url)
    for other in others:
        if other.org_url == chosen.org_url:
            continue
        try:
            update_own_mailbox(other, clear_flags)
        except MailboxRecordMissing:
            report.cleared.append(other.org_url)  # no mailbox record there: nothing claims to be primary
        except D365SyncError as error:
            log.warning("could not clear the synchronizing-org flags in %s: %s", other.org_url, error.message)
            report.failed[other.org_url] = error
        else:
            report.cleared.append(other.org_url)
    return report


# -- one primary mailbox -------------------------------------------------------------------------------------


def bind_mailbox(
    client: DataverseClient, address: str, kind: Literal["exchange", "pop3"], *, replace: bool = False
) -> MailboxRecord:
    """Bind ``address`` as the user's one mailbox: Outlook-style delivery for email, ACT via Exchange only.

    Refuses (RuleViolation) an address that is not the Primary Email or is bound to another user, and a second
    mailbox when a different one is bound already (unless ``replace``).
    """
    if kind not in ("exchange", "pop3"):
        raise ValueError(f"unknown mailbox kind {kind!r}")
    check_mailbox_address(client, address)
    wanted = {
        "emailaddress": address.strip(),
        "incomingemaildeliverymethod": DELIVERY_OUTLOOK,
        "outgoingemaildeliverymethod": DELIVERY_OUTLOOK,
        "actdeliverymethod": ACT_OUTLOOK if kind == "exchange" else ACT_NONE,
    }

    def decide(record: MailboxRecord) -> dict[str, Any] | None:
        bound = record.incomingemaildeliverymethod == DELIVERY_OUTLOOK and record.emailaddress
        if bound and not replace and not addresses_match(record.emailaddress, address):
            raise RuleViolation(
                f"Another mailbox ({record.emailaddress}) is bound already",
                user_text=(
                    f"The mailbox {record.emailaddress} is already bound to your user; only one mailbox can "
                    "be bound. Unbind it first."
                ),
            )
        current = {
            "emailaddress": record.emailaddress,
            "incomingemaildeliverymethod": record.incomingemaildeliverymethod,
            "outgoingemaildeliverymethod": record.outgoingemaildeliverymethod,
            "actdeliverymethod": record.actdeliverymethod,
        }
        return {k: v for k, v in wanted.items() if current.get(k) != v} or None

    update_own_mailbox(client, decide)
    return own_mailbox(client)


def unbind_mailbox(client: DataverseClient) -> MailboxRecord:
    """Stop handling the user's mailbox: delivery methods back to None (the address stays on the record)."""

    def decide(record: MailboxRecord) -> dict[str, Any] | None:
        wanted = {
            "incomingemaildeliverymethod": DELIVERY_NONE,
            "outgoingemaildeliverymethod": DELIVERY_NONE,
            "actdeliverymethod": ACT_NONE,
        }
        current = {
            "incomingemaildeliverymethod": record.incomingemaildeliverymethod,
            "outgoingemaildeliverymethod": record.outgoingemaildeliverymethod,
            "actdeliverymethod": record.actdeliverymethod,
        }
        return {k: v for k, v in wanted.items() if current.get(k) != v} or None

    update_own_mailbox(client, decide)
    return own_mailbox(client)


# -- one synchronizing computer ------------------------------------------------------------------------------


def _utc(value: dt.datetime | None = None) -> dt.datetime:
    value = value or dt.datetime.now(dt.UTC)
    return value.astimezone(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Claim:
    instance_id: str
    hostname: str
    claimed_at: dt.datetime
    heartbeat: dt.datetime

    def to_xml(self) -> str:
        return (
            f"<{CLAIM_ELEMENT} instance={quoteattr(self.instance_id)} hostname={quoteattr(self.hostname)} "
            f"claimedat={quoteattr(iso_z(self.claimed_at))} heartbeat={quoteattr(iso_z(self.heartbeat))}/>"
        )


def _parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_claim(state_xml: str) -> Claim | None:
    """Our claim inside ``exchangesyncstatexml`` (whatever else is in there), or None."""
    match = _CLAIM_RE.search(state_xml or "")
    if match is None:
        return None
    try:
        element = SafeET.fromstring(match.group(0))
    except Exception:
        return None
    instance = element.get("instance")
    claimed = _parse_time(element.get("claimedat"))
    if not instance or claimed is None:
        return None
    return Claim(
        instance_id=instance,
        hostname=element.get("hostname") or "(unknown computer)",
        claimed_at=claimed,
        heartbeat=_parse_time(element.get("heartbeat")) or claimed,
    )


def replace_claim(state_xml: str, claim: Claim | None) -> str:
    """``exchangesyncstatexml`` with our element replaced, added or (``claim=None``) removed.

    Foreign content (e.g. server-side synchronization state) is kept byte-for-byte: it is never parsed and
    re-serialized. Our element is found by its unique name (``<d365syncclaim .../>``, always written
    self-closing with XML-escaped attribute values, so it contains no ``>`` of its own) and only that span of
    text is replaced. When the column has foreign content and no claim yet, the claim is appended after it;
    removing the claim restores the foreign content exactly.
    """
    state_xml = state_xml or ""
    new = claim.to_xml() if claim else ""
    if _CLAIM_RE.search(state_xml):
        return _CLAIM_RE.sub(lambda _m: new, state_xml, count=1)
    return state_xml + new


def read_claim(client: DataverseClient) -> Claim | None:
    return parse_claim(own_mailbox(client).exchangesyncstatexml)


def claim(
    client: DataverseClient,
    instance_id: str,
    hostname: str,
    force: bool = False,
    *,
    now: dt.datetime | None = None,
) -> Claim:
    """Make this instance the synchronizing computer (or renew its claim).

    Another holder wins unless ``force``: then :class:`ClaimHeldElsewhere` tells who, since when and when it
    was last seen. The write is conditional (If-Match); losing a race re-reads and decides again.
    """
    moment = _utc(now)
    result: list[Claim] = []

    def decide(record: MailboxRecord) -> dict[str, Any] | None:
        current = parse_claim(record.exchangesyncstatexml)
        if current is not None and current.instance_id != instance_id and not force:
            raise ClaimHeldElsewhere(current)
        mine = current is not None and current.instance_id == instance_id
        new = Claim(
            instance_id=instance_id,
            hostname=hostname,
            claimed_at=current.claimed_at if mine and current else moment,
            heartbeat=moment,
        )
        result[:] = [new]
        return {"exchangesyncstatexml": replace_claim(record.exchangesyncstatexml, new)}

    update_own_mailbox(client, decide)
    return result[0]


def heartbeat(
    client: DataverseClient,
    instance_id: str,
    *,
    now: dt.datetime | None = None,
    written: Callable[[MailboxRecord], None] | None = None,
) -> Claim:
    """Renew our claim's heartbeat; ClaimHeldElsewhere (``lost=True``) if another computer took over,
    ClaimReleased if none holds it. ``written``: see :func:`update_own_mailbox`."""
    moment = _utc(now)
    result: list[Claim] = []

    def decide(record: MailboxRecord) -> dict[str, Any] | None:
        current = parse_claim(record.exchangesyncstatexml)
        if current is None:
            raise ClaimReleased(
                "No synchronizing computer is claimed",
                user_text="This computer is no longer the synchronizing computer (the claim was released).",
            )
        if current.instance_id != instance_id:
            raise ClaimHeldElsewhere(current, lost=True)
        new = Claim(current.instance_id, current.hostname, current.claimed_at, moment)
        result[:] = [new]
        return {"exchangesyncstatexml": replace_claim(record.exchangesyncstatexml, new)}

    update_own_mailbox(client, decide, written=written)
    return result[0]


def renew_heartbeat(
    client: DataverseClient, instance_id: str, last: MailboxRecord | None, *, now: dt.datetime | None = None
) -> MailboxRecord | None:
    """Renew our heartbeat with ONE request while nobody else wrote the row: a PATCH with ``If-Match`` on the
    ETag our previous heartbeat left (``last``, the row as it wrote it). When the row changed since (412:
    another computer claimed, or anything else) or there is no ``last``, the full :func:`heartbeat` reads
    it and decides (ClaimHeldElsewhere / ClaimReleased when it is no longer ours). Returns the row as
    written, for the next renewal (None when the service sent no representation)."""
    moment = _utc(now)
    mine = parse_claim(last.exchangesyncstatexml) if last is not None else None
    if last is not None and last.etag and mine is not None and mine.instance_id == instance_id:
        state_xml = replace_claim(last.exchangesyncstatexml, replace(mine, heartbeat=moment))
        try:
            row = client.update(
                MailboxRecord.SET,
                last.id,
                {"exchangesyncstatexml": state_xml},
                etag=last.etag,
                return_representation=True,
            )
        except PreconditionFailedError:
            log.info("mailbox record changed since our last heartbeat; reading it again")
        else:
            if row:
                return MailboxRecord.from_row(row)
    rows: list[MailboxRecord] = []
    heartbeat(client, instance_id, now=moment, written=rows.append)
    return rows[0] if rows else None  # no representation sent: the next renewal reads the row first


def release(client: DataverseClient, instance_id: str) -> bool:
    """Give up the claim if this instance holds it. Returns whether a claim was removed."""
    removed: list[bool] = [False]

    def decide(record: MailboxRecord) -> dict[str, Any] | None:
        current = parse_claim(record.exchangesyncstatexml)
        if current is None or current.instance_id != instance_id:
            removed[0] = False
            return None
        removed[0] = True
        return {"exchangesyncstatexml": replace_claim(record.exchangesyncstatexml, None)}

    update_own_mailbox(client, decide)
    return removed[0]
