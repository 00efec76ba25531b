"""The record form of the Records window: one editor per field of the table's definitions.

Built from ``wizard.app.offline.form`` (label in the user's Dynamics 365 language, required marker, maximum
length, choices, lookup tables): text fields get their maximum length, choices a combo box, lookups a combo box
of the records they may point to (offline: the local ones, filled by the window on a worker). :meth:`problems`
checks required fields and lengths before saving and names the field in each message; :meth:`values` gives
the changed fields as the application layer takes them (``{"lastname": "Bär", "parentcustomerid":
"account:<id>"}``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from wizard.app.offline import FormField, Record

LOOKUP_KINDS = ("Lookup", "Customer", "Owner")
CHOICE_KINDS = ("Picklist", "State", "Status")
MEMO_KINDS = ("Memo",)
BOOLEAN_KINDS = ("Boolean",)
# filled in by Dynamics 365 when left empty (the owner is the user, state and status the defaults)
SERVER_KINDS = ("Owner", "State", "Status")


class RecordForm(QWidget):
    """Editors for the fields of one table; ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, reserved: str = "") -> None:
        super().__init__(parent)
        self.reserved = set(reserved.casefold())  # the window's own mnemonics
        self.layout_ = QFormLayout(self)
        self.layout_.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.layout_.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.fields: list[FormField] = []
        self.editors: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self._original: dict[str, str] = {}
        self._loading = False

    # -- building --------------------------------------------------------------------------------
    def set_fields(self, fields: Sequence[FormField]) -> None:
        while self.layout_.rowCount():
            self.layout_.removeRow(0)
        self.fields = [
            dataclasses.replace(f, read_only=True) if f.kind in SERVER_KINDS and not f.choices else f
            for f in fields
        ]
        self.editors.clear()
        self.labels.clear()
        used = set(self.reserved)
        for spec in self.fields:
            editor = self._editor(spec)
            editor.setAccessibleName(spec.label)
            required = spec.required and spec.kind not in SERVER_KINDS
            label = QLabel(_mnemonic(spec.label, used) + (" *" if required else ""), self)
            label.setBuddy(editor)
            label.setWordWrap(True)
            if required:
                label.setToolTip(self.tr("Required"))
            self.editors[spec.name] = editor
            self.labels[spec.name] = label
            self.layout_.addRow(label, editor)
        self._original = {}

    def _editor(self, spec: FormField) -> QWidget:
        if spec.kind in LOOKUP_KINDS or spec.targets:
            combo = QComboBox(self)
            combo.addItem(self.tr("(none)"), "")
            combo.setEnabled(not spec.read_only)
            combo.currentIndexChanged.connect(self._edited)
            return combo
        if spec.kind in CHOICE_KINDS and spec.choices:
            combo = QComboBox(self)
            combo.addItem("", "")
            for value, label in spec.choices:
                combo.addItem(label, str(value))
            combo.setEnabled(not spec.read_only)
            combo.currentIndexChanged.connect(self._edited)
            return combo
        if spec.kind in BOOLEAN_KINDS:
            box = QCheckBox(self)
            box.setEnabled(not spec.read_only)
            box.toggled.connect(self._edited)
            return box
        if spec.kind in MEMO_KINDS:
            memo = QPlainTextEdit(self)
            memo.setTabChangesFocus(True)
            memo.setFixedHeight(memo.fontMetrics().lineSpacing() * 4 + 12)
            memo.setReadOnly(spec.read_only)
            memo.textChanged.connect(self._edited)
            return memo
        line = QLineEdit(self)
        if spec.max_length:
            line.setMaxLength(spec.max_length)
        line.setReadOnly(spec.read_only)
        line.textEdited.connect(self._edited)
        return line

    def set_lookup_choices(self, name: str, records: Sequence[Record]) -> None:
        """The records lookup ``name`` may point to (keeps the current value)."""
        combo = self.editors.get(name)
        if not isinstance(combo, QComboBox):
            return
        current = combo.currentData()
        current_text = combo.currentText()
        self._loading = True
        try:
            combo.clear()
            combo.addItem(self.tr("(none)"), "")
            for record in records:
                combo.addItem(record.name or record.id, f"{record.table}:{record.id}")
            _select(combo, current, current_text)
        finally:
            self._loading = False

    # -- values ----------------------------------------------------------------------------------
    def load(self, record: Record | None) -> None:
        """Show ``record`` (None: an empty form for a new record)."""
        self._loading = True
        try:
            for spec in self.fields:
                self._set(spec, record)
        finally:
            self._loading = False
        self._original = self._texts()

    def _set(self, spec: FormField, record: Record | None) -> None:
        editor = self.editors[spec.name]
        fields: Mapping[str, Any] = record.fields if record is not None else {}
        if isinstance(editor, QComboBox) and (spec.kind in LOOKUP_KINDS or spec.targets):
            value = fields.get(f"_{spec.name}_value")
            target = fields.get(f"_{spec.name}_value@Microsoft.Dynamics.CRM.lookuplogicalname")
            if value and record is not None:
                data = f"{target}:{value}" if target else str(value)
                name = record.lookup_names.get(spec.name, str(value))
                if editor.findData(data) < 0:
                    editor.addItem(name, data)
                editor.setCurrentIndex(editor.findData(data))
            else:
                editor.setCurrentIndex(0)
            return
        value = fields.get(spec.name)
        if isinstance(editor, QComboBox):
            index = editor.findData("" if value is None else str(value))
            editor.setCurrentIndex(max(index, 0))
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText("" if value is None else str(value))
        elif isinstance(editor, QLineEdit):
            editor.setText("" if value is None else str(value))

    def text_of(self, name: str) -> str:
        editor = self.editors[name]
        if isinstance(editor, QComboBox):
            return str(editor.currentData() or "")
        if isinstance(editor, QCheckBox):
            return "true" if editor.isChecked() else "false"
        if isinstance(editor, QPlainTextEdit):
            return editor.toPlainText()
        if isinstance(editor, QLineEdit):
            return editor.text()
        return ""

    def set_text(self, name: str, text: str) -> None:
        """Type ``text`` into field ``name`` (a combo box: the item with that data or label)."""
        editor = self.editors[name]
        if isinstance(editor, QComboBox):
            _select(editor, text, text)
        elif isinstance(editor, QCheckBox):
            editor.setChecked(text.lower() in ("1", "true", "yes"))
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText(text)
        elif isinstance(editor, QLineEdit):
            editor.setText(text)
        self._edited()

    def _texts(self) -> dict[str, str]:
        return {spec.name: self.text_of(spec.name) for spec in self.fields if not spec.read_only}

    def values(self, *, creating: bool) -> dict[str, str]:
        """What to save: every filled field of a new record, the changed fields of an existing one."""
        texts = self._texts()
        if creating:
            return {name: text for name, text in texts.items() if text != "" and text != "false"}
        return {name: text for name, text in texts.items() if text != self._original.get(name, "")}

    def has_changes(self) -> bool:
        return self._texts() != self._original

    def problems(self) -> list[tuple[str, str]]:
        """``(field, message)`` for each required field left empty and each text over its length."""
        out: list[tuple[str, str]] = []
        for spec in self.fields:
            if spec.read_only:
                continue
            text = self.text_of(spec.name)
            if spec.required and spec.kind not in SERVER_KINDS and not text.strip():
                out.append((spec.name, self.tr("{0} is required.").format(spec.label)))
            elif spec.max_length and len(text) > spec.max_length:
                out.append(
                    (
                        spec.name,
                        self.tr("{0} is too long: at most {1} characters.").format(
                            spec.label, spec.max_length
                        ),
                    )
                )
        return out

    def focus_field(self, name: str) -> None:
        editor = self.editors.get(name)
        if editor is not None:
            editor.setFocus(Qt.FocusReason.OtherFocusReason)

    def _edited(self, *_args: object) -> None:
        if not self._loading:
            self.changed.emit()


def _select(combo: QComboBox, data: object, text: str) -> None:
    index = combo.findData(data) if data else -1
    if index < 0 and text:
        index = combo.findText(text)
    combo.setCurrentIndex(max(index, 0))


def _mnemonic(label: str, used: set[str]) -> str:
    """``label`` with an ``&`` before its first letter not yet used as a mnemonic in the window."""
    if "&" in label:
        return label.replace("&", "&&")
    for index, char in enumerate(label):
        key = char.casefold()
        if char.isalnum() and key not in used:
            used.add(key)
            return label[:index] + "&" + label[index:]
    return label
