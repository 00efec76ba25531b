"""Mailbox: the one primary mailbox. Address (prefilled with the Primary Email), type, Test, Bind.

The rules (address = Primary Email, one user per mailbox, one mailbox per user) are enforced by wizard.app.mailbox;
their messages appear here as they are, in the page.
"""

from __future__ import annotations

import re

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from wizard.crm.records import ADDRESS_MISMATCH_TEXT
from wizard.errors import D365SyncError
from wizard.mailbox.base import AutodiscoverRedirect
from wizard.settings import MailboxBinding
from wizard.ui import engine_texts, presets
from wizard.ui.controller import (
    OP_MAILBOX_BIND,
    OP_MAILBOX_TEST,
    OP_MAILBOX_UNBIND,
    OP_PRIMARY_EMAIL,
    WizardController,
)
from wizard.ui.pages.base import BasePage
from wizard.ui.presets import Preset
from wizard.ui.widgets import MessageBanner, PasswordEdit, ask, hint

TYPE_AUTODISCOVER = "autodiscover"
TYPE_EWS_URL = "ews_url"
TYPE_ONLINE = "exchange_online"
TYPE_POP3 = "pop3"

# The Primary Email rule's refusals (wizard.crm.records.check_mailbox_address), to show them in the user's language
_MISMATCH = re.compile(
    re.escape(ADDRESS_MISMATCH_TEXT)
    + r" Your Primary Email in Dynamics 365 is (?P<primary>.+?), the mailbox is (?P<address>.+?)\. Either use "
    r"the mailbox (?P=primary), or have the Primary Email on your user record in Dynamics 365 changed to the "
    r"mailbox address\."
)
_NO_PRIMARY = (
    f"{ADDRESS_MISMATCH_TEXT} Your user record in Dynamics 365 has no Primary Email; ask your administrator to "
    "set it to your mailbox address."
)
_BOUND_ELSEWHERE = re.compile(
    r"The mailbox (?P<address>.+?) is already bound to (?P<holder>.+?) in Dynamics 365\. A mailbox can belong "
    r"to one user only; ask your administrator to correct the other user's mailbox record\."
)


class MailboxPage(BasePage):
    OPS = (OP_PRIMARY_EMAIL, OP_MAILBOX_TEST, OP_MAILBOX_BIND, OP_MAILBOX_UNBIND)

    def __init__(
        self, controller: WizardController, preset: Preset | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(controller, parent)
        self.preset = preset or presets.standard()
        self.setTitle(self.tr("Your primary mailbox"))
        self.setSubTitle(
            self.tr(
                "The mailbox that synchronizes with your synchronizing organization. Its address must be your "
                "Primary Email in Dynamics 365."
            )
        )
        self.primary_email = ""
        self._email_for = ""  # the organization the Primary Email was read from
        self.tested: MailboxBinding | None = None
        # Autodiscover servers outside the address's domain that the user allowed, per address (lower case)
        self.allowed_redirects: dict[str, list[str]] = {}
        self._redirect: tuple[str, AutodiscoverRedirect] | None = None  # asked about once the step has ended

        self.address = QLineEdit(self)
        self.address.setPlaceholderText(self.tr("anna.schmidt@contoso.com"))
        self.address_hint = hint("", self)
        self.address_hint.setWordWrap(False)
        self.username = QLineEdit(self)
        self.username.setPlaceholderText(self.tr("only if it differs from the address"))
        self.password = PasswordEdit(self)
        self.exchange_auth = QComboBox(self)
        self.exchange_auth.addItem(self.tr("Windows (NTLM)"), "ntlm")
        self.exchange_auth.addItem(self.tr("Basic (over TLS only)"), "basic")
        self.exchange_auth.addItem(self.tr("Your Dynamics 365 sign-in (OAuth)"), "oauth2")

        # -- type ----------------------------------------------------------------------------------
        self.type_group = QButtonGroup(self)
        self.autodiscover_radio = QRadioButton(self.tr("E&xchange (find the server automatically)"), self)
        self.ews_radio = QRadioButton(self.tr("Exchange, server &URL:"), self)
        self.online_radio = QRadioButton(self.tr("Exchange &Online (Microsoft 365)"), self)
        self.pop3_radio = QRadioButton(self.tr("&POP3 + SMTP (email only)"), self)
        for kind, radio in (
            (TYPE_AUTODISCOVER, self.autodiscover_radio),
            (TYPE_EWS_URL, self.ews_radio),
            (TYPE_ONLINE, self.online_radio),
            (TYPE_POP3, self.pop3_radio),
        ):
            radio.setProperty("kind", kind)
            self.type_group.addButton(radio)
        self.autodiscover_radio.setChecked(True)
        self.autodiscover_url = QLineEdit(self)
        self.autodiscover_url.setPlaceholderText(
            self.tr("https://autodiscover.contoso.com/autodiscover/autodiscover.svc")
        )
        self.autodiscover_url.setAccessibleName(self.tr("Autodiscover service URL"))
        self.ews_url = QLineEdit(self)
        self.ews_url.setPlaceholderText("https://mail.contoso.com/EWS/Exchange.asmx")
        self.ews_url.setAccessibleName(self.tr("Exchange server URL"))
        self.pop3_host = QLineEdit(self)
        self.pop3_host.setPlaceholderText(self.tr("POP3 server"))
        self.pop3_host.setAccessibleName(self.tr("POP3 server"))
        self.pop3_port = self._port(995, self.tr("POP3 port"))
        self.pop3_tls = self._tls(self.tr("POP3 security"), "ssl")
        self.smtp_host = QLineEdit(self)
        self.smtp_host.setPlaceholderText(self.tr("SMTP server"))
        self.smtp_host.setAccessibleName(self.tr("SMTP server"))
        self.smtp_port = self._port(587, self.tr("SMTP port"))
        self.smtp_tls = self._tls(self.tr("SMTP security"), "starttls")
        self.pop3_tls.currentIndexChanged.connect(
            lambda: self.pop3_port.setValue(995 if self.pop3_tls.currentData() == "ssl" else 110)
        )
        self.smtp_tls.currentIndexChanged.connect(
            lambda: self.smtp_port.setValue(465 if self.smtp_tls.currentData() == "ssl" else 587)
        )

        types = QGridLayout()
        types.setColumnMinimumWidth(0, 20)
        types.addWidget(self.autodiscover_radio, 0, 0, 1, 2)
        autodiscover_row = QHBoxLayout()
        self.autodiscover_label = QLabel(self.tr("Autodiscover &service (optional):"), self)
        self.autodiscover_label.setBuddy(self.autodiscover_url)
        autodiscover_row.addWidget(self.autodiscover_label)
        autodiscover_row.addWidget(self.autodiscover_url, 1)
        types.addLayout(autodiscover_row, 1, 1)
        types.addWidget(self.ews_radio, 2, 0, 1, 2)
        types.addWidget(self.ews_url, 3, 1)
        types.addWidget(self.online_radio, 4, 0, 1, 2)
        types.addWidget(self.pop3_radio, 5, 0, 1, 2)
        self.pop3_box = QWidget(self)
        pop3 = QGridLayout(self.pop3_box)
        pop3.setContentsMargins(0, 0, 0, 0)
        for row, (name, host, port, tls) in enumerate(
            (
                (self.tr("POP3:"), self.pop3_host, self.pop3_port, self.pop3_tls),
                (self.tr("SMTP:"), self.smtp_host, self.smtp_port, self.smtp_tls),
            )
        ):
            label = QLabel(name, self)
            label.setBuddy(host)
            pop3.addWidget(label, row, 0)
            pop3.addWidget(host, row, 1)
            port_label = QLabel(self.tr("Port:"), self)
            port_label.setBuddy(port)
            pop3.addWidget(port_label, row, 2)
            pop3.addWidget(port, row, 3)
            pop3.addWidget(tls, row, 4)
        pop3.setColumnStretch(1, 1)
        types.addWidget(self.pop3_box, 6, 1)
        self.type_group.buttonToggled.connect(lambda *_: self._type_changed())

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self._row(form, self.tr("&Address:"), self.address)
        form.addRow("", self.address_hint)
        type_label = QLabel(self.tr("Type:"), self)
        type_label.setBuddy(self.autodiscover_radio)
        form.addRow(type_label, types)
        self._row(form, self.tr("User na&me:"), self.username)
        self._row(form, self.tr("Pass&word:"), self.password)
        self._row(form, self.tr("Exchange si&gn-in:"), self.exchange_auth)

        self.test_button = QPushButton(self.tr("&Test"), self)
        self.bind_button = QPushButton(self.tr("B&ind this mailbox"), self)
        self.unbind_button = QPushButton(self.tr("Unbin&d"), self)
        for button in (self.test_button, self.bind_button, self.unbind_button):
            button.setAutoDefault(False)
        self.test_button.clicked.connect(self.test)
        self.bind_button.clicked.connect(self.bind)
        self.unbind_button.clicked.connect(self.unbind)
        actions = QHBoxLayout()
        actions.addWidget(self.test_button)
        actions.addWidget(self.bind_button)
        actions.addStretch(1)
        actions.addWidget(self.unbind_button)
        self.bound_banner = MessageBanner(self)

        self.body.addLayout(form)
        self.body.addLayout(actions)
        self.body.addWidget(self.bound_banner)
        self.body.addStretch(1)

        controller.primary_email_found.connect(self._primary_email)
        controller.mailbox_tested.connect(self._tested)
        controller.mailbox_changed.connect(self._bound_changed)
        self.address.textChanged.connect(self.update_controls)
        prefill = self.preset.mailbox
        if prefill.exchange_auth:
            self.exchange_auth.setCurrentIndex(self.exchange_auth.findData(prefill.exchange_auth))
        self.autodiscover_url.setText(prefill.autodiscover_url)
        self.password.setText(prefill.password)
        self._type_changed()

    def _row(self, form: QFormLayout, text: str, field: QWidget) -> None:
        label = QLabel(text, self)
        label.setBuddy(field)
        field.setAccessibleName(text.replace("&", "").rstrip(":"))
        form.addRow(label, field)

    def _port(self, value: int, name: str) -> QSpinBox:
        box = QSpinBox(self)
        box.setRange(1, 65535)
        box.setValue(value)
        box.setAccessibleName(name)
        return box

    def _tls(self, name: str, value: str) -> QComboBox:
        box = QComboBox(self)
        box.addItem(self.tr("SSL/TLS"), "ssl")
        box.addItem(self.tr("STARTTLS"), "starttls")
        box.setCurrentIndex(box.findData(value))
        box.setAccessibleName(name)
        return box

    # -- page life -------------------------------------------------------------------------------
    def initializePage(self) -> None:
        profile = self.controller.profile
        self._show_bound(profile.mailbox)
        if profile.mailbox is not None and not self.address.text():
            self._load_binding(profile.mailbox)
        elif (
            profile.mailbox is None
            and profile.sync_org is not None
            and profile.sync_org.auth_kind == "ntlm"
            and not self.username.text()
        ):
            # on premises, Exchange takes the same Windows account as the organization (DOMAIN\user), which
            # is rarely the email address
            self.username.setText(profile.sync_org.username)
            self.exchange_auth.setCurrentIndex(self.exchange_auth.findData("ntlm"))
        if profile.sync_org is None:
            self.banner.show_message(
                "warning",
                self.tr(
                    "No organization synchronizes, so no mailbox can be bound. Go back and choose a "
                    "synchronizing organization, or continue without a mailbox."
                ),
            )
        elif (not self.primary_email or self._email_for != profile.sync_org.id) and not self.running:
            self._email_for = profile.sync_org.id
            self.run_step(
                OP_PRIMARY_EMAIL,
                self.tr("Looking up your Primary Email in {0}…").format(profile.sync_org.display_name),
            )
            self.controller.find_primary_email()
        self.update_controls()

    def _load_binding(self, binding: MailboxBinding) -> None:
        self.address.setText(binding.address)
        if binding.autodiscover_redirects:
            self.allowed_redirects[binding.address.lower()] = list(binding.autodiscover_redirects)
        self.username.setText(binding.username)
        if binding.kind == "pop3":
            self.pop3_radio.setChecked(True)
            self.pop3_host.setText(binding.pop3_host)
            self.pop3_port.setValue(binding.pop3_port)
            self.smtp_host.setText(binding.smtp_host)
            self.smtp_port.setValue(binding.smtp_port)
        elif binding.kind == "exchange_online":
            self.online_radio.setChecked(True)
        elif binding.autodiscovered or not binding.ews_url:
            self.autodiscover_radio.setChecked(True)
            self.autodiscover_url.setText(binding.autodiscover_url)
        else:
            self.ews_radio.setChecked(True)
            self.ews_url.setText(binding.ews_url)

    def kind(self) -> str:
        button = self.type_group.checkedButton()
        return str(button.property("kind")) if button is not None else TYPE_AUTODISCOVER

    def _type_changed(self) -> None:
        kind = self.kind()
        self.autodiscover_url.setEnabled(kind == TYPE_AUTODISCOVER)
        self.autodiscover_label.setEnabled(kind == TYPE_AUTODISCOVER)
        self.ews_url.setEnabled(kind == TYPE_EWS_URL)
        self.pop3_box.setEnabled(kind == TYPE_POP3)
        self.exchange_auth.setEnabled(kind in (TYPE_AUTODISCOVER, TYPE_EWS_URL))
        self.password.setEnabled(kind != TYPE_ONLINE)
        self.username.setEnabled(kind != TYPE_ONLINE)
        self.tested = None
        self.update_controls()

    def update_controls(self) -> None:
        idle = not self.running
        has_org = self.controller.profile.sync_org is not None
        ready = idle and has_org and bool(self.address.text().strip())
        self.test_button.setEnabled(ready)
        self.bind_button.setEnabled(ready)
        self.unbind_button.setVisible(self.controller.profile.mailbox is not None)
        self.unbind_button.setEnabled(idle)

    # -- intents ---------------------------------------------------------------------------------
    def binding(self) -> MailboxBinding:
        """The binding the fields describe."""
        kind = self.kind()
        ca_file = self.preset.mailbox.ca_file
        address = self.address.text().strip()
        username = self.username.text().strip()
        if kind == TYPE_POP3:
            return MailboxBinding(
                address=address,
                kind="pop3",
                username=username,
                pop3_host=self.pop3_host.text().strip(),
                pop3_port=self.pop3_port.value(),
                pop3_tls=self.pop3_tls.currentData(),
                smtp_host=self.smtp_host.text().strip(),
                smtp_port=self.smtp_port.value(),
                smtp_tls=self.smtp_tls.currentData(),
                ca_file=ca_file,
            )
        if kind == TYPE_ONLINE:
            graph_url = self.preset.mailbox.graph_url
            return MailboxBinding(
                address=address, kind="exchange_online", auth="oauth2", graph_url=graph_url, ca_file=ca_file
            )
        return MailboxBinding(
            address=address,
            kind="exchange",
            username=username,
            auth=self.exchange_auth.currentData(),
            ews_url=self.ews_url.text().strip() if kind == TYPE_EWS_URL else "",
            autodiscover_url=self.autodiscover_url.text().strip() if kind == TYPE_AUTODISCOVER else "",
            autodiscover_redirects=list(self.allowed_redirects.get(address.lower(), [])),
            ca_file=ca_file,
        )

    def _password(self, binding: MailboxBinding) -> str | None:
        if binding.auth == "oauth2" and binding.kind != "pop3":
            return None
        return self.password.text() or None

    def test(self) -> None:
        binding = self.binding()
        text = (
            self.tr("Looking for your Exchange server (Autodiscover)…")
            if binding.kind == "exchange" and not binding.ews_url
            else self.tr("Connecting to your mailbox…")
        )
        self.run_step(OP_MAILBOX_TEST, text, cancellable=False)
        self.controller.test_mailbox(binding, self._password(binding))

    def bind(self) -> None:
        binding = self.binding()
        self.run_step(OP_MAILBOX_BIND, self.tr("Binding {0}…").format(binding.address), cancellable=False)
        self.controller.bind_mailbox(binding, self._password(binding))

    def confirm(self, title: str, text: str) -> bool:
        """A yes/no question (tests replace this)."""
        return ask(self, title, text)

    def unbind(self) -> None:
        """Unbind after asking, as ``d365sync mailbox unbind`` does."""
        bound = self.controller.profile.mailbox
        if bound is None:
            return
        question = self.tr(
            "Unbind {0}? Nothing is synchronized with a mailbox until you bind one again."
        ).format(bound.address)
        if not self.confirm(self.tr("Unbind the mailbox"), question):
            return
        self.run_step(OP_MAILBOX_UNBIND, self.tr("Unbinding the mailbox…"), cancellable=False)
        self.controller.unbind_mailbox()

    # -- answers ---------------------------------------------------------------------------------
    def _primary_email(self, address: str) -> None:
        previous, self.primary_email = self.primary_email, address
        if address:
            self.address_hint.setText(self.tr("Your Primary Email in Dynamics 365 is {0}.").format(address))
            if self.address.text().strip() in ("", previous):
                self.address.setText(address)
        else:
            self.address_hint.setText(
                self.tr(
                    "Your user record in Dynamics 365 has no Primary Email; ask your administrator to set it."
                )
            )

    def _describe(self, binding: MailboxBinding) -> str:
        if binding.kind == "pop3":
            text = self.tr("POP3 {0}:{1}").format(binding.pop3_host, binding.pop3_port)
            if binding.smtp_host:
                text += self.tr(", SMTP {0}:{1}").format(binding.smtp_host, binding.smtp_port)
            return text
        if binding.kind == "exchange_online":
            return self.tr("Exchange Online")
        if binding.autodiscovered:
            return self.tr("Exchange at {0} (found by Autodiscover)").format(binding.ews_url)
        return self.tr("Exchange at {0}").format(binding.ews_url)

    def _tested(self, binding: MailboxBinding) -> None:
        self.tested = binding
        self.banner.show_message(
            "ok", self.tr("Found {0}. Click Bind this mailbox to use it.").format(self._describe(binding))
        )

    def _bound_changed(self, binding: MailboxBinding | None) -> None:
        self._show_bound(binding)
        if binding is not None:
            self.banner.show_message(
                "ok", self.tr("{0} is now your primary mailbox.").format(binding.address)
            )
        else:
            self.banner.show_message("info", self.tr("The mailbox was unbound."))
        self.update_controls()

    def _show_bound(self, binding: MailboxBinding | None) -> None:
        if binding is None:
            self.bound_banner.show_message(
                "info",
                self.tr("No mailbox is bound yet. Without one, nothing is synchronized with a mailbox."),
            )
            return
        profile = self.controller.profile
        sync_org, bound_in = profile.sync_org, profile.org(binding.org_id) if binding.org_id else None
        if sync_org is not None and bound_in is not None and bound_in.id != sync_org.id:
            # after a switch the binding is on the previous organization's mailbox record until it is bound
            # (or found bound) in the new one (wizard.app.mailbox.mailbox_readiness): never say "Bound" then
            self.bound_banner.show_message(
                "warning",
                self.tr(
                    "{0} is bound in {1}, not yet in {2}, the synchronizing organization. Click Bind this "
                    "mailbox to bind it there."
                ).format(binding.address, bound_in.display_name, sync_org.display_name),
            )
            return
        self.bound_banner.show_message(
            "ok",
            self.tr("Bound: {0} — {1}").format(binding.address, self._describe(binding)),
        )

    def _on_busy(self, op: str, running: bool) -> None:
        super()._on_busy(op, running)
        if not running and self._redirect is not None and not self.running:
            step, redirect = self._redirect
            self._redirect = None
            self._ask_redirect(step, redirect)

    def _ask_redirect(self, op: str, redirect: AutodiscoverRedirect) -> None:
        """Outlook's question before Autodiscover may follow a redirect to a server outside the address's
        domain (issue 11 item 3); on Yes the step runs again with the server allowed, on No nothing is sent."""
        address = self.address.text().strip()
        question = self.tr(
            "Allow this website to configure {0} server settings?\n\n{1}\n\nYour user name and password "
            "will be sent to this website. Allow it only if you trust it to belong to your mail provider."
        ).format(address, redirect.host)
        if not self.confirm(self.tr("Autodiscover redirect"), question):
            self.banner.show_message(
                "warning",
                self.tr(
                    "Nothing was sent to {0}. To use a different server, choose Exchange, server URL, and "
                    "enter its address (https://…/EWS/Exchange.asmx)."
                ).format(redirect.host),
            )
            return
        allowed = self.allowed_redirects.setdefault(address.lower(), [])
        if redirect.host not in allowed:
            allowed.append(redirect.host)
        if op == OP_MAILBOX_BIND:
            self.bind()
        else:
            self.test()

    def show_error(self, op: str, error: D365SyncError) -> None:
        if isinstance(error, AutodiscoverRedirect) and op in (OP_MAILBOX_TEST, OP_MAILBOX_BIND):
            # asked once the step has ended: the question runs on the GUI thread, the discovery never does
            self._redirect = (op, error)
            return
        if op == OP_PRIMARY_EMAIL:
            self.address_hint.setText(
                self.tr("Your Primary Email could not be read: {0}").format(
                    engine_texts.translate(error.user_text)
                )
            )
            return
        self.banner.show_message("error", self._rule_text(error.user_text))

    def _rule_text(self, text: str) -> str:
        """A refusal of the Primary Email rules in the user's language (other texts as they are)."""
        if text == _NO_PRIMARY:
            return self.tr(
                "To track emails and perform synchronization, your Outlook email address should be the same as "
                "your email address in Microsoft Dynamics 365 apps. Your user record in Dynamics 365 has no "
                "Primary Email; ask your administrator to set it to your mailbox address."
            )
        found = _MISMATCH.fullmatch(text)
        if found is not None:
            return self.tr(
                "To track emails and perform synchronization, your Outlook email address should be the same as "
                "your email address in Microsoft Dynamics 365 apps. Your Primary Email in Dynamics 365 is {0}, "
                "the mailbox is {1}. Either use the mailbox {0}, or have the Primary Email on your user record "
                "in Dynamics 365 changed to the mailbox address."
            ).format(found["primary"], found["address"])
        found = _BOUND_ELSEWHERE.fullmatch(text)
        if found is not None:
            return self.tr(
                "The mailbox {0} is already bound to {1} in Dynamics 365. A mailbox can belong to one user only; "
                "ask your administrator to correct the other user's mailbox record."
            ).format(found["address"], found["holder"])
        return engine_texts.translate(text)
