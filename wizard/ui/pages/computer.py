"""Synchronizing computer: who holds the claim, since when, last seen; "Make this computer the synchronizing client"."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QDateTime, QLocale, QTime
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from wizard.app.instance import hostname
from wizard.crm.records import Claim
from wizard.ui.controller import OP_CLAIM, OP_CLAIM_READ, OP_RELEASE, ClaimInfo, WizardController
from wizard.ui.pages.base import BasePage
from wizard.ui.widgets import ask, hint


class ComputerPage(BasePage):
    OPS = (OP_CLAIM_READ, OP_CLAIM, OP_RELEASE)

    def __init__(self, controller: WizardController, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.setTitle(self.tr("Synchronizing computer"))
        self.setSubTitle(
            self.tr(
                "Only one computer synchronizes your mailbox with Dynamics 365. Decide whether it is this one."
            )
        )
        self.info: ClaimInfo | None = None
        self.this_computer = QLabel(self)
        self.holder = QLabel(self)
        self.holder.setWordWrap(True)
        self.claim_button = QPushButton(self.tr("&Make this computer the synchronizing client"), self)
        self.claim_button.setAutoDefault(False)
        self.claim_button.clicked.connect(self.make_this_computer)
        self.release_button = QPushButton(self.tr("&Stop synchronizing on this computer"), self)
        self.release_button.setAutoDefault(False)
        self.release_button.clicked.connect(self.release)
        self.refresh_button = QPushButton(self.tr("&Refresh"), self)
        self.refresh_button.setAutoDefault(False)
        self.refresh_button.clicked.connect(self.refresh)
        self.explanation = hint(
            self.tr(
                "If you don't, you can still connect and browse, but nothing is synchronized from this computer."
            ),
            self,
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.claim_button)
        buttons.addWidget(self.release_button)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        self.body.addWidget(self.this_computer)
        self.body.addWidget(self.holder)
        self.body.addSpacing(8)
        self.body.addLayout(buttons)
        self.body.addWidget(self.explanation)
        self.body.addStretch(1)
        controller.claim_loaded.connect(self._loaded)
        controller.claimed.connect(self._claimed)
        controller.claim_conflict.connect(self._conflict)
        controller.released.connect(self._released)

    def initializePage(self) -> None:
        self.this_computer.setText(self.tr("This computer: <b>{0}</b>").format(hostname()))
        self.refresh()

    def refresh(self) -> None:
        org = self.controller.profile.sync_org
        if org is None:
            self.holder.setText("")
            self.banner.show_message(
                "warning",
                self.tr("No organization synchronizes, so there is no synchronizing computer to choose."),
            )
            self.update_controls()
            return
        self.run_step(
            OP_CLAIM_READ, self.tr("Asking {0} which computer synchronizes…").format(org.display_name)
        )
        self.controller.read_claim()

    def update_controls(self) -> None:
        idle = not self.running
        has_org = self.controller.profile.sync_org is not None
        held_here = self.info is not None and self.info.held_here
        self.claim_button.setVisible(not held_here)
        self.claim_button.setEnabled(idle and has_org)
        self.release_button.setVisible(held_here)
        self.release_button.setEnabled(idle)
        self.refresh_button.setEnabled(idle and has_org)
        self.explanation.setVisible(not held_here)

    # -- formatting ------------------------------------------------------------------------------
    def _when(self, moment: dt.datetime) -> str:
        local = moment.astimezone()
        when = QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute))
        return QLocale().toString(when, "d MMM yyyy, HH:mm")

    def _ago(self, moment: dt.datetime) -> str:
        seconds = max(0, int((dt.datetime.now(dt.UTC) - moment).total_seconds()))
        if seconds < 120:
            return self.tr("just now")
        if seconds < 7200:
            return self.tr("{0} minutes ago").format(seconds // 60)
        if seconds < 2 * 86400:
            return self.tr("{0} hours ago").format(seconds // 3600)
        return self.tr("{0} days ago").format(seconds // 86400)

    def describe(self, info: ClaimInfo) -> str:
        claim = info.claim
        if claim is None:
            return self.tr("No computer synchronizes for you in {0} yet.").format(info.org_name)
        if info.held_here:
            return self.tr("This computer is the synchronizing client for {0}, since {1}.").format(
                info.org_name, self._when(claim.claimed_at)
            )
        return self.tr("The synchronizing client for {0} is: <b>{1}</b>, since {2} (last seen {3}).").format(
            info.org_name, claim.hostname, self._when(claim.claimed_at), self._ago(claim.heartbeat)
        )

    # -- intents ---------------------------------------------------------------------------------
    def confirm(self, title: str, text: str) -> bool:
        """A yes/no question (tests replace this)."""
        return ask(self, title, text)

    def make_this_computer(self) -> None:
        holder = self.info.claim if self.info is not None else None
        force = False
        if holder is not None and not self.info.held_here:  # type: ignore[union-attr]
            if not self._ask_take_over(holder):
                return
            force = True
        self.run_step(OP_CLAIM, self.tr("Making this computer the synchronizing client…"), cancellable=False)
        self.controller.claim(force=force)

    def _ask_take_over(self, holder: Claim) -> bool:
        return self.confirm(
            self.tr("Synchronizing computer"),
            self.tr(
                "{0} is the synchronizing client for your mailbox (last seen {1}).\n\n"
                "Make this computer the synchronizing client? {0} will stop synchronizing."
            ).format(holder.hostname, self._ago(holder.heartbeat)),
        )

    def release(self) -> None:
        self.run_step(OP_RELEASE, self.tr("Releasing the synchronizing client…"), cancellable=False)
        self.controller.release()

    # -- answers ---------------------------------------------------------------------------------
    def _loaded(self, info: ClaimInfo) -> None:
        self.info = info
        self.holder.setText(self.describe(info))
        self.update_controls()

    def _claimed(self, claim: Claim) -> None:
        if self.info is not None:
            self.info = ClaimInfo(self.info.this_hostname, self.info.this_instance, claim, self.info.org_name)
            self.holder.setText(self.describe(self.info))
        self.banner.show_message("ok", self.tr("This computer is now the synchronizing client."))
        self.update_controls()

    def _released(self) -> None:
        if self.info is not None:
            self.info = ClaimInfo(self.info.this_hostname, self.info.this_instance, None, self.info.org_name)
            self.holder.setText(self.describe(self.info))
        self.banner.show_message(
            "info", self.tr("This computer no longer synchronizes. Another computer can now take over.")
        )
        self.update_controls()

    def _conflict(self, holder: Claim) -> None:
        """Another computer claimed in the meantime: show it and ask again."""
        if self.info is not None:
            self.info = ClaimInfo(
                self.info.this_hostname, self.info.this_instance, holder, self.info.org_name
            )
            self.holder.setText(self.describe(self.info))
        self.update_controls()
        if self._ask_take_over(holder):
            self.run_step(
                OP_CLAIM, self.tr("Making this computer the synchronizing client…"), cancellable=False
            )
            self.controller.claim(force=True)
        else:
            self.banner.show_message(
                "info",
                self.tr("{0} stays the synchronizing client; this computer will not synchronize.").format(
                    holder.hostname
                ),
            )

    @property
    def is_synchronizing_here(self) -> bool:
        return self.info is not None and self.info.held_here
