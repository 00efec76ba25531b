"""Conflict cards name the record and the field in the user's language: every field name the application
layer can give (the Synchronization Fields table's display names) is in the GUI's table and translated, and
a German card reads "Konflikt: Kontakte · Jörg Bär — Abteilung"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QPushButton, QWidget

from wizard.app.conflicts import WHOLE_RECORD, field_label, field_labels
from wizard.settings.enums import Kind
from wizard.sync.state import ConflictRecord
from wizard.sync.status import StatusSnapshot
from wizard.ui import i18n
from wizard.ui.build_translations import read_ts
from wizard.ui.status.field_names import CONTEXT, KNOWN, field_title
from wizard.ui.status.model import view_from_snapshot
from wizard.ui.status.widgets import ConflictCard


@pytest.fixture
def german(qapp: Any) -> Iterator[None]:
    i18n.install_translations(qapp, "de")
    yield
    i18n.remove_translations(qapp)


def test_every_field_name_is_in_the_table_and_translated() -> None:
    names = {*field_labels().values(), field_label("contacts", WHOLE_RECORD)}
    assert names - KNOWN == set(), "add them to wizard/ui/status/field_names.py"
    messages = read_ts(i18n.ts_file("de"))
    translated = {
        source for (context, source, _), m in messages.items() if context == CONTEXT and m.translation
    }
    assert translated >= KNOWN


def test_a_german_card_names_the_record_and_the_field(qtbot: Any, german: None) -> None:
    record = ConflictRecord(
        3, Kind.CONTACTS, "c", "m", "department", "Vertrieb", "Sales", None, "ask", "both_changed", None,
        False, "2026-12-07T10:00:00Z", None, "Jörg Bär",
    )  # fmt: skip
    (view,) = view_from_snapshot(StatusSnapshot(None, None, None, None, None, []), [record]).conflicts
    assert (view.item, view.label) == ("Jörg Bär", "Department")
    parent = QWidget()
    qtbot.addWidget(parent)
    card = ConflictCard(view, lambda _id, _use: None, parent)
    assert card.use_crm.accessibleDescription() == "Konflikt: Kontakte · Jörg Bär — Abteilung"
    assert "department" not in card.use_crm.accessibleDescription()
    assert len(card.findChildren(QPushButton)) == 2  # the two values, no "keep"
    assert field_title("Due Date") == "Fälligkeitsdatum"
    assert field_title("unknown field") == "unknown field"
