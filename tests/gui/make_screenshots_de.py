"""The German screenshots: tests/gui/make_screenshots.py and make_status_screenshots.py with the German
translation, into docs/screenshots/de/.

Run: ``python -m tests.gui.make_screenshots_de [--out DIR]``. ``D365SYNC_LANG=de`` is set before the wizard
is built, so the product's own loader (wizard.ui.i18n, called by ``application()``) picks German up, with
Qt's German wizard buttons; nothing in make_screenshots.py knows about languages.
"""

from __future__ import annotations

import os
import sys

from tests.gui import make_screenshots, make_status_screenshots
from wizard.ui.i18n import LANG_ENV

DEFAULT_OUT = make_screenshots.DEFAULT_OUT / "de"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--out" not in args:
        args += ["--out", str(DEFAULT_OUT)]
    os.environ[LANG_ENV] = "de"
    return make_screenshots.main(args) or make_status_screenshots.main(args)


if __name__ == "__main__":
    sys.exit(main())
