"""The wizard's Offline page: the offline filters with on/off and a preview count per table (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree as SafeET
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTreeWidgetItem

from tests.gui.helpers import TIMEOUT
from tests.support.profiles import signed_in_profile
from wizard.app import offline
from wizard.app.factory import Factory
from wizard.app.offline_preview import count_fetchxml
from wizard.paths import locations
from wizard.sandbox import Sandbox
from wizard.ui.controller import WizardController
from wizard.ui.pages.offline import OfflinePage


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False) as box:
        yield box


@pytest.fixture
def signed_in(sandbox: Sandbox, isolated_home: Path) -> Factory:
    factory = signed_in_profile(sandbox)
    client = factory.dataverse(factory.require_sync_org())
    for name in ("Anna", "Jörg", "Nina"):
        client.create("contacts", {"lastname": name})
    return factory


@pytest.fixture
def page(qtbot: Any, signed_in: Factory) -> Iterator[OfflinePage]:
    controller = WizardController(signed_in)
    made = OfflinePage(controller)
    qtbot.addWidget(made)
    made.show()
    yield made
    made.runner.wait_all(10000)
    controller.shutdown(10000)


def _table_item(page: OfflinePage, label: str) -> QTreeWidgetItem:
    for index in range(page.tree.topLevelItemCount()):
        item = page.tree.topLevelItem(index)
        if item is not None and item.text(0) == label:
            return item
    raise AssertionError(f"no table {label}")


def test_the_page_lists_the_offline_filters_with_counts_and_turns_one_off(
    qtbot: Any, page: OfflinePage
) -> None:
    page.initializePage()
    qtbot.waitUntil(lambda: bool(page.filters) and not page.runner.busy, timeout=TIMEOUT)
    assert page.banner.kind != "error", page.banner.text()
    contacts = _table_item(page, "Contacts")
    assert contacts.text(1) == "about 3"
    mine = contacts.child(0)
    assert mine is not None and mine.checkState(0) == Qt.CheckState.Checked and mine.text(1) == "3"
    filter_name = mine.text(0)

    mine.setCheckState(0, Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: not page.runner.busy and page.tree.isEnabled(), timeout=TIMEOUT)
    assert page.banner.kind != "error", page.banner.text()
    assert _table_item(page, "Contacts").text(1) == "0"  # nothing selected: no "about"
    assert filter_name not in page.active_filters()
    # written to Dynamics 365
    assert not next(f for f in offline.list_filters(page.controller.factory) if f.name == filter_name).active


def test_without_a_synchronizing_organization_the_page_says_it_can_be_skipped(
    qtbot: Any, isolated_home: Path
) -> None:
    controller = WizardController(Factory(locations().ensure()))
    page = OfflinePage(controller)
    qtbot.addWidget(page)
    page.initializePage()
    assert "skip this page" in page.banner.text()
    assert page.isComplete()
    controller.shutdown(1000)


def test_the_preview_is_an_aggregate_count_of_the_filter() -> None:
    fetch = (
        '<fetch distinct="true" page="2" count="50"><entity name="appointment"><attribute name="subject"/>'
        '<order attribute="subject"/><filter><condition attribute="statecode" operator="eq" value="0"/></filter>'
        '<link-entity name="activityparty" from="activityid" to="activityid"><attribute name="partyid"/>'
        "</link-entity></entity></fetch>"
    )
    root = SafeET.fromstring(count_fetchxml(fetch, "activityid"))
    assert root.get("aggregate") == "true" and root.get("page") is None and root.get("count") is None
    attributes = list(root.iter("attribute"))
    assert [(a.get("name"), a.get("aggregate"), a.get("distinct")) for a in attributes] == [
        ("activityid", "countcolumn", "true")
    ]
    assert root.find("entity/order") is None and root.find("entity/filter") is not None


def test_the_preview_reads_the_aggregate_answer_and_counts_ids_when_it_is_refused() -> None:
    from wizard.app.offline_preview import filter_count
    from wizard.crm.entities import UserQuery
    from wizard.odata.errors import ODataError

    query = UserQuery("q1", "My Contacts", '<fetch><entity name="contact"/></fetch>', "contact", 16, True)

    class Aggregating:
        def fetch(self, entity_set: str, fetchxml: str, **_: Any) -> Iterator[dict[str, Any]]:
            assert entity_set == "contacts" and 'aggregate="true"' in fetchxml
            yield {"preview_count": 4210}

    class Refusing:
        def fetch(self, entity_set: str, fetchxml: str, **_: Any) -> Iterator[dict[str, Any]]:
            if 'aggregate="true"' in fetchxml:
                raise ODataError("Aggregate FetchXML queries are not supported")
            yield from ({"contactid": f"id-{n}"} for n in range(3))

    assert filter_count(Aggregating(), query) == 4210  # type: ignore[arg-type]
    assert filter_count(Refusing(), query) == 3  # type: ignore[arg-type]


def test_the_preview_costs_one_aggregate_request_per_filter(signed_in: Factory, sandbox: Sandbox) -> None:
    """Against the stand-in (aggregate FetchXML as documented): one request per filter, no id pages."""
    from wizard.app.offline_preview import preview_counts

    filters = offline.list_filters(signed_in)
    server = sandbox.environments[0].server
    server.reset_counts()
    counts = preview_counts(signed_in, filters)
    fetches = [path for _method, path in server.request_log if "fetchXml=" in path]
    assert len(fetches) == len(filters) and all("aggregate" in path for path in fetches)
    mine = next(f for f in filters if f.returnedtypecode == "contact" and f.active)
    assert counts[mine.id] == 3


def test_a_filter_over_the_aggregate_limit_shows_more_than_50000_without_counting_ids(qtbot: Any) -> None:
    """The service counts no further than 50,000 records (0x8004E023 AggregateQueryRecordLimit exceeded)."""
    from wizard.app.offline_preview import OVER_LIMIT, filter_count
    from wizard.crm.entities import UserQuery
    from wizard.odata.errors import ValidationError

    query = UserQuery("q1", "All contacts", '<fetch><entity name="contact"/></fetch>', "contact", 16, True)
    asked: list[str] = []

    class Limited:
        def fetch(self, entity_set: str, fetchxml: str, **_: Any) -> Iterator[dict[str, Any]]:
            asked.append(fetchxml)
            raise ValidationError(
                "AggregateQueryRecordLimit exceeded. Cannot perform this operation.",
                status=400,
                code="0x8004e023",
            )
            yield {}

    assert filter_count(Limited(), query) == OVER_LIMIT  # type: ignore[arg-type]
    assert len(asked) == 1  # the ids were not read instead
    controller = WizardController(Factory(locations().ensure()))
    page = OfflinePage(controller)
    qtbot.addWidget(page)
    page.fill([query], {"q1": OVER_LIMIT})
    limit = "more than " + page.locale().toString(50_000)  # "more than 50,000" in English
    contacts = _table_item(page, "Contacts")
    assert contacts.text(1) == limit
    child = contacts.child(0)
    assert child is not None and child.text(1) == limit
    page.fill([query], {"q1": 4210})
    assert _table_item(page, "Contacts").text(1) == "about " + page.locale().toString(4210)
    controller.shutdown(1000)
