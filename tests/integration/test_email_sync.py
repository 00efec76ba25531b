"""Email tracking and sending against the stand-ins: EWS mailbox of Anna + the "contososales" environment.

Each test gets a fresh sandbox (demo data: Anna's Inbox has 30 mails, 6 of them replies, one categorised
"Tracked to Dynamics 365"), an ``EwsStore``, a ``DataverseClient`` signed in as Anna and a state DB.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from wizard.crm import emails as crm_emails
from wizard.crm.auth import StaticTokenProvider
from wizard.crm.client import DataverseClient
from wizard.errors import Severity
from wizard.mailbox.base import (
    Capabilities,
    FolderKind,
    LinkState,
    MailboxError,
    MailItem,
    NamedProps,
    OutgoingMessage,
    ServerUnreachable,
)
from wizard.mailbox.ews import EwsAuth, EwsSettings, EwsStore
from wizard.odata.session import ODataSession
from wizard.sandbox import Sandbox
from wizard.sandbox.ews._soap import el, t
from wizard.sandbox.ews.demo import build_message
from wizard.sandbox.ews.ops import apply_mime, refresh_computed
from wizard.settings.enums import Kind
from wizard.settings.profile import MailboxBinding, OrgProfile, Profile
from wizard.sync import cursors
from wizard.sync.email import EmailSync
from wizard.sync.email.track import Tracker
from wizard.sync.engine import KindResult, NullReporter, RunContext
from wizard.sync.run import RunOptions
from wizard.sync.state import StateDB

ANNA = "anna.schmidt@contoso.com"
NANCY = "nanderson@contoso.com"
JOERG = "joerg.baer@contoso.com"
THOMAS = "thomas.mueller@fabrikam.de"
EMILY = "emily.chen@northwindtraders.com"
SARAH = "sarah.johnson@adventure-works.com"
PILOT_ID = "<demo-003.202611021721@northwindtraders.com>"  # the one tracked by category
PILOT_REPLY_ID = "<demo-reply-002.202611051818@northwindtraders.com>"
OFFER_ID = "<demo-000.202611020730@fabrikam.de>"
OFFER_REPLY_ID = "<demo-reply-000.202611051418@fabrikam.de>"


@dataclass
class World:
    sandbox: Sandbox
    crm: DataverseClient
    store: EwsStore
    state_path: Path
    user_id: str
    org: OrgProfile
    profile: Profile
    state: StateDB = field(init=False)
    sync: EmailSync = field(default_factory=EmailSync)

    def __post_init__(self) -> None:
        self.state = StateDB.open(self.state_path)
        self.baseline = {r["activityid"] for r in self.my_emails()}  # the demo data's own emails

    @property
    def env(self) -> Any:
        return self.sandbox.environment("contososales")

    def run(self, *, dry_run: bool = False, mailbox: Any = None) -> tuple[KindResult, RunContext]:
        ctx = RunContext(
            crm=self.crm,
            mailbox=mailbox or self.store,
            state=self.state,
            options=RunOptions.from_profile(self.profile),
            org=self.org,
            user_id=self.user_id,
            reporter=NullReporter(),
            run_id=self.state.start_run(),
            now=dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC),
        )
        return self.sync.run(ctx, dry_run=dry_run, force=False), ctx

    def lose_state(self) -> None:
        self.state.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.state_path) + suffix).unlink(missing_ok=True)
        self.state = StateDB.open(self.state_path)

    def set_filter(self, method: int) -> None:
        self.crm.update(
            "usersettingscollection", self.user_id, {"incomingemailfilteringmethod": method}, etag="*"
        )

    def my_emails(self) -> list[dict[str, Any]]:
        flt = f"_ownerid_value eq {self.user_id}"
        return list(
            self.crm.session.iter_rows(
                "emails",
                params=[
                    ("$filter", flt),
                    (
                        "$expand",
                        "email_activity_parties($select=participationtypemask,addressused,_partyid_value)",
                    ),
                ],
                prefer=['odata.include-annotations="*"'],
            )
        )

    def tracked(self) -> dict[str, dict[str, Any]]:
        """Anna's emails that this product tracked (they carry a messageid), by messageid."""
        return {
            r["messageid"]: r
            for r in self.my_emails()
            if r.get("messageid") and r["activityid"] not in self.baseline
        }

    def mailbox_items(self, address: str, folder: str) -> list[Any]:
        return list(self.sandbox.ews.store.list_items(address, folder))

    def item_by_message_id(self, message_id: str, folder: str = "inbox", address: str = ANNA) -> Any:
        for item in self.mailbox_items(address, folder):
            if item.text("InternetMessageId") == message_id:
                return item
        raise AssertionError(f"{message_id} not in {address}/{folder}")

    def deliver(self, raw: bytes, address: str = ANNA) -> None:
        """Mail delivery through the stand-in's own MIME path, straight into the Inbox."""
        element = el(t("Message"))
        element.append(el(t("MimeContent"), base64.b64encode(raw).decode("ascii"), {"CharacterSet": "UTF-8"}))
        apply_mime(element)
        element.append(el(t("IsRead"), "false"))
        refresh_computed(element, "Message")
        inbox = self.sandbox.ews.store.folder(address, "inbox")
        assert inbox is not None
        self.sandbox.ews.store.insert(address, inbox.id, element)

    def add_message(self, **kwargs: Any) -> None:
        inbox = self.sandbox.ews.store.folder(ANNA, "inbox")
        assert inbox is not None
        kwargs.setdefault("to", [("Anna Schmidt", ANNA)])
        kwargs.setdefault("received", dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC))
        self.sandbox.ews.store.insert(ANNA, inbox.id, build_message(**kwargs))

    def new_contact(self, first: str, last: str, address: str) -> str:
        return self.crm.create(
            "contacts",
            {
                "firstname": first,
                "lastname": last,
                "emailaddress1": address,
                "ownerid@odata.bind": f"systemusers({self.user_id})",
            },
        )

    def pending_send(self, subject: str, parties: list[dict[str, Any]], **extra: Any) -> str:
        return self.crm.create(
            "emails",
            {
                "subject": subject,
                "description": "<p>Hallo, anbei die Unterlagen.</p>",
                "directioncode": True,
                "statecode": 1,
                "statuscode": 6,
                "ownerid@odata.bind": f"systemusers({self.user_id})",
                "email_activity_parties": [
                    {
                        "partyid_systemuser@odata.bind": f"systemusers({self.user_id})",
                        "participationtypemask": 1,
                    },
                    *parties,
                ],
                **extra,
            },
        )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with Sandbox(tmp_path / "sandbox") as sandbox:
        info = sandbox.port_info()
        anna = next(u for u in info["users"] if u["upn"] == ANNA)
        env = sandbox.environment("contososales")
        user = sandbox.directory.user(ANNA)
        assert user is not None
        token = sandbox.signer.issue(
            oid=user.oid, upn=user.upn, tenant_id=sandbox.directory.tenant_id, audience=env.url
        )
        session = ODataSession(
            env.url + "/api/data/v9.2/", auth=StaticTokenProvider(token), verify=str(sandbox.ca_file)
        )
        crm = DataverseClient(session)
        settings = EwsSettings(
            address=ANNA,
            ews_url=info["ews_url"],
            auth=EwsAuth.BASIC,
            ca_file=info["ca_file"],
            server_build=(15, 2, 2562, 17),
            max_wait=2.0,
            retry_wait=0.05,
        )
        store = EwsStore(settings, password=anna["ews_password"])
        who = crm.whoami()
        org = OrgProfile(
            id=who.organization_id,
            display_name="Contoso Sales",
            web_url=env.url,
            api_url=env.url,
            unique_name="contososales",
            user_id=who.user_id,
        )
        profile = Profile(
            organizations=[org],
            sync_org_id=org.id,
            mailbox=MailboxBinding(address=ANNA, kind="exchange", org_id=org.id),
        )
        w = World(sandbox, crm, store, tmp_path / "state.db", who.user_id, org, profile)
        try:
            yield w
        finally:
            w.state.close()
            store.close()


def _inbox_senders(world: World) -> dict[str, str]:
    """Message-ID -> sender address of every mail in Anna's Inbox."""
    out = {}
    for item in world.mailbox_items(ANNA, "inbox"):
        sender = item.element.find(t("From"))
        address = sender.find(f"{t('Mailbox')}/{t('EmailAddress')}").text if sender is not None else ""
        out[item.text("InternetMessageId")] = address
    return out


# ------------------------------------------------------------------------------ filtering methods


def test_method_0_tracks_every_inbox_mail_with_parties_and_stamps(world: World) -> None:
    world.set_filter(0)
    result, _ = world.run()
    assert result.status == "ok", result.message
    assert result.to_crm.created == 30
    tracked = world.tracked()
    assert set(tracked) == set(_inbox_senders(world))
    offer = tracked[OFFER_ID]
    assert offer["directioncode"] is False
    assert (offer["statecode"], offer["statuscode"]) == (1, 4)
    assert offer["sender"] == THOMAS and offer["torecipients"] == ANNA
    assert offer["senton"].startswith("2026-11-02T07:28") and offer["actualend"].startswith(
        "2026-11-02T07:30"
    )
    assert offer["conversationindex"]
    assert "Wartungsverträge" in offer["description"] and "<br>" in offer["description"]
    parties = {(p["participationtypemask"], p["addressused"]): p for p in offer["email_activity_parties"]}
    assert set(parties) == {(1, THOMAS), (2, ANNA)}
    assert parties[(1, THOMAS)].get("_partyid_value") is None  # nobody has that address: unresolved
    assert parties[(2, ANNA)]["_partyid_value"] == world.user_id  # the systemuser
    # the reply in the same run was correlated with the email tracked just before it
    reply = tracked[OFFER_REPLY_ID]
    assert reply["correlationmethod"] == 3 and reply["_parentactivityid_value"] == offer["activityid"]
    # stamped like the original: crmid, crmlinkstate 2, crmorgid
    stored = world.item_by_message_id(OFFER_ID)
    assert stored.extended("crmid") == offer["activityid"]
    assert stored.extended("crmlinkstate") == "2"
    assert stored.extended("crmorgid") == world.org.id


def test_method_4_tracks_only_by_hand(world: World) -> None:
    world.set_filter(4)
    result, _ = world.run()
    assert result.status == "ok", result.message
    assert list(world.tracked()) == [PILOT_ID]
    assert world.tracked()[PILOT_ID]["correlationmethod"] == 0
    assert world.item_by_message_id(OFFER_ID).extended("crmid") is None


def test_method_1_tracks_replies_and_copies_regarding(world: World) -> None:
    world.set_filter(1)
    account = world.crm.create("accounts", {"name": "Fabrikam GmbH", "emailaddress1": "info@fabrikam.de"})
    # the offer was tracked before (e.g. by the App for Outlook), regarding the account
    original = world.crm.create(
        "emails",
        {
            "subject": "Angebot für die Wartungsverträge 2027",
            "messageid": OFFER_ID,
            "directioncode": False,
            "regardingobjectid_account_email@odata.bind": f"accounts({account})",
            "ownerid@odata.bind": f"systemusers({world.user_id})",
        },
    )
    result, _ = world.run()
    assert result.status == "ok", result.message
    tracked = world.tracked()
    # the manual one, the reply to it (same run) and the reply to the earlier tracked offer; the offer
    # itself was already in Dynamics 365: linked, not created again
    assert set(tracked) == {PILOT_ID, PILOT_REPLY_ID, OFFER_REPLY_ID, OFFER_ID}
    assert result.to_crm.created == 3
    reply = tracked[OFFER_REPLY_ID]
    assert reply["correlationmethod"] == 3
    assert reply["_parentactivityid_value"] == original
    assert reply["_regardingobjectid_value"] == account
    assert world.item_by_message_id(OFFER_ID).extended("crmid") == original
    stored_reply = world.item_by_message_id(OFFER_REPLY_ID)
    assert stored_reply.extended("crmregardingobjectid") == account
    assert stored_reply.extended("crmregardingobjecttypecode") == "1"
    assert tracked[PILOT_REPLY_ID]["_parentactivityid_value"] == tracked[PILOT_ID]["activityid"]


def test_method_1_tracking_token_and_conversation_index(world: World) -> None:
    world.set_filter(1)
    contact = world.new_contact("Lukas", "Weber", "lukas.weber@litware.de")
    world.crm.create(
        "emails",
        {
            "subject": "Angebot Litware",
            "trackingtoken": "CRM:0001007",
            "messageid": "<sent-from-crm@contoso.com>",
            "regardingobjectid_contact_email@odata.bind": f"contacts({contact})",
            "ownerid@odata.bind": f"systemusers({world.user_id})",
        },
    )
    world.add_message(
        subject="AW: Angebot Litware CRM:0001007",
        body="Passt.",
        sender=("Lukas Weber", "lukas.weber@litware.de"),
        message_id="<token-reply@litware.de>",
    )
    # a thread member whose parent is tracked, but whose In-Reply-To was dropped: ConversationIndex
    pilot = world.item_by_message_id(PILOT_ID)
    pilot_index = pilot.text("ConversationIndex")
    raw = EmailMessage()
    raw["From"] = "Emily Chen <emily.chen@northwindtraders.com>"
    raw["To"] = ANNA
    raw["Subject"] = "Pilot: one more thing"
    raw["Message-ID"] = "<thread-only@northwindtraders.com>"
    raw["Date"] = "Fri, 20 Nov 2026 10:00:00 +0000"
    index = base64.b64decode(pilot_index) + b"\x00\x00\x10\x00\x01"
    raw["Thread-Index"] = base64.b64encode(index).decode("ascii")
    raw.set_content("Noch eine Frage.")
    world.deliver(bytes(raw))
    result, _ = world.run()
    assert result.status == "ok", result.message
    tracked = world.tracked()
    token_reply = tracked["<token-reply@litware.de>"]
    assert token_reply["correlationmethod"] == 4
    assert token_reply["_regardingobjectid_value"] == contact
    assert token_reply.get("_parentactivityid_value") is None  # only for InReplyTo / ConversationIndex
    thread = tracked["<thread-only@northwindtraders.com>"]
    assert thread["correlationmethod"] == 5
    assert thread["_parentactivityid_value"] == tracked[PILOT_ID]["activityid"]


def test_method_2_from_leads_contacts_accounts_and_3_from_any_email_enabled(world: World) -> None:
    senders = _inbox_senders(world)
    world.new_contact("Thomas", "Müller", THOMAS)
    world.crm.create("leads", {"firstname": "Emily", "lastname": "Chen", "emailaddress1": EMILY})
    world.set_filter(2)
    result, _ = world.run()
    assert result.status == "ok", result.message
    expected = {m for m, s in senders.items() if s in (THOMAS, EMILY)} | {PILOT_ID}
    assert set(world.tracked()) == expected
    thomas_mail = world.tracked()[OFFER_ID]
    (sender_party,) = [p for p in thomas_mail["email_activity_parties"] if p["participationtypemask"] == 1]
    assert sender_party["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"

    world.set_filter(3)  # now also Jörg, a systemuser; Sarah and the others stay out
    result, _ = world.run()  # mail already looked at is not looked at again (as server-side sync)
    assert result.to_crm.created == 0
    world.lose_state()  # a fresh start evaluates the whole Inbox under the new option
    result, _ = world.run()
    assert result.status == "ok", result.message
    expected |= {m for m, s in senders.items() if s == JOERG}
    assert set(world.tracked()) == expected
    assert not any(s in (SARAH,) for m, s in senders.items() if m in world.tracked())


# ------------------------------------------------------------------------------ dedupe and limits


def test_nothing_is_tracked_twice_even_without_state_db_or_stamps(world: World) -> None:
    world.set_filter(0)
    first, _ = world.run()
    assert first.to_crm.created == 30
    again, _ = world.run()
    assert again.to_crm.created == 0 and again.status == "ok"
    world.lose_state()
    relinked, _ = world.run()
    assert relinked.to_crm.created == 0
    assert world.state.count_links(Kind.EMAIL) == 30
    # no stamps and no state DB (as with POP3): the messageid check still finds them
    ids = [i.id for i in world.mailbox_items(ANNA, "inbox")]
    world.store.set_named_props(FolderKind.INBOX, [(i, NamedProps()) for i in ids])
    world.lose_state()
    last, _ = world.run()
    assert last.to_crm.created == 0
    assert len(world.tracked()) == 30
    assert world.item_by_message_id(OFFER_ID).extended("crmid") == world.tracked()[OFFER_ID]["activityid"]


def test_an_untracked_mail_is_not_tracked_again(world: World) -> None:
    world.set_filter(0)
    world.run()
    item = world.item_by_message_id(OFFER_ID)
    activity_id = item.extended("crmid")
    # the user stops tracking it: crmlinkstate 0, crmid gone (the Dynamics 365 email stays: B.9)
    world.store.set_named_props(FolderKind.INBOX, [(item.id, NamedProps(crmlinkstate=LinkState.NOT_TRACKED))])
    world.lose_state()
    result, _ = world.run()
    assert result.to_crm.created == 0
    assert world.item_by_message_id(OFFER_ID).extended("crmlinkstate") == "0"
    assert world.item_by_message_id(OFFER_ID).extended("crmid") is None
    assert world.state.link_by_crm(Kind.EMAIL, activity_id) is None
    assert world.crm.get("emails", activity_id, select=["statuscode"])["statuscode"] == 4


def test_oversized_attachment_is_skipped_with_a_notification(world: World) -> None:
    world.set_filter(4)
    world.env.store.update("organizations", world.org.id, {"maxuploadfilesize": 4000})
    raw = EmailMessage()
    raw["From"] = "Thomas Müller <thomas.mueller@fabrikam.de>"
    raw["To"] = ANNA
    raw["Subject"] = "Unterlagen"
    raw["Message-ID"] = "<files@fabrikam.de>"
    raw["Date"] = "Fri, 20 Nov 2026 10:00:00 +0000"
    raw.set_content("Anbei.")
    raw.add_attachment(b"small" * 100, maintype="application", subtype="pdf", filename="klein.pdf")
    raw.add_attachment(b"x" * 9000, maintype="application", subtype="pdf", filename="gross.pdf")
    world.deliver(bytes(raw))
    item = world.item_by_message_id("<files@fabrikam.de>")
    world.store.set_named_props(FolderKind.INBOX, [(item.id, NamedProps(crmlinkstate=LinkState.PENDING))])
    result, _ = world.run()
    assert result.status == "ok", result.message
    email = world.tracked()["<files@fabrikam.de>"]
    assert email["notifications"] == 1
    files = list(
        world.crm.query(
            "activitymimeattachments",
            select=["filename", "filesize", "mimetype"],
            filter=f"_objectid_value eq {email['activityid']}",
        )
    )
    assert [(f["filename"], f["filesize"], f["mimetype"]) for f in files] == [
        ("klein.pdf", 500, "application/pdf")
    ]


def test_dry_run_plans_and_changes_nothing(world: World) -> None:
    world.set_filter(1)
    world.pending_send("Entwurf", [{"addressused": NANCY, "participationtypemask": 2}])
    result, ctx = world.run(dry_run=True)
    assert world.tracked() == {}
    assert any("Pilot rollout feedback" in line for line in ctx.planned)
    assert any("send 'Entwurf'" in line for line in ctx.planned)
    # the counts are what the run would do, as the plan says (the CLI's "email:" line; issue 12 item 13)
    assert result.to_crm.created == sum(line.startswith("email: track") for line in ctx.planned) > 0
    assert result.to_mailbox.created == sum(line.startswith("email: send") for line in ctx.planned) == 1
    assert world.state.cursor(Kind.EMAIL, "mailbox") is None
    assert world.mailbox_items(NANCY, "inbox") == []


# ------------------------------------------------------------------------------------------ sending


def test_pending_send_is_sent_marked_sent_and_delivered(world: World) -> None:
    world.set_filter(4)
    contact = world.new_contact("Nancy", "Anderson", NANCY)
    question = world.crm.create(
        "emails",
        {"subject": "Frage", "messageid": "<question@contoso.com>", "directioncode": False},
    )
    email_id = world.pending_send(
        "Angebot 2027",
        [
            {"partyid_contact@odata.bind": f"contacts({contact})", "participationtypemask": 2},
            {"addressused": "lukas.weber@litware.de", "participationtypemask": 3},
        ],
        **{"parentactivityid@odata.bind": f"emails({question})"},
    )
    result, _ = world.run()
    assert result.status == "ok", result.message
    assert result.to_mailbox.created == 1
    row = world.crm.get("emails", email_id, select=["statecode", "statuscode", "messageid"])
    assert (row["statecode"], row["statuscode"]) == (1, 3)
    message_id = row["messageid"]
    assert message_id.startswith("<") and message_id.endswith("@contoso.com>")
    sent = world.item_by_message_id(message_id, "sentitems")
    assert sent.text("Subject") == "Angebot 2027"
    delivered = world.item_by_message_id(message_id, "inbox", NANCY)
    assert delivered.text("Subject") == "Angebot 2027"
    assert delivered.text("InReplyTo") == "<question@contoso.com>"  # answers the email it came from
    mime = base64.b64decode(delivered.text("MimeContent") or "")
    assert b"<p>Hallo, anbei die Unterlagen.</p>" in mime and b"lukas.weber@litware.de" in mime
    # the Sent Items copy is linked to the email it came from, not tracked a second time
    assert world.state.link_by_crm(Kind.EMAIL, email_id) is not None
    assert sent.extended("crmid") == email_id
    again, _ = world.run()
    assert again.to_mailbox.created == 0 and again.to_crm.created == 0
    assert (
        len([i for i in world.mailbox_items(NANCY, "inbox") if i.text("InternetMessageId") == message_id])
        == 1
    )


def test_reply_from_sent_items_is_tracked_outgoing(world: World) -> None:
    world.set_filter(4)
    world.run()  # tracks the Pilot mail (category)
    world.store.send(
        OutgoingMessage(
            sender=("Anna Schmidt", ANNA),
            to=[("Emily Chen", EMILY)],
            subject="AW: Pilot rollout feedback",
            body_text="Danke!",
            in_reply_to=PILOT_ID,
            references=[PILOT_ID],
            message_id="<anna-reply@contoso.com>",
        )
    )
    world.store.send(
        OutgoingMessage(
            sender=("Anna Schmidt", ANNA), to=[(JOERG, JOERG)], subject="Mittag?", body_text="12?"
        )
    )
    result, _ = world.run()
    assert result.status == "ok", result.message
    assert result.to_crm.created == 1
    reply = world.tracked()["<anna-reply@contoso.com>"]
    assert reply["directioncode"] is True and (reply["statecode"], reply["statuscode"]) == (1, 3)
    assert reply["correlationmethod"] == 3
    assert reply["_parentactivityid_value"] == world.tracked()[PILOT_ID]["activityid"]


class _RefusingMailbox:
    """The EWS store, except that the server refuses to send (an item-level refusal)."""

    def __init__(self, inner: EwsStore) -> None:
        self.inner = inner
        self.sends = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def send(self, message: OutgoingMessage) -> str:
        self.sends += 1
        raise MailboxError(
            "recipient rejected", user_text="The server refused a recipient.", severity=Severity.ITEM
        )


def test_send_failure_marks_failed(world: World) -> None:
    world.set_filter(4)
    refused = world.pending_send("Abgelehnt", [{"addressused": NANCY, "participationtypemask": 2}])
    nobody = world.pending_send("Ohne Empfänger", [])
    mailbox = _RefusingMailbox(world.store)
    result, ctx = world.run(mailbox=mailbox)
    assert mailbox.sends == 1
    assert result.to_mailbox.errors == 2 and result.to_mailbox.created == 0
    for email_id in (refused, nobody):
        row = world.crm.get("emails", email_id, select=["statecode", "statuscode"])
        assert (row["statecode"], row["statuscode"]) == (0, 8)
    assert ctx.run_id is not None
    messages = [e.message for e in world.state.errors(ctx.run_id)]
    assert any("refused a recipient" in m for m in messages)
    assert any("no recipient" in m for m in messages)
    assert cursors.in_flight(world.state) == {}


class _NoSentCopy(_RefusingMailbox):
    """A backend that sends but keeps no copy in Sent Items (POP3 + SMTP)."""

    @property
    def capabilities(self) -> Capabilities:
        return replace(self.inner.capabilities, sent_items_copy=False)

    def send(self, message: OutgoingMessage) -> str:
        self.sends += 1
        return self.inner.send(message)


def _crash_after_send(world: World, monkeypatch: pytest.MonkeyPatch, mailbox: Any = None) -> str:
    email_id = world.pending_send("Einmalig", [{"addressused": NANCY, "participationtypemask": 2}])

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut")

    with monkeypatch.context() as patched:
        patched.setattr(crm_emails, "mark_sent", crash)
        with pytest.raises(RuntimeError):
            world.run(mailbox=mailbox)
    assert world.crm.get("emails", email_id, select=["statuscode"])["statuscode"] == 6
    assert len([i for i in world.mailbox_items(NANCY, "inbox") if i.text("Subject") == "Einmalig"]) == 1
    return email_id


def test_never_sent_twice_after_a_crash_between_send_and_update(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.set_filter(4)
    email_id = _crash_after_send(world, monkeypatch)
    ((in_flight, message_id),) = cursors.in_flight(world.state).items()
    assert in_flight == email_id
    # the engine's generic journal recovery runs first at start-up; it must not make the send look undone
    world.state.recover_creates(lambda entry: None)
    result, _ = world.run()
    assert result.status == "ok", result.message
    assert result.to_mailbox.created == 1  # finished, not sent again
    row = world.crm.get("emails", email_id, select=["statecode", "statuscode", "messageid"])
    assert (row["statecode"], row["statuscode"]) == (1, 3)
    assert row["messageid"] == message_id
    copies = [i for i in world.mailbox_items(NANCY, "inbox") if i.text("Subject") == "Einmalig"]
    assert len(copies) == 1
    assert cursors.in_flight(world.state) == {}


def test_crash_without_a_sent_items_copy_fails_rather_than_resends(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.set_filter(4)
    mailbox = _NoSentCopy(world.store)
    email_id = _crash_after_send(world, monkeypatch, mailbox)
    result, ctx = world.run(mailbox=mailbox)
    assert mailbox.sends == 1
    row = world.crm.get("emails", email_id, select=["statecode", "statuscode"])
    assert (row["statecode"], row["statuscode"]) == (0, 8)
    assert result.to_mailbox.errors == 1
    assert ctx.run_id is not None
    assert any("may or may not have been sent" in e.message for e in world.state.errors(ctx.run_id))


def test_a_send_that_never_left_is_sent_on_the_next_run(world: World) -> None:
    world.set_filter(4)
    email_id = world.pending_send("Später", [{"addressused": NANCY, "participationtypemask": 2}])
    world.state.set_cursor(Kind.EMAIL, "crm", json.dumps({"outbox": {email_id: "<lost@contoso.com>"}}))
    result, _ = world.run()
    assert result.to_mailbox.created == 1
    row = world.crm.get("emails", email_id, select=["statuscode", "messageid"])
    assert row["statuscode"] == 3 and row["messageid"] != "<lost@contoso.com>"
    assert len([i for i in world.mailbox_items(NANCY, "inbox") if i.text("Subject") == "Später"]) == 1


def test_sending_off_leaves_pending_send_alone(world: World) -> None:
    world.set_filter(4)
    world.profile.sync.send_email = False
    email_id = world.pending_send("Nicht senden", [{"addressused": NANCY, "participationtypemask": 2}])
    result, _ = world.run()
    assert result.to_mailbox.created == 0
    assert world.crm.get("emails", email_id, select=["statuscode"])["statuscode"] == 6
    assert world.mailbox_items(NANCY, "inbox") == []


def test_mail_item_type_is_what_the_store_returns(world: World) -> None:
    """Guard for the wiring above: the EWS store hands out MailItems for the Inbox."""
    (batch, *_) = list(world.store.changes(FolderKind.INBOX, None))
    (first,) = world.store.get_many(FolderKind.INBOX, batch.created[:1])
    assert isinstance(first.value, MailItem)


class _UnreachableMailbox(_RefusingMailbox):
    """Sending works, reading the folders fails: the server went away mid-run."""

    def send(self, message: OutgoingMessage) -> str:
        self.sends += 1
        return self.inner.send(message)

    def changes(self, *args: Any, **kwargs: Any) -> Any:
        raise ServerUnreachable("connection refused", user_text="The Exchange server cannot be reached.")


def test_an_account_level_failure_stops_the_run_after_what_was_done(world: World) -> None:
    world.set_filter(0)
    email_id = world.pending_send("Vorher", [{"addressused": NANCY, "participationtypemask": 2}])
    mailbox = _UnreachableMailbox(world.store)
    with pytest.raises(ServerUnreachable):
        world.run(mailbox=mailbox)
    assert mailbox.sends == 1
    row = world.crm.get("emails", email_id, select=["statuscode", "messageid"])
    assert row["statuscode"] == 3
    assert set(world.tracked()) == {row["messageid"]}  # the sent one; nothing tracked from the Inbox


def test_the_engine_runs_email_as_one_of_its_kinds(world: World) -> None:
    from wizard.crm import records
    from wizard.sync.engine import Engine

    world.set_filter(1)
    records.claim(world.crm, world.profile.instance_id, "test-host")
    email_id = world.pending_send("Über die Engine", [{"addressused": NANCY, "participationtypemask": 2}])
    engine = Engine(
        crm=world.crm,
        mailbox=world.store,
        state=world.state,
        profile=world.profile,
        org=world.org,
        email=EmailSync(),
        kinds={},
    )
    summary = engine.run_once(["email"])
    (result,) = summary.kinds
    assert (summary.status, result.kind, result.status) == ("ok", "email", "ok"), result.message
    assert (result.to_crm.created, result.to_mailbox.created) == (2, 1)  # Pilot + its reply; one sent
    assert world.crm.get("emails", email_id, select=["statuscode"])["statuscode"] == 3
    (run,) = world.state.runs(1)
    assert run.counts[("email", "to_crm")].created == 2
    assert run.counts[("email", "to_mailbox")].created == 1


@pytest.mark.parametrize("engine_recovers_first", [False, True])
def test_crash_after_create_before_recording_never_duplicates(
    world: World, monkeypatch: pytest.MonkeyPatch, engine_recovers_first: bool
) -> None:
    world.set_filter(4)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut")

    with monkeypatch.context() as patched:
        patched.setattr(StateDB, "journal_done", crash)
        with pytest.raises(RuntimeError):
            world.run()
    (created,) = world.tracked().values()  # the row exists, nothing recorded it
    assert world.state.link_by_crm(Kind.EMAIL, created["activityid"]) is None
    (pending,) = world.state.pending_creates()
    assert pending.target_id == created["activityid"]
    if engine_recovers_first:  # the engine's generic recovery does not know emails: it gives up on it
        world.state.recover_creates(lambda entry: None)
    result, _ = world.run()
    assert result.status == "ok" and result.to_crm.created == 0
    assert list(world.tracked()) == [PILOT_ID]
    assert world.state.link_by_crm(Kind.EMAIL, created["activityid"]) is not None
    assert world.item_by_message_id(PILOT_ID).extended("crmid") == created["activityid"]


def _count_ews(world: World, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counts: dict[str, int] = {}
    operations = world.sandbox.ews.operations
    handle = operations.handle

    def counting(caller: Any, request: Any) -> Any:
        name = str(request.tag).rsplit("}", 1)[-1]
        counts[name] = counts.get(name, 0) + 1
        return handle(caller, request)

    monkeypatch.setattr(operations, "handle", counting)
    return counts


def test_a_listing_page_is_worked_in_pages_and_a_stop_within_it_repeats_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Inbox is listed many changes a request (512 by default) and worked 100 messages at a time (here 30
    and 10); the cursor passes a listing page only when all of it is done, so a run stopped in the middle lists
    it again and neither reads nor tracks again what it finished."""
    assert EmailSync().listing_size == 500  # whole pages of 100 within EWS's 512
    world.set_filter(0)
    world.sync = EmailSync(page_size=10, listing_size=30)
    counts = _count_ews(world, monkeypatch)
    real = Tracker._track_page
    calls = {"n": 0}

    def stopping(self: Tracker, *args: Any, **kwargs: Any) -> list[str]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ServerUnreachable("the network went away")
        return real(self, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(Tracker, "_track_page", stopping)
        with pytest.raises(ServerUnreachable):
            world.run()
    assert len(world.tracked()) == 10  # the first page of work, linked and stamped
    assert counts["SyncFolderItems"] == 1  # one listing request for the 30 messages
    counts.clear()
    result, _ = world.run()
    assert result.status == "ok" and result.to_crm.created == 20
    assert set(world.tracked()) == set(_inbox_senders(world))  # all 30, each once
    assert counts["GetItem"] == 2  # the 20 not done yet, 10 a request; the first 10 were not read again
    counts.clear()
    result, _ = world.run()
    assert result.to_crm.created == 0 and "GetItem" not in counts


# ------------------------------------------------------------------------------ messages without a Message-ID


def _no_message_id(body: str, subject: str = "Monthly digest") -> bytes:
    """A message without a Message-ID; every header equal whatever the body (a resent digest, a form letter)."""
    return (
        "From: Thomas Mueller <thomas.mueller@fabrikam.de>\r\n"
        f"To: Anna Schmidt <{ANNA}>\r\n"
        f"Subject: {subject}\r\n"
        "Date: Fri, 20 Nov 2026 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


def test_messages_with_identical_headers_and_no_message_id_are_tracked_as_two(world: World) -> None:
    """Issue 11 item 8: the synthetic id covers the whole message, so two bodies are two emails."""
    world.set_filter(0)
    world.deliver(_no_message_id("Issue 1: prices go up."))
    world.deliver(_no_message_id("Issue 2: prices go down."))
    result, _ = world.run()
    assert result.status == "ok", result.message
    assert result.to_crm.created == 32 and result.skipped == 0
    digests = [r for r in world.tracked().values() if r["subject"] == "Monthly digest"]
    assert len(digests) == 2
    assert {"prices go up" in r["description"] for r in digests} == {True, False}
    assert len({r["messageid"] for r in digests}) == 2


def test_a_second_copy_of_a_tracked_message_is_reported_skipped(world: World) -> None:
    """The same message twice in the mailbox is one Dynamics 365 email, and the run and status say so."""
    from wizard.crm import records
    from wizard.sync.engine import Engine
    from wizard.sync.status import status_lines, status_snapshot

    world.set_filter(0)
    records.claim(world.crm, world.profile.instance_id, "test-host")
    world.deliver(_no_message_id("The very same digest."))
    world.deliver(_no_message_id("The very same digest."))
    engine = Engine(
        crm=world.crm,
        mailbox=world.store,
        state=world.state,
        profile=world.profile,
        org=world.org,
        email=EmailSync(),
        kinds={},
    )
    summary = engine.run_once(["email"])
    (result,) = summary.kinds
    assert (result.status, result.to_crm.created, result.skipped) == ("ok", 31, 1), result.message
    snapshot = status_snapshot(world.state, world.profile, is_sync_computer=True, next_run=None)
    email = snapshot.kind("email")
    assert email.skipped == 1 and email.errors == [] and email.status == "ok"
    assert snapshot.to_json()["kinds"][0]["skipped"] == 1
    assert "  email: 1 skipped: already tracked" in status_lines(snapshot)
    again = engine.run_once(["email"])
    assert again.kinds[0].skipped == 0 and again.kinds[0].to_crm.created == 0  # said once, not every run


def test_a_changes_notice_is_reported_in_the_result_and_the_run_log(world: World) -> None:
    """A store that refused its stored cursor (Graph: a link to another server) says so with the first page;
    the email kind reports it instead of re-reading silently."""
    notice = "The saved position for inbox in Exchange Online led to another server; it was not followed."

    class Noticing:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def changes(self, kind: FolderKind, cursor: str | None, page_size: int = 100) -> Iterator[Any]:
            for n, batch in enumerate(self.inner.changes(kind, cursor, page_size)):
                yield replace(batch, notice=notice if n == 0 and kind is FolderKind.INBOX else "")

    world.set_filter(4)
    result, ctx = world.run(mailbox=Noticing(world.store))
    assert result.status == "ok" and result.message == notice
    assert ctx.run_id is not None
    assert [(e.severity, e.message) for e in world.state.errors(ctx.run_id)] == [(Severity.ITEM, notice)]
