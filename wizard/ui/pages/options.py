"""What to synchronize: kinds, Outlook sync filters, the Track option, send email, interval, conflicts, fields.

Read from the synchronizing organization the first time the page opens (again only when the synchronizing
organization changed); what the user chose stays while they move back and forth. Written on Finish (the filters'
states and the user settings to Dynamics 365, the rest to the profile). "Create the default filters" writes at once.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QSize, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wizard.app.options import OptionsChoice, OptionsState
from wizard.crm.entities import UserQuery
from wizard.crm.filters import DEFAULT_OUTLOOK_FILTERS
from wizard.crm.metadata import Label
from wizard.settings.enums import RECORD_KINDS, ConflictPolicy, Kind
from wizard.settings.profile import SyncOptions
from wizard.sync.mapping import directions, field_specs
from wizard.sync.model import Direction
from wizard.ui.controller import OP_DEFAULT_FILTERS, OP_OPTIONS_LOAD, WizardController
from wizard.ui.i18n import current_language
from wizard.ui.pages.base import BasePage
from wizard.ui.status.field_names import field_title
from wizard.ui.widgets import MessageBanner, MinimumSpinBox, fit_to_screen, tree_items

# usersettings.incomingemailfilteringmethod, in the original's wording (reference B.4)
_C = "options"  # the translation context of the texts below (QT_TRANSLATE_NOOP marks them for lupdate)
TRACKING = (
    (0, QT_TRANSLATE_NOOP("options", "All email messages")),
    (1, QT_TRANSLATE_NOOP("options", "Email messages in response to Dynamics 365 email")),
    (2, QT_TRANSLATE_NOOP("options", "Email messages from Dynamics 365 Leads, Contacts and Accounts")),
    (3, QT_TRANSLATE_NOOP("options", "Email messages from Dynamics 365 records that are email enabled")),
    (4, QT_TRANSLATE_NOOP("options", "No email messages")),
)
POLICIES = (
    (ConflictPolicy.CRM_WINS, QT_TRANSLATE_NOOP("options", "Dynamics 365 wins")),
    (ConflictPolicy.MAILBOX_WINS, QT_TRANSLATE_NOOP("options", "The mailbox wins")),
    (ConflictPolicy.NEWEST_WINS, QT_TRANSLATE_NOOP("options", "The newest change wins")),
    (ConflictPolicy.ASK, QT_TRANSLATE_NOOP("options", "Ask me")),
)
KIND_LABELS = (
    (Kind.EMAIL, QT_TRANSLATE_NOOP("options", "Email")),
    (Kind.CONTACTS, QT_TRANSLATE_NOOP("options", "Contacts")),
    (Kind.APPOINTMENTS, QT_TRANSLATE_NOOP("options", "Appointments")),
    (Kind.TASKS, QT_TRANSLATE_NOOP("options", "Tasks")),
)
KIND_TABLES = {Kind.CONTACTS: "contact", Kind.APPOINTMENTS: "appointment", Kind.TASKS: "task"}
TABLE_LABELS = {"contact": "Contacts", "appointment": "Appointments", "task": "Tasks"}
# the names of wizard.crm.filters.DEFAULT_OUTLOOK_FILTERS, for lupdate ("Meine Outlook-Kontakte" in German)
DEFAULT_FILTER_NAMES = (
    QT_TRANSLATE_NOOP("options", "My Outlook Contacts"),
    QT_TRANSLATE_NOOP("options", "My Appointments"),
    QT_TRANSLATE_NOOP("options", "My Tasks"),
)
DIRECTION_LABELS = {
    Direction.BOTH: QT_TRANSLATE_NOOP("options", "⇄  Both ways"),
    Direction.TO_MAILBOX: QT_TRANSLATE_NOOP("options", "→  To the mailbox"),
    Direction.TO_CRM: QT_TRANSLATE_NOOP("options", "←  To Dynamics 365"),
    Direction.NONE: QT_TRANSLATE_NOOP("options", "✕  Not synchronized"),
}


# the mailbox side's fields by the engine's item attribute (wizard.sync.mapping.specs), as Outlook names them
MAILBOX_FIELD_NAMES: dict[str, object] = {
    "given_name": QT_TRANSLATE_NOOP("MailboxField", "First name"),
    "display_name (middle part)": QT_TRANSLATE_NOOP("MailboxField", "Middle name"),
    "surname": QT_TRANSLATE_NOOP("MailboxField", "Last name"),
    "company": QT_TRANSLATE_NOOP("MailboxField", "Company"),
    "job_title": QT_TRANSLATE_NOOP("MailboxField", "Job title"),
    "department": QT_TRANSLATE_NOOP("MailboxField", "Department"),
    "emails[0]": QT_TRANSLATE_NOOP("MailboxField", "Email"),
    "emails[1]": QT_TRANSLATE_NOOP("MailboxField", "Email 2"),
    "emails[2]": QT_TRANSLATE_NOOP("MailboxField", "Email 3"),
    "phones['business']": QT_TRANSLATE_NOOP("MailboxField", "Business phone"),
    "phones['home']": QT_TRANSLATE_NOOP("MailboxField", "Home phone"),
    "phones['mobile']": QT_TRANSLATE_NOOP("MailboxField", "Mobile phone"),
    "phones['fax']": QT_TRANSLATE_NOOP("MailboxField", "Business fax"),
    "business_address.street (line 1)": QT_TRANSLATE_NOOP("MailboxField", "Business address: street, line 1"),
    "business_address.street (line 2)": QT_TRANSLATE_NOOP("MailboxField", "Business address: street, line 2"),
    "business_address.street (line 3+)": QT_TRANSLATE_NOOP(
        "MailboxField", "Business address: street, lines 3 and more"
    ),
    "business_address.city": QT_TRANSLATE_NOOP("MailboxField", "Business address: city"),
    "business_address.state": QT_TRANSLATE_NOOP("MailboxField", "Business address: state/province"),
    "business_address.postal_code": QT_TRANSLATE_NOOP("MailboxField", "Business address: ZIP/postal code"),
    "business_address.country": QT_TRANSLATE_NOOP("MailboxField", "Business address: country/region"),
    "home_address.street (line 1)": QT_TRANSLATE_NOOP("MailboxField", "Home address: street, line 1"),
    "home_address.street (line 2)": QT_TRANSLATE_NOOP("MailboxField", "Home address: street, line 2"),
    "home_address.street (line 3+)": QT_TRANSLATE_NOOP(
        "MailboxField", "Home address: street, lines 3 and more"
    ),
    "home_address.city": QT_TRANSLATE_NOOP("MailboxField", "Home address: city"),
    "home_address.state": QT_TRANSLATE_NOOP("MailboxField", "Home address: state/province"),
    "home_address.postal_code": QT_TRANSLATE_NOOP("MailboxField", "Home address: ZIP/postal code"),
    "home_address.country": QT_TRANSLATE_NOOP("MailboxField", "Home address: country/region"),
    "web_page": QT_TRANSLATE_NOOP("MailboxField", "Web page"),
    "birthday": QT_TRANSLATE_NOOP("MailboxField", "Birthday"),
    "notes": QT_TRANSLATE_NOOP("MailboxField", "Notes"),
    "subject": QT_TRANSLATE_NOOP("MailboxField", "Subject"),
    "start": QT_TRANSLATE_NOOP("MailboxField", "Start"),
    "end": QT_TRANSLATE_NOOP("MailboxField", "End"),
    "is_all_day": QT_TRANSLATE_NOOP("MailboxField", "All day event"),
    "location": QT_TRANSLATE_NOOP("MailboxField", "Location"),
    "body": QT_TRANSLATE_NOOP("MailboxField", "Body"),
    "organizer, required_attendees, optional_attendees": QT_TRANSLATE_NOOP(
        "MailboxField", "Organizer, required and optional attendees"
    ),
    "recurrence": QT_TRANSLATE_NOOP("MailboxField", "Recurrence"),
    "due": QT_TRANSLATE_NOOP("MailboxField", "Due date"),
    "percent_complete": QT_TRANSLATE_NOOP("MailboxField", "% complete"),
    "status": QT_TRANSLATE_NOOP("MailboxField", "Status"),
    "importance": QT_TRANSLATE_NOOP("MailboxField", "Importance"),
}


def _mailbox_label(attribute: str) -> str:
    """The mailbox field in the user's language ("emails[1]" -> "Email 2" / "E-Mail 2"); an attribute the table
    does not know, readable: ``given_name`` -> "Given name", ``emails[1]`` -> "Emails 2"."""
    known = MAILBOX_FIELD_NAMES.get(attribute)
    if known is not None:
        return QCoreApplication.translate("MailboxField", str(known))
    text = re.sub(r"\[(\d+)\]", lambda m: f" {int(m.group(1)) + 1}", attribute)
    text = re.sub(r"\[['\"]([^'\"]+)['\"]\]", r" \1", text).replace("_", " ").replace(".", ": ").strip()
    return text[:1].upper() + text[1:]


def _tr(text: object) -> str:
    return QCoreApplication.translate(_C, str(text))


def _short_label(label: str) -> str:
    """A field's label without its explanation in parentheses ("Company (parent account's name; only with
    'synccontactcompany')" -> "Company"); the column shows that, the tooltip the whole."""
    short, paren, _ = label.partition(" (")
    return short if paren and label.endswith(")") and short else label


def _filter_name(name: str) -> str:
    """A filter's name as shown: a default filter created with its English name (by the engine's first
    synchronization) in the user's language; any other name as it is."""
    return _tr(name) if name in {str(n) for n in DEFAULT_FILTER_NAMES} else name


#: Dataverse language codes (LCID) of the UI languages, for the organization's column labels
LANGUAGE_CODES = {"en": 1033, "de": 1031}


def _crm_column(attribute: str) -> str:
    """``_parentcustomerid_value`` -> ``parentcustomerid``: the column whose label names a lookup."""
    match = re.fullmatch(r"_(\w+)_value", attribute)
    return match.group(1) if match else attribute


class SyncFieldsDialog(QDialog):
    """Synchronization Fields: per record type, each field's direction; admin-locked fields are read-only.
    The Dynamics 365 side is named as the organization names its columns in the user's language (``crm_labels``
    from its metadata: table -> column -> label), else by our own translation; the mailbox side by ours."""

    def __init__(
        self,
        overrides: dict[str, dict[str, int]],
        *,
        all_addresses: bool,
        crm_labels: Mapping[str, Mapping[str, Label]] | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.crm_labels = crm_labels or {}
        self.language_code = LANGUAGE_CODES.get(current_language(), 1033)
        self.setWindowTitle(self.tr("Synchronization Fields"))
        self.overrides = copy.deepcopy(overrides)
        self.all_addresses = all_addresses
        self.kind_combo = QComboBox(self)
        for kind in RECORD_KINDS:
            self.kind_combo.addItem(_tr(dict(KIND_LABELS)[kind]), kind)
        kind_label = QLabel(self.tr("&Record type:"), self)
        kind_label.setBuddy(self.kind_combo)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Dynamics 365 field"), self.tr("Direction"), self.tr("Mailbox field")]
        )
        self.table.verticalHeader().hide()
        self.table.setAccessibleName(self.tr("Synchronized fields"))
        header = self.table.horizontalHeader()
        # the field names in full (the table scrolls sideways rather than cut a name off)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        note = QLabel(
            self.tr("Arrows show where changes go. Fields locked by your administrator can't be changed."),
            self,
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.reset_button = buttons.addButton(
            self.tr("Restore &defaults"), QDialogButtonBox.ButtonRole.ResetRole
        )
        self.reset_button.clicked.connect(self._reset)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(kind_label)
        top.addWidget(self.kind_combo)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.kind_combo.currentIndexChanged.connect(self._show_kind)
        self.resize(fit_to_screen(self, QSize(860, 560)))
        self._show_kind()

    def kind(self) -> str:
        return str(self.kind_combo.currentData())

    def _show_kind(self) -> None:
        kind = self.kind()
        specs = field_specs(kind, all_addresses=self.all_addresses)  # type: ignore[arg-type]
        effective = directions(kind, self.overrides.get(kind), all_addresses=self.all_addresses)  # type: ignore[arg-type]
        self.table.setRowCount(len(specs))
        columns = self.crm_labels.get(KIND_TABLES[Kind(kind)], {})
        for row, spec in enumerate(specs):
            full = spec.label or spec.name
            label = field_title(_short_label(full))  # the long form in the tooltip
            known = columns.get(_crm_column(spec.crm[0])) if len(spec.crm) == 1 else None
            if known is not None:
                label = known.text(self.language_code, label)
            if spec.locked:
                label = self.tr("{0} (locked)").format(label)
            name_item = QTableWidgetItem(label)
            name_item.setToolTip(f"{full}\n{', '.join(spec.crm)}")
            self.table.setItem(row, 0, name_item)
            mailbox_item = QTableWidgetItem(_mailbox_label(spec.mailbox))
            mailbox_item.setToolTip(spec.mailbox)
            self.table.setItem(row, 2, mailbox_item)
            combo = QComboBox(self.table)
            for direction in (Direction.BOTH, Direction.TO_MAILBOX, Direction.TO_CRM, Direction.NONE):
                if direction in spec.allowed:
                    combo.addItem(_tr(DIRECTION_LABELS[direction]), int(direction))
            combo.setCurrentIndex(combo.findData(int(effective[spec.name])))
            combo.setAccessibleName(self.tr("Direction of {0}").format(spec.label or spec.name))
            if spec.locked or combo.count() < 2:
                combo.setEnabled(False)
                combo.setToolTip(self.tr("Locked by your administrator"))
            combo.currentIndexChanged.connect(
                lambda _=0, s=spec, c=combo: self._changed(kind, s.name, s.default, c)
            )
            self.table.setCellWidget(row, 1, combo)
        height = self.table.cellWidget(0, 1).sizeHint().height() + 4 if specs else 24
        for row in range(len(specs)):
            self.table.setRowHeight(row, height)

    def _changed(self, kind: str, name: str, default: int, combo: QComboBox) -> None:
        value = int(combo.currentData())
        per_kind = self.overrides.setdefault(kind, {})
        if value == int(default):
            per_kind.pop(name, None)
        else:
            per_kind[name] = value
        if not per_kind:
            self.overrides.pop(kind, None)

    def _reset(self) -> None:
        self.overrides.pop(self.kind(), None)
        self._show_kind()

    def direction_combo(self, field_name: str) -> QComboBox | None:
        specs = field_specs(self.kind(), all_addresses=self.all_addresses)  # type: ignore[arg-type]
        for row, spec in enumerate(specs):
            if spec.name == field_name:
                widget = self.table.cellWidget(row, 1)
                return widget if isinstance(widget, QComboBox) else None
        return None


class OptionsPage(BasePage):
    OPS = (OP_OPTIONS_LOAD, OP_DEFAULT_FILTERS)

    def __init__(self, controller: WizardController, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.setTitle(self.tr("What to synchronize"))
        self.setSubTitle(
            self.tr("Choose what is synchronized between Dynamics 365 and your mailbox, and how often.")
        )
        self.state: OptionsState | None = None
        self._loaded_for = ""  # the organization the options were read from
        self.sync = copy.deepcopy(controller.profile.sync)
        self._initialized = False  # the widgets hold the user's choices once the page was shown
        self._profile_baseline: tuple[object, ...] = ()  # what the page showed first (has_changes)
        self._server_baseline: tuple[object, ...] = ()

        # kinds, track, send
        self.kind_boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout()
        for row, (kind, label) in enumerate(KIND_LABELS):
            box = QCheckBox(_tr(label), self)
            self.kind_boxes[kind] = box
            grid.addWidget(box, row + 1 if row else 0, 0)
        self.track_combo = QComboBox(self)
        for value, label in TRACKING:
            self.track_combo.addItem(_tr(label), value)
        track_label = QLabel(self.tr("Trac&k:"), self)
        track_label.setBuddy(self.track_combo)
        self.track_combo.setAccessibleName(self.tr("Email messages to track in Dynamics 365"))
        self.send_box = QCheckBox(self.tr("S&end email from Dynamics 365"), self)
        self.send_box.setToolTip(
            self.tr("Send the email messages you create in Dynamics 365 through your mailbox")
        )
        track_row = QHBoxLayout()
        track_row.addWidget(track_label)
        track_row.addWidget(self.track_combo, 1)
        grid.addLayout(track_row, 0, 1)
        grid.addWidget(self.send_box, 1, 1)
        self.kind_notes: dict[str, QLabel] = {}
        for row, (kind, _label) in enumerate(KIND_LABELS[1:], start=2):
            note = QLabel(self)
            self.kind_notes[kind] = note
            grid.addWidget(note, row, 1)
        grid.setColumnStretch(1, 1)
        self.kind_boxes[Kind.EMAIL].toggled.connect(self._email_toggled)

        # filters
        self.filters = QTreeWidget(self)
        self.filters.setHeaderLabels([self.tr("Synchronization filter"), self.tr("Record type")])
        self.filters.setRootIsDecorated(False)
        self.filters.setAccessibleName(self.tr("Your synchronization filters; checked filters are active"))
        self.filters.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.filters.setMinimumHeight(90)
        self.filters.itemChanged.connect(lambda *_: self._update_notes())
        filters_label = QLabel(self.tr("Your synchronization filte&rs (checked = active):"), self)
        filters_label.setBuddy(self.filters)
        self.default_filters_button = QPushButton(self.tr("Create the &default filters"), self)
        self.default_filters_button.setAutoDefault(False)
        self.default_filters_button.clicked.connect(self.create_default_filters)

        # interval, conflicts, fields
        self.interval = MinimumSpinBox(self)
        self.interval.setRange(15, 1440)
        self.interval.below_minimum.connect(self._interval_below_minimum)
        self.interval.setSuffix(self.tr(" minutes"))
        interval_label = QLabel(self.tr("Synchronize e&very"), self)
        interval_label.setBuddy(self.interval)
        self.interval.setAccessibleName(self.tr("Synchronization interval in minutes"))
        self.interval_note = QLabel(self)
        self.policy_combo = QComboBox(self)
        for policy, text in POLICIES:
            self.policy_combo.addItem(_tr(text), policy)
        policy_label = QLabel(self.tr("&When both sides changed the same field:"), self)
        policy_label.setBuddy(self.policy_combo)
        self.policy_combo.setAccessibleName(self.tr("When both sides changed the same field"))
        self.fields_button = QPushButton(self.tr("Synchronization F&ields…"), self)
        self.fields_button.setAutoDefault(False)
        self.fields_button.clicked.connect(self.edit_fields)

        interval_row = QHBoxLayout()
        interval_row.addWidget(interval_label)
        interval_row.addWidget(self.interval)
        interval_row.addWidget(self.interval_note, 1)
        policy_row = QHBoxLayout()
        policy_row.addWidget(policy_label)
        policy_row.addWidget(self.policy_combo)
        policy_row.addStretch(1)
        policy_row.addWidget(self.fields_button)
        filter_row = QHBoxLayout()
        filter_row.addWidget(filters_label, 1)
        filter_row.addWidget(self.default_filters_button)

        self.filter_warning = MessageBanner(self)
        self.body.addLayout(grid)
        self.body.addSpacing(6)
        self.body.addLayout(filter_row)
        self.body.addWidget(self.filters, 1)
        self.body.addWidget(self.filter_warning)
        self.body.addLayout(interval_row)
        self.body.addLayout(policy_row)

        controller.options_loaded.connect(self._loaded)
        controller.filters_changed.connect(self._show_filters)
        self._show_sync(self.sync)

    # -- page life -------------------------------------------------------------------------------
    def initializePage(self) -> None:
        """The first time: the profile's options. Later (Back, then Next again): what the user chose stays."""
        if not self._initialized:
            self._initialized = True
            self.sync = copy.deepcopy(self.controller.profile.sync)
            self._show_sync(self.sync)
            self._profile_baseline = self._profile_part()
        org = self.controller.profile.sync_org
        if org is None:
            self.banner.show_message(
                "warning",
                self.tr("No organization synchronizes: these options are kept, but nothing is synchronized."),
            )
            self.update_controls()
            return
        if (self.state is None or self._loaded_for != org.id) and not self.running:
            self.state = None
            self._loaded_for = org.id
            self.run_step(OP_OPTIONS_LOAD, self.tr("Reading your options from {0}…").format(org.display_name))
            self.controller.load_options()

    def _show_sync(self, sync: SyncOptions) -> None:
        for kind, box in self.kind_boxes.items():
            box.setChecked(sync.kinds.get(kind, True))
        self.send_box.setChecked(sync.send_email)
        policy = sync.policy_for(Kind.CONTACTS)  # one choice for every kind
        self.policy_combo.setCurrentIndex(max(0, self.policy_combo.findData(policy)))
        if sync.interval_minutes:
            self.interval.setValue(sync.interval_minutes)
        self._email_toggled(self.kind_boxes[Kind.EMAIL].isChecked())

    def _email_toggled(self, on: bool) -> None:
        self.track_combo.setEnabled(on and self.state is not None)
        self.send_box.setEnabled(on)

    def update_controls(self) -> None:
        idle = not self.running
        loaded = self.state is not None
        has_filters = self.state is not None and bool(self.state.filters)
        self.default_filters_button.setEnabled(idle and loaded and not has_filters)
        self.filters.setEnabled(loaded)
        self.track_combo.setEnabled(loaded and self.kind_boxes[Kind.EMAIL].isChecked())
        self.interval.setEnabled(loaded)

    # -- answers ---------------------------------------------------------------------------------
    def _loaded(self, state: OptionsState) -> None:
        self.state = state
        self.track_combo.setCurrentIndex(max(0, self.track_combo.findData(state.tracking)))
        minimum = max(1, state.min_interval)
        self.interval.setMinimum(minimum)
        wanted = self.sync.interval_minutes or state.interval or minimum
        self.interval.setValue(max(minimum, wanted))
        self.interval_note.setText(self.tr("(your organization allows {0} or more)").format(minimum))
        self._show_filters(state.filters)
        self.update_controls()
        self._server_baseline = self._server_part()

    def _interval_below_minimum(self, typed: int) -> None:
        minimum = self.interval.minimum()
        self.banner.show_message(
            "warning",
            self.tr(
                "Your organization allows an interval of {1} minutes or more, so {0} minutes became {1} minutes."
            ).format(typed, minimum),
        )

    def _show_filters(self, filters: list[UserQuery]) -> None:
        if self.state is not None:
            self.state.filters = list(filters)
        self.filters.blockSignals(True)
        self.filters.clear()
        for query in filters:
            item = QTreeWidgetItem(
                [
                    _filter_name(query.name),
                    _tr(TABLE_LABELS.get(query.returnedtypecode, query.returnedtypecode)),
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, query.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if query.active else Qt.CheckState.Unchecked)
            self.filters.addTopLevelItem(item)
        self.filters.blockSignals(False)
        self._update_notes()
        self.update_controls()

    def _active_tables(self) -> set[str]:
        tables = set()
        for query, wanted in self._filter_states():
            if wanted:
                tables.add(query.returnedtypecode)
        return tables

    def _filter_states(self) -> list[tuple[UserQuery, bool]]:
        if self.state is None:
            return []
        by_id = {q.id: q for q in self.state.filters}
        out = []
        for item in tree_items(self.filters):
            query = by_id.get(item.data(0, Qt.ItemDataRole.UserRole))
            if query is not None:
                out.append((query, item.checkState(0) == Qt.CheckState.Checked))
        return out

    def _update_notes(self) -> None:
        if self.state is None:
            return
        if not self.state.filters:  # the first synchronization creates the defaults (crm.filters)
            self._show_default_filters_note()
            return
        active = self._active_tables()
        missing = []
        for kind, table in KIND_TABLES.items():
            names = [
                _filter_name(q.name) for q, on in self._filter_states() if on and q.returnedtypecode == table
            ]
            note = self.kind_notes[kind]
            if names:
                note.setText(self.tr("Filter: {0}").format(", ".join(names)))
            else:
                note.setText(self.tr("No active filter: nothing is synchronized"))
                if table not in active:
                    missing.append(_tr(TABLE_LABELS[table]))
        if missing:
            self.filter_warning.show_message(
                "info",
                self.tr("No active filter for: {0}. Nothing of those is synchronized.").format(
                    ", ".join(missing)
                ),
            )
        else:
            self.filter_warning.clear()

    def _show_default_filters_note(self) -> None:
        """No filters yet: say what the first synchronization will do (create the defaults and use them)."""
        names = []
        for kind, table in KIND_TABLES.items():
            defaults = [_tr(d.name) for d in DEFAULT_OUTLOOK_FILTERS if d.table == table]
            self.kind_notes[kind].setText(
                self.tr("Filter: {0} (created on the first synchronization)").format(", ".join(defaults))
            )
            names += [f"{name} ({_tr(TABLE_LABELS[table])})" for name in defaults]
        self.filter_warning.show_message(
            "info",
            self.tr(
                "You have no synchronization filters yet. The default filters will be created on the first "
                "synchronization: {0}. To look at them or turn one off before that, click Create the default "
                "filters."
            ).format(", ".join(names)),
        )

    # -- intents ---------------------------------------------------------------------------------
    def create_default_filters(self) -> None:
        self.run_step(OP_DEFAULT_FILTERS, self.tr("Creating the default filters…"), cancellable=False)
        # named in the user's Dynamics 365 language, as the original names them ("Meine Outlook-Kontakte")
        self.controller.create_default_filters()

    def edit_fields(self) -> None:
        dialog = SyncFieldsDialog(
            self.sync.field_directions,
            all_addresses=self.sync.sync_all_addresses,
            crm_labels=self.state.field_labels if self.state is not None else None,
            parent=self,
        )
        self.fields_dialog = dialog
        dialog.accepted.connect(lambda: setattr(self.sync, "field_directions", dialog.overrides))
        dialog.open()

    def _profile_part(self) -> tuple[object, ...]:
        """What the user chose that comes from the profile (kinds, send, policy, field directions)."""
        kinds = {kind: box.isChecked() for kind, box in self.kind_boxes.items()}
        policy = self.policy_combo.currentData()
        return kinds, self.send_box.isChecked(), policy, copy.deepcopy(self.sync.field_directions)

    def _server_part(self) -> tuple[object, ...]:
        """What the user chose that comes from Dynamics 365 (tracking, interval, the filters' states)."""
        states = [(q.id, on) for q, on in self._filter_states()]
        return self.track_combo.currentData(), self.interval.value(), states

    def has_changes(self) -> bool:
        """Whether the user chose anything here that only Finish writes."""
        if not self._initialized:
            return False
        if self._profile_part() != self._profile_baseline:
            return True
        return self.state is not None and self._server_part() != self._server_baseline

    def choice(self) -> OptionsChoice:
        """What Finish writes."""
        sync = copy.deepcopy(self.sync)
        sync.kinds = {kind: box.isChecked() for kind, box in self.kind_boxes.items()}
        sync.send_email = self.send_box.isChecked()
        policy = str(self.policy_combo.currentData())
        sync.set_policy(ConflictPolicy(policy))
        if self.state is None:
            return OptionsChoice(sync=sync)
        sync.interval_minutes = self.interval.value()
        changed = {q.id: on for q, on in self._filter_states() if on != q.active}
        tracking = int(self.track_combo.currentData())
        return OptionsChoice(
            sync=sync,
            tracking=tracking if tracking != self.state.tracking else None,
            interval=self.interval.value() if self.interval.value() != self.state.interval else None,
            filter_active=changed,
            selected_tracking=tracking,
        )
