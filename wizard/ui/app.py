"""The GUI entry point the command line calls: ``run_wizard(factory, preset=...)``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from PySide6.QtCore import QRectF, QSettings, Qt
from PySide6.QtGui import QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QMessageBox, QProxyStyle, QStyle, QStyleOption, QWidget

from wizard.app.factory import Factory
from wizard.app.status import WizardPage
from wizard.errors import D365SyncError
from wizard.paths import use_private_modes
from wizard.ui.controller import WizardController
from wizard.ui.i18n import install_translations
from wizard.ui.icons import icon, palette_is_dark
from wizard.ui.presets import Preset
from wizard.ui.wizard import ConfigurationWizard

__all__ = ["Preset", "application", "create_wizard", "run_wizard"]

# The reverse-DNS id of packaging/linux/<id>.desktop and <id>.metainfo.xml: Wayland's app_id, so the desktop
# shows the window under the launcher's name and icon (X11 matches StartupWMClass= to the application name).
DESKTOP_ID = "io.github.d365sync.D365Sync"


def application() -> QApplication:
    """The QApplication (created once, with the product's names, icon and a palette that follows the system)."""
    use_private_modes()  # QSettings and everything else the GUI writes: private to the user (wizard.paths)
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("d365sync")
    app.setOrganizationName("d365sync")
    app.setApplicationDisplayName("d365sync")
    app.setDesktopFileName(DESKTOP_ID)
    app.setWindowIcon(icon("app"))
    install_translations(app)  # D365SYNC_LANG or the system language; before any widget is built
    _follow_colour_scheme(app)
    return app


COLOR_SCHEME_ENV = "D365SYNC_COLOR_SCHEME"  # "dark" or "light": Fusion with that palette on every platform


def _follow_colour_scheme(app: QApplication) -> None:
    """Windows and macOS styles follow the system's light/dark setting themselves; elsewhere Fusion with a
    light or dark palette as the desktop prefers (and again when it changes). ``D365SYNC_COLOR_SCHEME=dark``
    (or ``light``) chooses one everywhere (screenshots, tests, a desktop that reports no preference)."""
    forced = os.environ.get(COLOR_SCHEME_ENV, "").strip().lower()
    if forced in ("dark", "light"):
        apply_palette(app, dark=forced == "dark")
        return
    if sys.platform in ("win32", "darwin"):
        return
    hints = QGuiApplication.styleHints()

    def apply() -> None:
        apply_palette(app, dark=hints.colorScheme() == Qt.ColorScheme.Dark)

    apply()
    hints.colorSchemeChanged.connect(lambda *_: apply())


class ProductStyle(QProxyStyle):
    """Fusion, with the rim of radio buttons and check boxes in the palette's ``Mid`` colour on a dark palette.

    Fusion draws that rim a shade darker than the window and fills the indicator with ``Base``: on a dark window
    an unchecked radio button is then all but invisible. ``Mid`` of the dark palette keeps 3:1 (WCAG's contrast
    for the parts of a control) against the window."""

    _INDICATORS = (
        QStyle.PrimitiveElement.PE_IndicatorRadioButton,
        QStyle.PrimitiveElement.PE_IndicatorCheckBox,
    )

    def __init__(self) -> None:
        # by name: the proxy makes and owns its Fusion (a Python-owned base style could be collected under it)
        super().__init__("Fusion")

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        super().drawPrimitive(element, option, painter, widget)
        if element not in self._INDICATORS or not palette_is_dark(option.palette):
            return
        rect = QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Mid), 1.2))
        if element == QStyle.PrimitiveElement.PE_IndicatorRadioButton:
            painter.drawEllipse(rect)
        else:
            painter.drawRoundedRect(rect, 1.5, 1.5)
        painter.restore()


def apply_palette(app: QApplication, *, dark: bool) -> None:
    """Fusion with the product's dark palette or Fusion's own light one."""
    style = ProductStyle()
    style.setParent(app)  # owned by the application, which deletes it when another style replaces it
    app.setStyle(style)
    app.setPalette(dark_palette() if dark else app.style().standardPalette())


def dark_palette() -> QPalette:
    """Fusion's roles in dark colours; text keeps a contrast of at least 4.5:1 (placeholder and link too)."""
    from PySide6.QtGui import QColor

    p = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(230, 230, 230)
    role = QPalette.ColorRole
    for r, c in (
        (role.Window, window),
        (role.WindowText, text),
        (role.Base, base),
        (role.AlternateBase, window),
        (role.ToolTipBase, window),
        (role.ToolTipText, text),
        (role.Text, text),
        (role.Button, window),
        (role.ButtonText, text),
        (role.BrightText, QColor(255, 80, 80)),
        (role.Link, QColor(100, 170, 255)),
        (role.Highlight, QColor(38, 110, 200)),
        (role.HighlightedText, QColor(255, 255, 255)),
        (role.PlaceholderText, QColor(150, 150, 150)),
        # the 3D shades Fusion and the proxy style draw frames and indicator rims with (not the light
        # palette's defaults): Mid keeps 3:1 against the window (radio buttons and check boxes)
        (role.Light, QColor(90, 90, 95)),
        (role.Midlight, QColor(70, 70, 74)),
        (role.Mid, QColor(135, 135, 140)),
        (role.Dark, QColor(25, 25, 27)),
        (role.Shadow, QColor(10, 10, 10)),
    ):
        p.setColor(r, c)
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, QColor(120, 120, 120))
    return p


def create_wizard(
    factory: Factory, *, preset: Preset | None = None, page: WizardPage = WizardPage.NONE
) -> ConfigurationWizard:
    """Build the controller and the wizard window (tests and screenshots use this; run_wizard shows it);
    ``page``: open on that page (the status window's "Open the wizard…" for a message about it)."""
    application()
    controller = WizardController(factory)
    wizard = ConfigurationWizard(controller, preset=preset)
    controller.setParent(wizard)
    start = getattr(wizard, f"{page.value}_page", None) if page else None
    if start is not None:
        wizard.setStartId(wizard.pageIds()[wizard.pages.index(start)])
    return wizard


def _settings(factory: Factory) -> QSettings:
    """Window geometry lives beside the profile (QSettings in INI format under the config folder)."""
    return QSettings(str(factory.where.config_dir / "gui.ini"), QSettings.Format.IniFormat)


def run_wizard(factory: Factory, *, preset: Preset | None = None) -> int:
    """Show the Configuration Wizard and run the event loop; 0 when finished, 1 when cancelled."""
    app = application()
    wizard = create_wizard(factory, preset=preset)
    settings = _settings(factory)
    geometry = settings.value("wizard/geometry")
    if geometry is not None:
        wizard.restoreGeometry(geometry)
    wizard.finished.connect(lambda *_: settings.setValue("wizard/geometry", wizard.saveGeometry()))
    wizard.show()
    app.exec()
    wizard.controller.shutdown()
    return 0 if wizard.result() == ConfigurationWizard.DialogCode.Accepted else 1


def run_status(factory: Factory, *, open_wizard: Callable[[WizardPage], None] | None = None) -> int:
    """Show the status window (the home screen after setup) and run the event loop until Quit; 0 then.

    With a system tray the app lives in the tray (closing the window hides it; the tray's Quit ends it);
    without one the window is the app."""
    from wizard.ui.status import build_status_window
    from wizard.ui.tray import StatusTray, tray_available

    app = application()
    window = build_status_window(factory, open_wizard=open_wizard, settings=_settings(factory))
    tray = None
    if tray_available():
        app.setQuitOnLastWindowClosed(False)
        tray = StatusTray(window, quit_app=app.quit)
        tray.show()
    window.show()
    window.start()
    app.exec()
    window.adapter.shutdown(10000)
    window.runner.wait_all(5000)
    window.dispose()
    if tray is not None:
        tray.hide()
    return 0


def reload_after_wizard(factory: Factory, parent: QWidget | None = None) -> bool:
    """Read the profile the wizard wrote (a local file) for the status window. A profile that cannot be read
    any more (damaged or changed by hand meanwhile) is said in a message box, and the window keeps what it had:
    never an exception out of a Qt slot."""
    try:
        factory.reload()
    except D365SyncError as error:
        QMessageBox.warning(parent, "d365sync", error.user_text)
        return False
    return True


def run_home(factory: Factory, *, preset: Preset | None = None) -> int:
    """What plain ``d365sync`` (and ``d365sync demo``) opens: the wizard until an organization synchronizes and
    a mailbox is bound, then the status window, which starts the first sync at once (its "Open the wizard"
    shows the wizard over it)."""
    profile = factory.profile
    if profile.sync_org is None or profile.mailbox is None:
        if run_wizard(factory, preset=preset) != 0:
            return 1
        profile = factory.reload()
        if profile.sync_org is None or profile.mailbox is None:
            return 0

    def open_wizard(page: WizardPage) -> None:
        wizard = create_wizard(factory, preset=preset, page=page)
        wizard.exec()
        wizard.controller.shutdown()
        reload_after_wizard(factory)

    return run_status(factory, open_wizard=open_wizard)
