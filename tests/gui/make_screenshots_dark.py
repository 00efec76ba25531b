"""The dark screenshots: every wizard page and the status window under the product's dark palette, into
docs/screenshots/dark/ (``D365SYNC_LANG=de`` as well gives German ones).

Run: ``python -m tests.gui.make_screenshots_dark [--out DIR]``. ``D365SYNC_COLOR_SCHEME=dark`` is set before
``application()`` runs, which then uses Fusion with the dark palette on any platform, as a desktop in dark mode
does; nothing in the other scripts knows about palettes.
"""

from __future__ import annotations

import os
import sys

from tests.gui import make_screenshots, make_status_screenshots
from wizard.ui.app import COLOR_SCHEME_ENV

DEFAULT_OUT = make_screenshots.DEFAULT_OUT / "dark"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--out" not in args:
        args += ["--out", str(DEFAULT_OUT)]
    os.environ[COLOR_SCHEME_ENV] = "dark"
    return make_screenshots.main(args) or make_status_screenshots.main(args)


if __name__ == "__main__":
    sys.exit(main())
