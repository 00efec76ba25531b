"""The Records window: browse, search, create, edit and delete the records that go offline (issue 14).

A table picker (accounts, contacts, leads, appointments, tasks), a search box (the application's search: FTS5
in the offline store, the service's query online), the list with a marker for records whose changes wait to be
sent, and the form of the selected record (:class:`wizard.ui.records.form.RecordForm`). Everything that reads
or writes goes through ``wizard.app.offline`` on a worker; the window works the same online and offline.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wizard.app import offline
from wizard.app.factory import Factory
from wizard.app.offline import FormField, OfflineStatus, Record
from wizard.errors import D365SyncError
from wizard.ui.icons import icon
from wizard.ui.records.decisions import DecisionsDialog
from wizard.ui.records.form import RecordForm
from wizard.ui.widgets import MessageBanner, ask, fit_to_screen, hint
from wizard.ui.workers import TaskRunner

TABLES = ("accounts", "contacts", "leads", "appointments", "tasks")
PENDING_ROLE = Qt.ItemDataRole.UserRole + 1


class RecordsWindow(QMainWindow):
    """The records of the synchronizing organization, online or offline."""

    def __init__(self, factory: Factory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.factory = factory
        self.runner = TaskRunner(self)
        self.confirm: Callable[[str, str], bool] = lambda title, text: ask(self, title, text)
        self.status: OfflineStatus | None = None
        self.records: list[Record] = []
        self.current: Record | None = None
        self.creating = False
        self.forms: dict[str, list[FormField]] = {}
        self._list_seq = 0
        self._form_table = ""
        self._build()
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(300)
        self.search_timer.timeout.connect(self.reload)
        self.search_box.textEdited.connect(lambda _text: self.search_timer.start())
        self.search_box.returnPressed.connect(self.reload)
        self.table_combo.currentIndexChanged.connect(self._table_chosen)
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.new_button.clicked.connect(self.new_record)
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self.delete)
        self.form.changed.connect(self._update_buttons)
        self._load_status()
        self._table_chosen()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.setWindowTitle(self.tr("Records"))
        self.setWindowIcon(icon("app"))
        self.resize(fit_to_screen(self, QSize(900, 600)))
        central = QWidget(self)
        self.setCentralWidget(central)
        self.mode_label = hint("", central)
        self.table_combo = QComboBox(central)
        for name, text in self.table_names().items():
            self.table_combo.addItem(text, name)
        self.table_label = QLabel(self.tr("&Table:"), central)
        self.table_label.setBuddy(self.table_combo)
        self.search_box = QLineEdit(central)
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setPlaceholderText(self.tr("Name, email or phone"))
        self.search_label = QLabel(self.tr("Sea&rch:"), central)
        self.search_label.setBuddy(self.search_box)
        top = QHBoxLayout()
        top.addWidget(self.table_label)
        top.addWidget(self.table_combo)
        top.addSpacing(12)
        top.addWidget(self.search_label)
        top.addWidget(self.search_box, 1)

        self.list = QTableWidget(0, 2, central)
        self.list.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Not sent")])
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.verticalHeader().hide()
        self.list.setWordWrap(False)
        self.list.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.list.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.list.setAccessibleName(self.tr("Records"))
        self.list_label = QLabel(self.tr("Recor&ds:"), central)
        self.list_label.setBuddy(self.list)
        self.count_label = hint("", central)
        left = QWidget(central)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list_label)
        left_layout.addWidget(self.list, 1)
        left_layout.addWidget(self.count_label)

        self.form_title = QLabel(central)
        font = self.form_title.font()
        font.setBold(True)
        self.form_title.setFont(font)
        self.form_title.setWordWrap(True)
        self.form = RecordForm(central)
        self.form_area = QScrollArea(central)
        self.form_area.setWidgetResizable(True)
        self.form_area.setWidget(self.form)
        self.banner = MessageBanner(central)
        self.new_button = QPushButton(self.tr("&New"), central)
        self.save_button = QPushButton(self.tr("&Save"), central)
        self.delete_button = QPushButton(self.tr("D&elete…"), central)
        self.decisions_button = QPushButton(self.tr("Dec&isions…"), central)
        self.decisions_button.setToolTip(self.tr("Offline changes that wait for your decision"))
        self.decisions_button.clicked.connect(self.open_decisions)
        self.decisions_dialog: DecisionsDialog | None = None
        self.close_button = QPushButton(self.tr("&Close"), central)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.new_button, self.save_button, self.delete_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.decisions_button)
        buttons.addWidget(self.close_button)
        right = QWidget(central)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.form_title)
        right_layout.addWidget(self.form_area, 1)
        right_layout.addWidget(self.banner)
        right_layout.addLayout(buttons)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, central)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([360, 540])
        layout = QVBoxLayout(central)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.mode_label)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        QShortcut(QKeySequence.StandardKey.Find, self, self._focus_search)
        order = [self.table_combo, self.search_box, self.list, self.form_area, self.new_button,
                 self.save_button, self.delete_button, self.decisions_button, self.close_button]  # fmt: skip
        for first, second in itertools.pairwise(order):
            QWidget.setTabOrder(first, second)
        self.form.reserved = {
            _mnemonic_letter(widget.text())
            for widget in (self.table_label, self.search_label, self.list_label, self.new_button,
                           self.save_button, self.delete_button, self.decisions_button, self.close_button)
        }  # fmt: skip
        self._update_buttons()

    def _focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def table_names(self) -> dict[str, str]:
        return {
            "accounts": self.tr("Accounts"),
            "contacts": self.tr("Contacts"),
            "leads": self.tr("Leads"),
            "appointments": self.tr("Appointments"),
            "tasks": self.tr("Tasks"),
        }

    @property
    def table(self) -> str:
        return str(self.table_combo.currentData() or TABLES[0])

    @property
    def offline(self) -> bool:
        return self.status is not None and self.status.state == offline.OFFLINE

    # -- reading -----------------------------------------------------------------------------------
    def _load_status(self) -> None:
        self.runner.run(
            "Offline status",
            lambda _ctx: offline.offline_status(self.factory),
            on_success=self._status_loaded,
            on_failure=self._failed,
        )

    def refresh_mode(self) -> None:
        """After going offline or online: read the mode again and list the records from where they are now."""
        self._load_status()
        self.reload()

    def _status_loaded(self, status: OfflineStatus) -> None:
        self.status = status
        if status.state == offline.OFFLINE:
            self.mode_label.setText(
                self.tr(
                    "Offline: your changes are kept on this computer and sent to Dynamics 365 when you go online."
                )
            )
        else:
            self.mode_label.setText(self.tr("Online: your changes go straight to Dynamics 365."))

    def _table_chosen(self, *_args: object) -> None:
        self.current = None
        self.creating = False
        self.form.set_fields([])
        self.form_title.setText("")
        self.banner.clear()
        table = self.table
        if table in self.forms:
            self._show_form(table, self.forms[table])
        else:
            self.runner.run(
                "Record form",
                lambda _ctx: offline.form(self.factory, table),
                on_success=lambda fields: self._show_form(table, fields),
                on_failure=self._failed,
            )
        self.reload()

    def _show_form(self, table: str, fields: list[FormField]) -> None:
        self.forms[table] = fields
        if table != self.table:
            return
        self._form_table = table
        self.form.set_fields(fields)
        self.form.load(self.current)
        for spec in fields:
            if spec.targets and not spec.read_only:
                self._load_lookup(table, spec.name)
        self._update_buttons()

    def _load_lookup(self, table: str, name: str) -> None:
        def work(_ctx: object) -> list[Record]:
            return offline.lookup_choices(self.factory, table, name)

        def done(records: list[Record]) -> None:
            self._lookup_loaded(table, name, records)

        self.runner.run("Lookup choices", work, on_success=done)

    def _lookup_loaded(self, table: str, name: str, records: list[Record]) -> None:
        if not shiboken6.isValid(self.form):  # the window was deleted while the worker read the choices
            return
        if table == self._form_table:
            self.form.set_lookup_choices(name, records)

    def reload(self) -> None:
        """List the table's records (with the search text) on a worker; older answers are dropped."""
        self.search_timer.stop()
        self._list_seq += 1
        seq, table, text = self._list_seq, self.table, self.search_box.text().strip()
        self.count_label.setText(self.tr("Loading…"))
        self.runner.run(
            "List records",
            lambda _ctx: offline.list_records(self.factory, table, search=text),
            on_success=lambda records: self._listed(seq, records),
            on_failure=lambda error: self._list_failed(seq, error),
        )

    def _list_failed(self, seq: int, error: D365SyncError) -> None:
        if seq == self._list_seq:
            self.count_label.setText("")
            self._failed(error)

    def _listed(self, seq: int, records: list[Record]) -> None:
        if seq != self._list_seq:
            return
        keep = self.current.id if self.current is not None else None
        self.records = records
        self.list.blockSignals(True)
        self.list.clearSelection()
        self.list.setRowCount(len(records))
        for row, record in enumerate(records):
            name = QTableWidgetItem(record.name or self.tr("(no name)"))
            name.setData(Qt.ItemDataRole.UserRole, record.id)
            name.setData(PENDING_ROLE, record.pending)
            marker = QTableWidgetItem(self.tr("Not sent") if record.pending else "")
            if record.pending:
                marker.setIcon(icon("warning"))
                marker.setToolTip(self.tr("Changes of this record wait to be sent to Dynamics 365"))
                name.setToolTip(marker.toolTip())
            self.list.setItem(row, 0, name)
            self.list.setItem(row, 1, marker)
            if record.id == keep:
                self.list.selectRow(row)
        self.list.blockSignals(False)
        pending = sum(1 for r in records if r.pending)
        text = (self.tr("{0} record") if len(records) == 1 else self.tr("{0} records")).format(len(records))
        if pending:
            text += " · " + self.tr("with changes not sent: {0}").format(pending)
        self.count_label.setText(text)

    def _selection_changed(self) -> None:
        rows = self.list.selectionModel().selectedRows()
        if not rows:
            return
        record = self.records[rows[0].row()]
        self.creating = False
        self.current = record
        self.banner.clear()
        self.form_title.setText(record.name or self.tr("(no name)"))
        self.form.load(record)
        self._update_buttons()

    # -- writing -----------------------------------------------------------------------------------
    def new_record(self) -> None:
        self.list.clearSelection()
        self.current = None
        self.creating = True
        self.banner.clear()
        self.form_title.setText(self.tr("New record: {0}").format(self.table_combo.currentText()))
        self.form.load(None)
        self._update_buttons()
        for spec in self.form.fields:
            if not spec.read_only:
                self.form.focus_field(spec.name)
                break

    def save(self) -> None:
        problems = self.form.problems()
        if problems:
            self.banner.show_message("error", "\n".join(message for _name, message in problems))
            self.form.focus_field(problems[0][0])
            return
        values = self.form.values(creating=self.creating)
        table = self.table
        if self.creating:
            self._busy(self.tr("Saving…"))
            self.runner.run(
                "Create record",
                lambda _ctx: offline.create_record(self.factory, table, values),
                on_success=self._created,
                on_failure=self._save_failed,
            )
        elif self.current is not None:
            if not values:
                self.banner.show_message("info", self.tr("Nothing changed."))
                return
            record_id = self.current.id
            self._busy(self.tr("Saving…"))
            self.runner.run(
                "Update record",
                lambda _ctx: offline.update_record(self.factory, table, record_id, values),
                on_success=lambda _none: self._saved(record_id),
                on_failure=self._save_failed,
            )

    def _created(self, record_id: str) -> None:
        self.creating = False
        self._saved(record_id)

    def _saved(self, record_id: str) -> None:
        self._idle()
        self.banner.show_message(
            "ok",
            self.tr("Saved on this computer; it is sent when you go online.")
            if self.offline
            else self.tr("Saved in Dynamics 365."),
        )
        self.current = Record(offline.offline_table(self.table).logical_name, record_id, "", {})
        self.form.load(None)
        self.runner.run(
            "Show record",
            lambda _ctx: offline.show_record(self.factory, self.table, record_id),
            on_success=self._reloaded_record,
        )
        self.reload()

    def _reloaded_record(self, record: Record) -> None:
        if self.current is not None and self.current.id == record.id:
            self.current = record
            self.form_title.setText(record.name or self.tr("(no name)"))
            self.form.load(record)
            self._update_buttons()

    def _save_failed(self, error: D365SyncError) -> None:
        self._idle()
        problems = list(getattr(error, "problems", None) or [])  # wizard.offline.validate.InvalidRecord
        if problems:
            self.banner.show_message(
                "error", self.tr("Not saved:") + "\n" + "\n".join(str(p.message) for p in problems)
            )
            for problem in problems:
                if problem.field in self.form.editors:
                    self.form.focus_field(problem.field)
                    break
            return
        self._failed(error)

    def delete(self) -> None:
        record = self.current
        if record is None or self.creating:
            return
        name = record.name or record.id
        question = (
            self.tr("Delete {0}? It is deleted in Dynamics 365 when you go online.")
            if self.offline
            else self.tr("Delete {0} in Dynamics 365? This cannot be undone.")
        )
        if not self.confirm(self.tr("Delete record"), question.format(name)):
            return
        table = self.table
        self._busy(self.tr("Deleting…"))
        self.runner.run(
            "Delete record",
            lambda _ctx: offline.delete_record(self.factory, table, record.id),
            on_success=lambda _none: self._deleted(name),
            on_failure=self._save_failed,
        )

    def _deleted(self, name: str) -> None:
        self._idle()
        self.current = None
        self.form.load(None)
        self.form_title.setText("")
        self.banner.show_message("ok", self.tr("{0} was deleted.").format(name))
        self.reload()

    def open_decisions(self) -> None:
        """The offline changes that wait for the user's decision (a list with Keep mine / Keep the server's)."""
        dialog = DecisionsDialog(self.factory, self)
        dialog.finished.connect(lambda _code: self._decisions_closed(dialog))
        self.decisions_dialog = dialog
        dialog.open()

    def _decisions_closed(self, dialog: DecisionsDialog) -> None:
        if dialog.decided:
            self.reload()
        self.decisions_dialog = None
        dialog.deleteLater()

    # -- state -------------------------------------------------------------------------------------
    def _busy(self, text: str) -> None:
        self.banner.show_message("info", text)
        for button in (self.new_button, self.save_button, self.delete_button):
            button.setEnabled(False)

    def _idle(self) -> None:
        self.banner.clear()
        self._update_buttons()

    def _update_buttons(self) -> None:
        has_form = bool(self.form.fields)
        editing = has_form and (self.creating or self.current is not None)
        self.form.setEnabled(editing)  # nothing to type into before a record is chosen or New is clicked
        self.new_button.setEnabled(has_form)
        self.save_button.setEnabled(editing and (self.creating or self.form.has_changes()))
        self.delete_button.setEnabled(has_form and self.current is not None and not self.creating)

    def _failed(self, error: D365SyncError) -> None:
        self._idle()
        self.banner.show_message("error", error.user_text)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.runner.cancel_all()
        super().closeEvent(event)

    def _names(self, *, pending_only: bool) -> list[str]:
        out = []
        for row in range(self.list.rowCount()):
            item = self.list.item(row, 0)
            if item is not None and (item.data(PENDING_ROLE) or not pending_only):
                out.append(item.text())
        return out

    def record_names(self) -> list[str]:
        """The names listed (for tests and screenshots)."""
        return self._names(pending_only=False)

    def pending_names(self) -> list[str]:
        """The names listed with changes not sent."""
        return self._names(pending_only=True)


def _mnemonic_letter(text: str) -> str:
    """The letter after the ``&`` of ``text`` (lower case; "" when it has none)."""
    index = text.replace("&&", "  ").find("&")
    return text[index + 1].casefold() if 0 <= index < len(text) - 1 else ""
