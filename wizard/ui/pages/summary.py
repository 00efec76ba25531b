"""Summary: what was set up; Finish saves the profile and writes the options to Dynamics 365."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QWidget

from wizard.app.options import OptionsChoice
from wizard.settings.enums import Kind
from wizard.ui.controller import OP_SAVE, WizardController
from wizard.ui.pages.base import BasePage
from wizard.ui.pages.options import KIND_LABELS, POLICIES, TRACKING, _tr


class SummaryPage(BasePage):
    OPS = (OP_SAVE,)

    def __init__(
        self,
        controller: WizardController,
        choice: Callable[[], OptionsChoice],
        computer: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(controller, parent)
        self.setTitle(self.tr("Summary"))
        self.setSubTitle(
            self.tr("Click Finish to save these settings and write your options to Dynamics 365.")
        )
        self._choice = choice
        self._computer = computer
        self.saved = False
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setTextFormat(self.text.textFormat().RichText)
        self.body.addWidget(self.text)
        self.body.addStretch(1)
        controller.saved.connect(self._saved)

    def initializePage(self) -> None:
        self.saved = False
        self.text.setText(self.summary_html())

    def summary_html(self) -> str:
        profile = self.controller.profile
        esc = html.escape
        rows: list[tuple[str, str]] = []
        orgs = []
        for org in profile.organizations:
            name = esc(org.display_name)
            orgs.append(
                self.tr("{0} (synchronizes)").format(f"<b>{name}</b>")
                if org.id == profile.sync_org_id
                else name
            )
        rows.append((self.tr("Organizations"), "<br>".join(orgs) or self.tr("none")))
        if profile.sync_org is None:
            rows.append(
                ("", self.tr("Messaging data will not be synchronized: no organization synchronizes."))
            )
        mailbox = profile.mailbox
        rows.append(
            (
                self.tr("Mailbox"),
                esc(f"{mailbox.address} ({mailbox.ews_url or mailbox.pop3_host or mailbox.kind})")
                if mailbox is not None
                else self.tr("none bound — nothing is synchronized with a mailbox"),
            )
        )
        rows.append((self.tr("This computer"), esc(self._computer())))
        choice = self._choice()
        sync = choice.sync
        kinds = [_tr(label) for kind, label in KIND_LABELS if sync.kinds.get(kind, True)]
        rows.append((self.tr("Synchronize"), esc(", ".join(kinds)) or self.tr("nothing")))
        if sync.kinds.get(Kind.EMAIL, True) and choice.selected_tracking is not None:
            rows.append((self.tr("Track"), esc(_tr(dict(TRACKING)[choice.selected_tracking]))))
        rows.append(
            (self.tr("Send email from Dynamics 365"), self.tr("yes") if sync.send_email else self.tr("no"))
        )
        if sync.interval_minutes:
            rows.append((self.tr("Interval"), self.tr("every {0} minutes").format(sync.interval_minutes)))
        policy = sync.policy_for(Kind.CONTACTS)  # one choice for every kind
        rows.append((self.tr("Conflicts"), esc(_tr(dict(POLICIES).get(policy, policy)))))
        if choice.filter_active:
            on = sum(1 for v in choice.filter_active.values() if v)
            off = len(choice.filter_active) - on
            rows.append((self.tr("Filters"), self.tr("{0} to activate, {1} to deactivate").format(on, off)))
        body = "".join(
            f"<tr><td style='padding-right:16px; vertical-align:top'><b>{esc(k)}</b></td><td>{v}</td></tr>"
            for k, v in rows
        )
        return f"<table cellspacing='4'>{body}</table>"

    def validatePage(self) -> bool:
        """Finish: the first click starts the save; the wizard closes once it succeeded."""
        if self.saved:
            return True
        if not self.running:
            self.run_step(OP_SAVE, self.tr("Saving your settings…"), cancellable=False)
            self.controller.save(self._choice())
        return False

    def _saved(self) -> None:
        self.saved = True
        wizard = self.wizard()
        if wizard is not None:
            wizard.accept()
