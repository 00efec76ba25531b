"""The "Add a Dynamics 365 organization" dialog: online via sign-in and Global Discovery, or by URL.

As in the original: choose "Dynamics 365 (online)" (sign in, then pick an environment) or paste the organization
URL (on-premises, or any environment), then Connect. Sign-in with a code shows the code, a Copy button and the
address as a link; every step shows progress and can be cancelled; errors stay in the dialog.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from wizard.app.orgs import WindowsSignInRefused
from wizard.crm.auth import DeviceFlow, SignInCancelled
from wizard.crm.discovery import Instance
from wizard.errors import D365SyncError
from wizard.settings import OrgProfile
from wizard.ui import engine_texts, presets
from wizard.ui.controller import OP_CONNECT, OP_DISCOVER, WizardController
from wizard.ui.presets import CloudPreset, Preset
from wizard.ui.widgets import BusyBar, MessageBanner, PasswordEdit, fit_to_screen, heading, tree_items


class DeviceCodePanel(QFrame):
    """ "To sign in, open <link> and enter CODE [Copy]"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.intro.setOpenExternalLinks(True)
        self.intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.code = QLabel(self)
        font = self.code.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        font.setLetterSpacing(font.SpacingType.AbsoluteSpacing, 2)
        self.code.setFont(font)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_button = QPushButton(self.tr("Cop&y code"), self)
        self.copy_button.setAutoDefault(False)
        self.copy_button.clicked.connect(self.copy)
        row = QHBoxLayout()
        row.addWidget(self.code)
        row.addWidget(self.copy_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(row)
        self.hide()

    def show_flow(self, flow: DeviceFlow) -> None:
        uri = flow.verification_uri
        self.intro.setText(
            self.tr(
                'To sign in, open <a href="{0}">{0}</a> in a browser (on any device) and enter this code:'
            ).format(uri)
        )
        self.code.setText(flow.user_code)
        self.code.setAccessibleName(self.tr("Sign-in code {0}").format(flow.user_code))
        self.show()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.code.text())


class AddOrganizationDialog(QDialog):
    """Calls no use case itself: it asks the controller (discover / connect_org) and shows the answers."""

    added = Signal(object, bool)  # OrgProfile, became the synchronizing organization

    def __init__(
        self, controller: WizardController, preset: Preset | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.preset = preset or presets.standard()
        self.setWindowTitle(self.tr("Add a Dynamics 365 organization"))
        self.setModal(True)
        self._signed_in_user = ""
        self._signed_in_cloud = ""
        self._instances: list[Instance] = []
        self._op = ""

        self.where = heading(self.tr("Where is your organization?"), self)

        # -- online ---------------------------------------------------------------------------------
        self.online_radio = QRadioButton(self.tr("Dynamics 365 (&online)"), self)
        self.cloud_combo = QComboBox(self)
        for cloud in self.preset.clouds:
            self.cloud_combo.addItem(self.tr(cloud.label), cloud.key)
        self.cloud_combo.setAccessibleName(self.tr("Microsoft cloud"))
        self.online_user = QLineEdit(self)
        self.online_user.setPlaceholderText(self.tr("name@contoso.com"))
        self.online_password = PasswordEdit(self)
        self.online_password.setPlaceholderText(self.tr("leave empty to sign in with a code"))
        self.sign_in_button = QPushButton(self.tr("&Sign in"), self)
        self.sign_in_button.setAutoDefault(False)
        self.sign_in_button.clicked.connect(self.sign_in)
        online_form = QFormLayout()
        online_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._add_row(online_form, self.tr("&Cloud:"), self.cloud_combo)
        self._add_row(online_form, self.tr("&User name:"), self.online_user)
        self._add_row(online_form, self.tr("Pass&word:"), self.online_password)
        sign_in_row = QHBoxLayout()
        sign_in_row.addWidget(self.sign_in_button)
        self.signed_in_label = QLabel(self)
        sign_in_row.addWidget(self.signed_in_label, 1)
        online_form.addRow("", sign_in_row)
        self.device_panel = DeviceCodePanel(self)
        self.environments_label = QLabel(self.tr("&Environments you can use:"), self)
        self.environments = QTreeWidget(self)
        self.environments.setHeaderLabels(
            [self.tr("Name"), self.tr("Address"), self.tr("Region"), self.tr("Version")]
        )
        self.environments.setRootIsDecorated(False)
        self.environments.setAccessibleName(self.tr("Environments you can use"))
        self.environments.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.environments.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.environments.setMinimumHeight(110)
        self.environments.itemSelectionChanged.connect(self._update_buttons)
        self.environments.itemActivated.connect(lambda *_: self.connect_selected())
        self.environments_label.setBuddy(self.environments)
        self.online_box = QWidget(self)
        online_layout = QVBoxLayout(self.online_box)
        online_layout.setContentsMargins(24, 0, 0, 0)
        online_layout.addLayout(online_form)
        online_layout.addWidget(self.device_panel)
        online_layout.addWidget(self.environments_label)
        online_layout.addWidget(self.environments)

        # -- by URL (on-premises) ------------------------------------------------------------------
        self.url_radio = QRadioButton(self.tr("On-&premises, or enter the organization URL"), self)
        self.url_edit = QLineEdit(self)
        self.url_edit.setPlaceholderText(self.tr("https://crm.contoso.local/Contoso"))
        self.url_edit.textChanged.connect(self._update_buttons)
        self.auth_combo = QComboBox(self)
        self.auth_combo.addItem(self.tr("Windows account (NTLM)"), "ntlm")
        self.auth_combo.addItem(self.tr("Organization account (OAuth, AD FS)"), "oauth")
        self.url_user = QLineEdit(self)
        self.url_user.setPlaceholderText(self.tr("CONTOSO\\anna"))
        self.url_password = PasswordEdit(self)
        self.ca_edit = QLineEdit(self)
        self.ca_edit.setPlaceholderText(self.tr("only for a private certificate authority"))
        browse = QPushButton(self.tr("&Browse…"), self)
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit, 1)
        ca_row.addWidget(browse)
        url_form = QFormLayout()
        url_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._add_row(url_form, self.tr("&Address:"), self.url_edit)
        self._add_row(url_form, self.tr("Sign in wit&h:"), self.auth_combo)
        self._add_row(url_form, self.tr("User na&me:"), self.url_user)
        self._add_row(url_form, self.tr("Passwo&rd:"), self.url_password)
        ca_label = QLabel(self.tr("Certificate au&thority:"), self)
        ca_label.setBuddy(self.ca_edit)
        self.ca_edit.setAccessibleName(self.tr("Certificate authority file"))
        url_form.addRow(ca_label, ca_row)
        self.url_box = QWidget(self)
        url_layout = QVBoxLayout(self.url_box)
        url_layout.setContentsMargins(24, 0, 0, 0)
        url_layout.addLayout(url_form)

        self.mode = QButtonGroup(self)
        self.mode.addButton(self.online_radio)
        self.mode.addButton(self.url_radio)
        self.online_radio.setChecked(True)
        self.mode.buttonToggled.connect(lambda *_: self._mode_changed())

        # -- bottom --------------------------------------------------------------------------------
        self.busy = BusyBar(self)
        self.busy.cancel_requested.connect(self.cancel_step)
        self.banner = MessageBanner(self)
        self.buttons = QDialogButtonBox(self)
        self.connect_button = self.buttons.addButton(
            self.tr("Co&nnect"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(self.connect_selected)
        self.close_button.clicked.connect(self.reject)

        # the choices scroll on a small screen; progress, messages and the buttons stay in view
        content = QWidget(self)
        choices = QVBoxLayout(content)
        choices.setContentsMargins(0, 0, 0, 0)
        choices.addWidget(self.where)
        choices.addWidget(self.online_radio)
        choices.addWidget(self.online_box)
        choices.addWidget(self.url_radio)
        choices.addWidget(self.url_box)
        choices.addStretch(1)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setWidget(content)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.banner)
        layout.addWidget(self.buttons)
        self.resize(fit_to_screen(self, QSize(680, 700)))

        QShortcut(QKeySequence.StandardKey.Copy, self.device_panel, self.device_panel.copy)
        controller.discovered.connect(self._discovered)
        controller.device_code.connect(self._device_code)
        controller.org_added.connect(self._added)
        controller.failed.connect(self._failed)
        controller.busy.connect(self._busy)
        self.cloud_combo.currentIndexChanged.connect(self._cloud_changed)
        self.auth_combo.currentIndexChanged.connect(self._sign_in_method_changed)
        self._cloud_changed()
        self._mode_changed()

    def _add_row(self, form: QFormLayout, text: str, field: QWidget) -> None:
        label = QLabel(text, self)
        label.setBuddy(field)
        field.setAccessibleName(text.replace("&", "").rstrip(":"))
        form.addRow(label, field)

    # -- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Called before the dialog is shown again: messages go, signed-in state and environments stay."""
        self.banner.clear()
        self.device_panel.hide()
        self.url_password.clear()
        self._mark_configured()
        self._update_buttons()

    def forget_sign_in(self) -> None:
        """The account was signed out of this profile (its organization was removed): the environments it
        found are gone, and the next connection signs in again."""
        self.environments.clear()
        self._instances = []
        self._signed_in_user = ""
        self._signed_in_cloud = ""
        self._cloud_changed()  # the chosen cloud's prefill (a preset's user) comes back

    def _mode_changed(self) -> None:
        online = self.online_radio.isChecked()
        self.online_box.setEnabled(online)
        self.url_box.setEnabled(not online)
        self._sign_in_method_changed()
        self._update_buttons()

    def _cloud_changed(self) -> None:
        chosen = self._chosen_cloud()
        if chosen.username:
            self.online_user.setText(chosen.username)
        if chosen.password:
            self.online_password.setText(chosen.password)
        if chosen.ca_file:
            self.ca_edit.setText(chosen.ca_file)
        if self.cloud_combo.currentData() != self._signed_in_cloud:
            self.environments.clear()
            self._instances = []
            self._signed_in_user = ""
            self.signed_in_label.clear()
        self._update_buttons()

    def _update_buttons(self) -> None:
        working = bool(self._op)
        if self.online_radio.isChecked():
            ready = self._selected_instance() is not None
        else:
            ready = bool(self.url_edit.text().strip())
        self.connect_button.setEnabled(ready and not working)
        self.sign_in_button.setEnabled(not working)
        # Return signs in until there is an environment to connect to
        sign_in_first = self.online_radio.isChecked() and not ready
        self.sign_in_button.setDefault(sign_in_first)
        self.connect_button.setDefault(not sign_in_first)

    def _selected_instance(self) -> Instance | None:
        items = self.environments.selectedItems()
        if not items or not items[0].flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        value = items[0].data(0, Qt.ItemDataRole.UserRole)
        return value if isinstance(value, Instance) else None

    def _chosen_cloud(self) -> CloudPreset:
        return self.preset.clouds[max(0, self.cloud_combo.currentIndex())]

    def _cloud(self) -> tuple[str, str, str]:
        """(discovery URL, authority, CA file) of the chosen cloud."""
        chosen = self._chosen_cloud()
        return chosen.discovery_url, chosen.authority, chosen.ca_file

    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            self.tr("Certificate authority"),
            "",
            self.tr("Certificates (*.pem *.crt *.cer);;All files (*)"),
        )
        if path:
            self.ca_edit.setText(path)

    # -- intents -------------------------------------------------------------------------------
    def sign_in(self) -> None:
        discovery_url, authority, ca_file = self._cloud()
        password = self.online_password.text() or None
        self.banner.clear()
        self._signed_in_cloud = self.cloud_combo.currentData()
        self._op = OP_DISCOVER
        self.busy.start(self.tr("Signing in and looking for your environments…"))
        self._update_buttons()
        self.controller.discover(
            discovery_url=discovery_url,
            authority=authority,
            ca_file=ca_file,
            username=self.online_user.text().strip(),
            password=password,
        )

    def connect_selected(self) -> None:
        if not self.connect_button.isEnabled():
            return
        self.banner.clear()
        self._op = OP_CONNECT
        if self.online_radio.isChecked():
            instance = self._selected_instance()
            if instance is None:
                return
            discovery_url, authority, ca_file = self._cloud()
            self.busy.start(self.tr("Connecting to {0}…").format(instance.friendly_name))
            self.controller.connect_org(
                instance.api_url or instance.url,
                username=self._signed_in_user,
                authority=authority,
                ca_file=ca_file,
                discovery_url=discovery_url,
            )
        else:
            url = self.url_edit.text().strip()
            auth_kind = self.auth_combo.currentData()
            self.busy.start(self.tr("Connecting to {0}…").format(url))
            self.controller.connect_org(
                url,
                auth_kind=auth_kind,
                username=self.url_user.text().strip(),
                password=self.url_password.text()
                if (self.url_password.text() or auth_kind == "ntlm")
                else None,
                ca_file=self.ca_edit.text().strip(),
            )
        self._update_buttons()

    def cancel_step(self) -> None:
        if self._op:
            self.controller.cancel(self._op)
            self.busy.cancel_button.setEnabled(False)
            self.busy.label.setText(self.tr("Cancelling…"))

    def reject(self) -> None:
        """Escape / Close while a step runs cancels the step first; the dialog closes once it stopped."""
        if self._op:
            self.cancel_step()
            return
        super().reject()

    # -- answers -------------------------------------------------------------------------------
    def _busy(self, op: str, running: bool) -> None:
        if op == self._op and not running:
            self._op = ""
            self.busy.stop()
            self.device_panel.hide()
            self._update_buttons()

    def _device_code(self, flow: DeviceFlow) -> None:
        if self._op:
            self.device_panel.show_flow(flow)
            self.busy.label.setText(self.tr("Waiting for you to sign in…"))

    def _discovered(self, username: str, instances: list[Instance]) -> None:
        self._signed_in_user = username
        self._instances = list(instances)
        self.signed_in_label.setText(self.tr("Signed in as {0}").format(username))
        self.online_user.setText(username)
        self.environments.clear()
        for instance in instances:
            item = QTreeWidgetItem([instance.friendly_name, instance.url, instance.region, instance.version])
            item.setData(0, Qt.ItemDataRole.UserRole, instance)
            item.setToolTip(1, instance.api_url)
            self.environments.addTopLevelItem(item)
        self._mark_configured()
        if not instances:
            self.banner.show_message(
                "warning",
                self.tr(
                    "{0} can't use any Dynamics 365 environment in this cloud. Check the cloud, or ask your "
                    "administrator for a security role in an environment."
                ).format(username),
            )
            return
        enabled = [i for i in tree_items(self.environments) if i.flags() & Qt.ItemFlag.ItemIsEnabled]
        first = enabled[0] if enabled else None
        if first is not None:
            self.environments.setCurrentItem(first)
        self.environments.setFocus()
        self._update_buttons()

    def _mark_configured(self) -> None:
        configured = {o.id for o in self.controller.profile.organizations}
        for item in tree_items(self.environments):
            instance = item.data(0, Qt.ItemDataRole.UserRole)
            if isinstance(instance, Instance) and instance.id in configured:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setText(0, self.tr("{0} (added)").format(instance.friendly_name))

    def _added(self, org: OrgProfile, became_sync: bool) -> None:
        self._op = ""  # the step is over; its "finished" may arrive after the dialog closed
        self.busy.stop()
        self.online_password.clear()
        self.url_password.clear()
        self.added.emit(org, became_sync)
        self.accept()

    def _failed(self, op: str, error: D365SyncError) -> None:
        if op not in (OP_DISCOVER, OP_CONNECT):
            return
        if isinstance(error, SignInCancelled) or type(error).__name__ == "Cancelled":
            self.banner.show_message("info", self.tr("The sign-in was cancelled."))
            return
        if isinstance(error, WindowsSignInRefused):
            self.banner.show_message(
                "error",
                self.tr(
                    "{0} is a Dynamics 365 (online) organization and does not accept Windows sign-in: choose "
                    "Organization account (OAuth, AD FS) to sign in with your Microsoft 365 account."
                ).format(error.host),
            )
            return
        self.banner.show_message("error", engine_texts.translate(error.user_text))

    def _sign_in_method_changed(self) -> None:
        """An error about the previous sign-in method no longer applies."""
        if self.banner.kind == "error" and not self._op:
            self.banner.clear()

    def closeEvent(self, event: Any) -> None:
        if self._op:
            self.cancel_step()
            event.ignore()
            return
        super().closeEvent(event)
