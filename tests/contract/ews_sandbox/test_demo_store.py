"""Demo mailboxes, persistence in data_dir, direct store access and concurrent clients."""

from __future__ import annotations

import threading

from exchangelib import Contact

from tests.contract.ews_sandbox.conftest import ANNA, JOERG
from wizard.sandbox.ews import EwsStandIn
from wizard.sandbox.ews.demo import TRACKED_CATEGORY, add_item, build_message
from wizard.sandbox.ews.store import utcnow


def _snapshot(standin: EwsStandIn) -> list[tuple[str, str | None, str | None, str | None]]:
    return [
        (i.id, i.text("Subject"), i.text("InternetMessageId"), i.text("DateTimeReceived"))
        for i in standin.store.list_items(ANNA, "inbox")
    ]


def test_demo_mailboxes_are_rich_and_deterministic(directory, sandbox_tls) -> None:
    with (
        EwsStandIn(directory, tls=sandbox_tls, demo_data=True) as first,
        EwsStandIn(directory, tls=sandbox_tls, demo_data=True) as second,
    ):
        assert _snapshot(first) == _snapshot(second)
        inbox = first.store.list_items(ANNA, "inbox")
        assert len(inbox) == 30
        assert [i.text("Subject") for i in inbox if TRACKED_CATEGORY in i.categories()] == [
            "Pilot rollout feedback"
        ]
        ids = {i.text("InternetMessageId") for i in inbox}
        replies = [i for i in inbox if i.text("InReplyTo")]
        assert len(replies) == 6
        assert all(r.text("InReplyTo") in ids and r.text("References") for r in replies)
        subjects = " ".join(i.text("Subject") or "" for i in inbox)
        assert "Rückfrage" in subjects and "Quarterly" in subjects
        assert len(first.store.list_items(ANNA, "contacts")) == 5
        calendar = first.store.list_items(ANNA, "calendar")
        assert [i.text("CalendarItemType") for i in calendar].count("RecurringMaster") == 1
        assert len(first.store.list_items(ANNA, "tasks")) == 3
        assert first.store.list_items(JOERG, "contacts")


def test_demo_mail_reads_through_exchangelib(directory, sandbox_tls) -> None:
    from exchangelib import BASIC, DELEGATE, Account, Build, Configuration, Credentials, FailFast, Version

    with EwsStandIn(directory, tls=sandbox_tls, demo_data=True) as standin:
        config = Configuration(
            service_endpoint=standin.url,
            credentials=Credentials(ANNA, "Sandbox-Anna-2026"),
            auth_type=BASIC,
            version=Version(Build(15, 2, 2562, 17)),
            retry_policy=FailFast(),
        )
        account = Account(ANNA, config=config, autodiscover=False, access_type=DELEGATE)
        tracked = list(account.inbox.filter(categories__contains=[TRACKED_CATEGORY]))
        assert [m.subject for m in tracked] == ["Pilot rollout feedback"]
        assert tracked[0].sender.email_address == "emily.chen@northwindtraders.com"
        newest = account.inbox.all().order_by("-datetime_received")[0]
        assert newest.in_reply_to and newest.subject.startswith("RE: ")
        assert account.inbox.filter(is_read=False).count() == 22
        account.protocol.close()


def test_data_dir_persists_items(directory, sandbox_tls, tmp_path) -> None:
    data = tmp_path / "persist"
    standin = EwsStandIn(directory, tls=sandbox_tls, data_dir=data).start()
    when = utcnow()
    add_item(
        standin,
        ANNA,
        "inbox",
        build_message(
            subject="bleibt",
            body="x",
            sender=("X", "x@example.com"),
            to=[("Anna", ANNA)],
            received=when,
            message_id="<persist@example.com>",
        ),
        when,
    )
    item_id = standin.store.list_items(ANNA, "inbox")[0].id
    standin.stop()
    again = EwsStandIn(directory, tls=sandbox_tls, data_dir=data).start()
    try:
        stored = again.store.get(item_id)
        assert stored is not None and stored.text("Subject") == "bleibt"
        assert len(again.store.list_items(ANNA, "inbox")) == 1  # no second set of folders
    finally:
        again.stop()


def test_concurrent_clients(standin, account_for) -> None:
    accounts = [account_for(ANNA) for _ in range(4)]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            account = accounts[n]
            for k in range(10):
                Contact(
                    account=account, folder=account.contacts, given_name=f"T{n}-{k}", display_name="x"
                ).save()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(standin.store.list_items(ANNA, "contacts")) == 40
    assert len({i.id for i in standin.store.list_items(ANNA, "contacts")}) == 40
