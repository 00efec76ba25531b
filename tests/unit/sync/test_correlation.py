"""Correlation order (reference B.13) and the parsers behind it: tracking tokens, Message-IDs, ConversationIndex."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wizard.mailbox.base import MailItem
from wizard.sync.correlation import (
    CorrelationMethod,
    EmailRef,
    conversation_root,
    correlate,
    find_tracking_token,
    normalize_message_id,
    reply_message_ids,
    root_search_prefix,
    token_variants,
)

ROOT = bytes(range(1, 23))  # 22 bytes: the conversation


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class FakeLookup:
    by_id: dict[str, EmailRef] = field(default_factory=dict)
    by_token: dict[str, EmailRef] = field(default_factory=dict)
    in_conversation: list[EmailRef] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def by_message_ids(self, message_ids: Sequence[str]) -> list[EmailRef]:
        self.calls.append("in_reply_to")
        return [self.by_id[m] for m in message_ids if m in self.by_id]

    def by_tracking_token(self, token: str) -> list[EmailRef]:
        self.calls.append("token")
        return [self.by_token[v] for v in token_variants(token) if v in self.by_token]

    def by_conversation_root(self, root: bytes) -> list[EmailRef]:
        self.calls.append("conversation")
        prefix = root_search_prefix(root)
        return [r for r in self.in_conversation if (r.conversationindex or "").startswith(prefix)]


def mail(**kwargs: object) -> MailItem:
    kwargs.setdefault("id", "item-1")
    kwargs.setdefault("message_id", "<new@example.com>")
    return MailItem(**kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ tokens


@pytest.mark.parametrize(
    ("subject", "prefix", "token"),
    [
        ("RE: Angebot CRM:0001007", "CRM", "CRM:0001007"),
        ("RE: Angebot CRM:0001007", "CRM:", "CRM:0001007"),  # the org stores the prefix with its colon
        ("AW: Angebot crm:0001007 ", "CRM", "CRM:0001007"),
        ("Angebot CRM0001007", "CRM", "CRM:0001007"),
        ("RE: RE: CRM:0001001 CRM:0001002", "CRM", "CRM:0001002"),  # the latest token wins
        ("Ticket ABC:12345", "ABC", "ABC:12345"),
        ("Ticket CRM:12345", "ABC", None),  # another prefix is not ours
        ("MYCRM:0001007", "CRM", None),  # inside a word
        ("CRM:12", "CRM", None),  # too short to be a token
        ("Budget 2027", "CRM", None),
        ("", "CRM", None),
    ],
)
def test_tracking_token_parser(subject: str, prefix: str, token: str | None) -> None:
    assert find_tracking_token(subject, prefix) == token


@given(
    prefix=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=20),
    digits=st.text(alphabet="0123456789", min_size=3, max_size=20),
    before=st.sampled_from(["", "RE: ", "AW: Angebot ", "Fwd: x - "]),
)
def test_tracking_token_round_trip(prefix: str, digits: str, before: str) -> None:
    assert find_tracking_token(f"{before}{prefix}:{digits}", prefix) == f"{prefix}:{digits}"
    assert token_variants(f"{prefix}:{digits}") == [f"{prefix}:{digits}", f"{prefix}{digits}"]


# ------------------------------------------------------------------------------ ids and indexes


def test_message_ids_are_normalized() -> None:
    assert normalize_message_id("  <a@b>  ") == "<a@b>"
    assert normalize_message_id("a@b") == "<a@b>"
    assert normalize_message_id("garbage") is None
    assert normalize_message_id(None) is None


def test_reply_ids_in_reply_to_first_then_references_newest_first() -> None:
    item = mail(
        message_id="<me@x>",
        in_reply_to="<parent@x>",
        references=["<root@x> <middle@x>", "<parent@x>", "<me@x>"],
    )
    assert reply_message_ids(item) == ["<parent@x>", "<middle@x>", "<root@x>"]


def test_conversation_root_is_the_first_22_bytes() -> None:
    assert conversation_root(b64(ROOT)) == ROOT
    assert conversation_root(b64(ROOT + b"\x01\x02\x03\x04\x05")) == ROOT
    assert conversation_root(b64(ROOT[:21])) is None
    assert conversation_root("not base64 !!") is None
    assert conversation_root(None) is None
    assert b64(ROOT + b"\xff" * 5).startswith(root_search_prefix(ROOT))


# ------------------------------------------------------------------------------------------ order


def _all_three() -> tuple[MailItem, FakeLookup, EmailRef, EmailRef, EmailRef]:
    by_reply = EmailRef("a-reply", messageid="<parent@x>", regarding_id="acc", regarding_type="account")
    by_token = EmailRef("b-token", messageid="<other@x>", trackingtoken="CRM:0001007")
    by_thread = EmailRef("c-thread", messageid="<thread@x>", conversationindex=b64(ROOT))
    lookup = FakeLookup(
        by_id={"<parent@x>": by_reply},
        by_token={"CRM:0001007": by_token},
        in_conversation=[by_thread],
    )
    item = mail(
        subject="RE: Angebot CRM:0001007",
        in_reply_to="<parent@x>",
        conversation_index=b64(ROOT + b"\x00\x00\x00\x00\x01"),
    )
    return item, lookup, by_reply, by_token, by_thread


def test_in_reply_to_wins_over_token_and_conversation() -> None:
    item, lookup, by_reply, _, _ = _all_three()
    found = correlate(item, lookup)
    assert found is not None and found.email == by_reply
    assert found.method is CorrelationMethod.IN_REPLY_TO and found.sets_parent
    assert lookup.calls == ["in_reply_to"]  # nothing else asked once it matched


def test_token_is_second() -> None:
    item, lookup, _, by_token, _ = _all_three()
    lookup.by_id.clear()  # the parent was never tracked
    found = correlate(item, lookup)
    assert found is not None and found.email == by_token
    assert found.method is CorrelationMethod.TRACKING_TOKEN and not found.sets_parent
    assert found.method == 4  # type: ignore[comparison-overlap]  # mypy compares the member name, not its value (python/mypy#19576)


def test_conversation_index_is_third_and_prefers_the_nearest_ancestor() -> None:
    item, lookup, _, _, by_thread = _all_three()
    lookup.by_id.clear()
    lookup.by_token.clear()
    sibling = EmailRef("d-sibling", conversationindex=b64(ROOT + b"\x00\x00\x00\x00\x02"), createdon="2027")
    lookup.in_conversation.append(sibling)
    found = correlate(item, lookup)
    assert found is not None and found.email == by_thread
    assert found.method is CorrelationMethod.CONVERSATION_INDEX and found.sets_parent
    assert found.method == 5  # type: ignore[comparison-overlap]  # mypy compares the member name, not its value (python/mypy#19576)
    assert lookup.calls == ["in_reply_to", "token", "conversation"]


def test_nothing_matches_and_own_copy_is_not_a_match() -> None:
    item, lookup, _, _, _ = _all_three()
    lookup.by_id.clear()
    lookup.by_token.clear()
    lookup.in_conversation = [EmailRef("self", messageid=item.message_id, conversationindex=b64(ROOT))]
    assert correlate(item, lookup) is None
    assert correlate(mail(subject="Hallo"), FakeLookup()) is None


def test_methods_can_be_switched_off() -> None:
    item, lookup, _, _, by_thread = _all_three()
    found = correlate(item, lookup, use_in_reply_to=False, use_tracking_token=False)
    assert found is not None and found.email == by_thread


def test_custom_prefix_is_used() -> None:
    token_ref = EmailRef("t", trackingtoken="ABC:4711")
    lookup = FakeLookup(by_token={"ABC:4711": token_ref})
    assert correlate(mail(subject="RE: ABC:4711"), lookup, tracking_prefix="ABC") is not None
    assert correlate(mail(subject="RE: ABC:4711"), lookup, tracking_prefix="CRM") is None
