"""Organizations: the configured organizations, which one synchronizes; Add…, Remove, Test connection, Synchronize."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from wizard.errors import D365SyncError
from wizard.settings import OrgProfile
from wizard.ui import engine_texts, presets
from wizard.ui.controller import (
    OP_REMOVE,
    OP_SET_SYNC,
    OP_TEST,
    STATE_CONNECTED,
    STATE_FAILED,
    OrgRow,
    WizardController,
)
from wizard.ui.icons import icon
from wizard.ui.pages.add_org import AddOrganizationDialog
from wizard.ui.pages.base import BasePage
from wizard.ui.presets import Preset
from wizard.ui.sync_org import change_sync_org_question, queued_changes_warning
from wizard.ui.widgets import MessageBanner, ask, hint, tree_items


def _blank_icon() -> QIcon:
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.GlobalColor.transparent)
    return QIcon(pixmap)


class OrganizationsPage(BasePage):
    OPS = (OP_TEST, OP_SET_SYNC, OP_REMOVE)

    def __init__(
        self, controller: WizardController, preset: Preset | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(controller, parent)
        self.preset = preset or presets.standard()
        self.setTitle(self.tr("Organizations"))
        self.setSubTitle(
            self.tr(
                "Add the Dynamics 365 organizations you work with. One of them synchronizes your email, "
                "contacts, appointments and tasks with your mailbox."
            )
        )
        self.rows: list[OrgRow] = []
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels([self.tr("Organization"), self.tr("Address"), self.tr("State")])
        self.tree.setRootIsDecorated(False)
        self.tree.setAccessibleName(self.tr("Configured organizations"))
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.itemSelectionChanged.connect(self.update_controls)
        self.add_button = QPushButton(self.tr("&Add…"), self)
        self.remove_button = QPushButton(self.tr("&Remove"), self)
        self.test_button = QPushButton(self.tr("&Test connection"), self)
        self.sync_button = QPushButton(self.tr("S&ynchronize"), self)
        self.sync_button.setToolTip(self.tr("Make the selected organization the synchronizing organization"))
        for button in (self.add_button, self.remove_button, self.test_button, self.sync_button):
            button.setAutoDefault(False)
        self.add_button.clicked.connect(self.add_organization)
        self.remove_button.clicked.connect(self.remove_selected)
        self.test_button.clicked.connect(self.test_selected)
        self.sync_button.clicked.connect(self.synchronize_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        buttons.addWidget(self.sync_button)
        self.no_sync_warning = MessageBanner(self)
        self.empty_hint = hint(
            self.tr(
                "No organization yet. Click Add… to sign in to Dynamics 365 (online or on-premises) and "
                "choose your organization."
            ),
            self,
        )
        self.body.addWidget(self.tree, 1)
        self.body.addWidget(self.empty_hint)
        self.body.addLayout(buttons)
        self.body.addWidget(self.no_sync_warning)
        self.dialog: AddOrganizationDialog | None = None
        self._known_ids: set[str] = set()  # the organizations there when the Add dialog opened
        controller.orgs_changed.connect(self.show_rows)
        controller.sync_org_changed.connect(self._sync_org_changed)
        controller.org_added.connect(self._org_added)
        controller.emit_orgs()

    # -- view ------------------------------------------------------------------------------------
    def show_rows(self, rows: list[OrgRow]) -> None:
        selected = self.selected_org()
        self.rows = list(rows)
        self.tree.clear()
        for row in rows:
            item = QTreeWidgetItem([row.org.display_name, row.org.web_url, self._state_text(row)])
            item.setData(0, Qt.ItemDataRole.UserRole, row.org.id)
            item.setIcon(0, icon("sync") if row.synchronizes else _blank_icon())  # blank: names stay aligned
            if row.synchronizes:
                item.setToolTip(0, self.tr("The synchronizing organization"))
                font = item.font(0)
                font.setBold(True)
                for column in range(3):
                    item.setFont(column, font)
            if row.state == STATE_FAILED:
                item.setIcon(2, icon("error"))
                item.setToolTip(2, row.detail)
            elif row.state == STATE_CONNECTED:
                item.setIcon(2, icon("ok"))
            self.tree.addTopLevelItem(item)
            if selected is not None and row.org.id == selected.id:
                self.tree.setCurrentItem(item)
        items = tree_items(self.tree)
        if self.tree.currentItem() is None and items:
            self.tree.setCurrentItem(items[0])
        self.empty_hint.setVisible(not rows)
        if rows and not any(r.synchronizes for r in rows):
            self.no_sync_warning.show_message(
                "warning",
                self.tr(
                    "Messaging data will not be synchronized. No organization synchronizes: select one and "
                    "click Synchronize."
                ),
            )
        else:
            self.no_sync_warning.clear()
        self.update_controls()
        self.completeChanged.emit()

    def _state_text(self, row: OrgRow) -> str:
        if row.state == STATE_FAILED:
            return self.tr("Cannot connect")
        if row.synchronizes:
            return self.tr("Synchronizes")
        if row.state == STATE_CONNECTED:
            return self.tr("Connected")
        return self.tr("Not tested")

    def selected_org(self) -> OrgProfile | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        org_id = item.data(0, Qt.ItemDataRole.UserRole)
        return next((r.org for r in self.rows if r.org.id == org_id), None)

    def select(self, org_id: str) -> None:
        for item in tree_items(self.tree):
            if item.data(0, Qt.ItemDataRole.UserRole) == org_id:
                self.tree.setCurrentItem(item)

    def update_controls(self) -> None:
        org = self.selected_org()
        idle = not self.running
        self.add_button.setEnabled(idle)
        self.remove_button.setEnabled(idle and org is not None)
        self.test_button.setEnabled(idle and org is not None)
        is_sync = org is not None and org.id == self.controller.profile.sync_org_id
        self.sync_button.setEnabled(idle and org is not None and not is_sync)

    def isComplete(self) -> bool:
        return bool(self.rows) and super().isComplete()

    # -- intents ---------------------------------------------------------------------------------
    def confirm(self, title: str, text: str) -> bool:
        """A yes/no question (tests replace this)."""
        return ask(self, title, text)

    def add_organization(self) -> None:
        if self.dialog is None:
            self.dialog = AddOrganizationDialog(self.controller, self.preset, self)
        self.dialog.reset()
        self.banner.clear()
        self._known_ids = {o.id for o in self.controller.profile.organizations}
        self.dialog.open()

    def test_selected(self) -> None:
        org = self.selected_org()
        if org is None:
            return
        self.run_step(OP_TEST, self.tr("Connecting to {0}…").format(org.display_name))
        self._tested: OrgProfile | None = org
        self.controller.test_org(org.id)

    def synchronize_selected(self) -> None:
        org = self.selected_org()
        if org is None:
            return
        current = self.controller.profile.sync_org
        queued = (
            self.controller.queued_changes(current.id) if current is not None and current.id != org.id else 0
        )
        title, text = change_sync_org_question(
            current.display_name if current is not None else None, org.display_name, queued
        )
        if not self.confirm(title, text):
            return
        self.run_step(
            OP_SET_SYNC, self.tr("Making {0} the synchronizing organization…").format(org.display_name)
        )
        self.controller.set_sync_org(org.id)

    def remove_selected(self) -> None:
        org = self.selected_org()
        if org is None:
            return
        text = self.tr("Remove {0} from this computer? Nothing is deleted in Dynamics 365.").format(
            org.display_name
        )
        if org.id == self.controller.profile.sync_org_id:
            text += "\n\n" + self.tr(
                "It is your synchronizing organization: until you choose another one, messaging data will "
                "not be synchronized."
            )
        queued = self.controller.queued_changes(org.id)
        if queued:  # never deleted without a yes: said here, and the yes is passed on
            text += "\n\n" + queued_changes_warning(org.display_name, queued)
            text += " " + self.tr("Removing it deletes them. To keep them, go online first.")
        if not self.confirm(self.tr("Remove organization"), text):
            return
        if self.dialog is not None:  # removing signs the organization's account out of this profile
            self.dialog.forget_sign_in()
        self.run_step(OP_REMOVE, self.tr("Removing {0}…").format(org.display_name), cancellable=False)
        self.controller.remove_org(org.id, discard_offline=bool(queued))

    # -- answers ---------------------------------------------------------------------------------
    def _org_added(self, org: OrgProfile, became_sync: bool) -> None:
        self.select(org.id)
        if org.id in self._known_ids:
            self.banner.show_message(
                "info",
                self.tr("{0} is already added; it is selected in the list.").format(org.display_name),
            )
        elif became_sync:
            self.banner.show_message(
                "ok",
                self.tr("{0} was added. It is your synchronizing organization.").format(org.display_name),
            )
        else:
            self.banner.show_message(
                "ok",
                self.tr(
                    "{0} was added. To synchronize with it instead, select it and click Synchronize."
                ).format(org.display_name),
            )
        self.tree.setFocus()

    def _sync_org_changed(self, report: object) -> None:
        complete = getattr(report, "complete", True)
        chosen = getattr(report, "chosen", "")
        if complete:
            self.banner.show_message(
                "ok", self.tr("{0} is now your synchronizing organization.").format(chosen)
            )
            return
        failed = getattr(report, "failed", {})
        lines = [
            self.tr("{0} is now your synchronizing organization, but these could not be updated:").format(
                html.escape(chosen)
            )
        ]
        lines += [
            f"• {html.escape(name)}: {html.escape(engine_texts.translate(error.user_text))}"
            for name, error in failed.items()
        ]
        lines.append(
            self.tr(
                "They may still be marked as synchronizing. Click Synchronize again once they can be reached."
            )
        )
        self.banner.show_message("warning", "<br>".join(lines), rich=True)

    def show_error(self, op: str, error: D365SyncError) -> None:
        if op == OP_TEST:
            org = getattr(self, "_tested", None)
            name = org.display_name if org is not None else ""
            self.banner.show_message(
                "error",
                self.tr("Can't connect to {0}: {1}").format(name, engine_texts.translate(error.user_text)),
            )
            return
        super().show_error(op, error)

    def _on_busy(self, op: str, running: bool) -> None:
        was = self.running
        super()._on_busy(op, running)
        if was == OP_TEST and op == OP_TEST and not running and self.banner.kind != "error":
            org = getattr(self, "_tested", None)
            if org is not None:
                self.banner.show_message("ok", self.tr("Connected to {0}.").format(org.display_name))
