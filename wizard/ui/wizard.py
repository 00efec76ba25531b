"""The Configuration Wizard window: a QWizard with one member per page (Nextcloud's owncloudwizard layout).

The pages talk to the :class:`WizardController` only; this class builds them, wires the controller and
handles closing while a step still runs.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget, QWizard

from wizard.ui.controller import WizardController
from wizard.ui.icons import icon
from wizard.ui.pages.computer import ComputerPage
from wizard.ui.pages.mailbox import MailboxPage
from wizard.ui.pages.offline import OfflinePage
from wizard.ui.pages.options import OptionsPage
from wizard.ui.pages.organizations import OrganizationsPage
from wizard.ui.pages.summary import SummaryPage
from wizard.ui.pages.welcome import WelcomePage
from wizard.ui.presets import Preset
from wizard.ui.widgets import ask, fit_to_screen

MINIMUM_SIZE = QSize(600, 340)
PREFERRED_SIZE = QSize(820, 640)
TITLE = "Configuration Wizard"  # Qt appends the application's display name: "Configuration Wizard — d365sync"


class ConfigurationWizard(QWizard):
    def __init__(
        self, controller: WizardController, *, preset: Preset | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle(self.tr("Configuration Wizard"))
        self.setWindowIcon(icon("app"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setPixmap(QWizard.WizardPixmap.LogoPixmap, icon("app").pixmap(48, 48))
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveHelpButton, False)
        # The pages scroll: the window may shrink to what fits a 1280×720 screen at a scale factor of 2
        # (640×360 logical pixels); it opens at a comfortable size that the screen can hold.
        self.setMinimumSize(MINIMUM_SIZE)
        self.resize(fit_to_screen(self, PREFERRED_SIZE))

        self.welcome_page = WelcomePage(controller, preset, self)
        self.organizations_page = OrganizationsPage(controller, preset, self)
        self.mailbox_page = MailboxPage(controller, preset, self)
        self.computer_page = ComputerPage(controller, self)
        self.options_page = OptionsPage(controller, self)
        self.offline_page = OfflinePage(controller, self)
        self.summary_page = SummaryPage(controller, self.options_page.choice, self._computer_text, self)
        self.pages = [
            self.welcome_page,
            self.organizations_page,
            self.mailbox_page,
            self.computer_page,
            self.options_page,
            self.offline_page,
            self.summary_page,
        ]
        for page in self.pages:
            self.addPage(page)
        if controller.profile.organizations:  # not the first run: straight to the organizations
            self.setStartId(self.pageIds()[1])
        self._profile_at_start = controller.profile.to_dict()
        self.currentIdChanged.connect(lambda _id: QTimer.singleShot(0, self.fit_subtitle))

    def fit_subtitle(self) -> None:
        """Give the header's subtitle the height its width needs. QWizard keeps the height of an earlier layout,
        so a subtitle that wraps to one more line (a narrow window, a scale factor of 2, German) was cut off."""
        page = self.currentPage()
        if page is None or not page.subTitle():
            return
        for label in self.findChildren(QLabel):
            if label.wordWrap() and label.text() == page.subTitle() and label.isVisible():
                needed = label.heightForWidth(label.width())
                if needed > 0 and needed != label.minimumHeight():
                    label.setMinimumHeight(needed)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self.fit_subtitle)

    def _computer_text(self) -> str:
        info = self.computer_page.info
        if info is None:
            return self.tr("unknown (the synchronizing computer was not checked)")
        if info.held_here:
            return self.tr("{0} synchronizes").format(info.this_hostname)
        if info.claim is None:
            return self.tr("{0} does not synchronize (no computer does)").format(info.this_hostname)
        return self.tr("{0} does not synchronize ({1} does)").format(info.this_hostname, info.claim.hostname)

    def has_changes(self) -> bool:
        """Whether closing now loses something: the profile changed since the wizard opened (an organization,
        the mailbox, the synchronizing computer) or the options differ from the saved ones (written on
        Finish only)."""
        if self.controller.profile.to_dict() != self._profile_at_start:
            return True
        return self.options_page.has_changes()

    def confirm(self, title: str, text: str) -> bool:
        """A yes/no question (tests replace this)."""
        return ask(self, title, text)

    def reject(self) -> None:
        """Cancel / Escape / closing the window: ask first when that loses changes; stop running steps
        first, then close."""
        if self.has_changes() and not self.confirm(
            self.tr("Close the Configuration Wizard"),
            self.tr(
                "Close the Configuration Wizard without finishing? The options you chose are not saved, and "
                "the setup is not complete."
            ),
        ):
            return
        if self.controller.is_busy():
            self.controller.runner.cancel_all()
        super().reject()

    def closeEvent(self, event: Any) -> None:
        super().closeEvent(event)  # QDialog calls reject(), which may keep the window open
        if event.isAccepted():
            self.controller.runner.cancel_all()

    def keyPressEvent(self, event: Any) -> None:
        # Return in a multi-line widget or on a focused button must not skip pages; QWizard handles the rest.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self.currentPage().isComplete():
            event.accept()
            return
        super().keyPressEvent(event)
