"""Which language the GUI speaks, and loading it: English (the source), German, and the "pseudo" test locale.

The choice: an explicit ``language`` (a ``--lang`` option), else ``$D365SYNC_LANG``, else the system's UI
languages; English when nothing matches. German loads Qt's own ``qtbase_de.qm`` too, so QWizard's
Next/Back/Finish and the standard dialog buttons are German as well.

Our translation is the built ``wizard/ui/translations/d365sync_<lang>.qm`` (package data, made by
``python -m wizard.ui.build_translations``). The .qm files are build products and not committed; when one
is missing, or older than its ``resources/translations/*.ts`` source (a checkout where someone edited the
.ts and did not rebuild), the .ts itself is read into a :class:`TsTranslator`. That needs neither
``lrelease`` nor a writable cache at run time, and gives the same answers as the .qm.

"pseudo" stretches every string by about 40 % and brackets it (``[Çáàñçéèl]``) so clipped or
untranslatable (unbracketed) texts show up in a GUI run without waiting for a real translation.
"""

from __future__ import annotations

import logging
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from wizard.paths import resources_dir

log = logging.getLogger(__name__)

LANG_ENV = "D365SYNC_LANG"
SOURCE_LANGUAGE = "en"
PSEUDO = "pseudo"
LANGUAGES = ("en", "de")  # the languages a user can get; English is the source text
CATALOG = "d365sync"

QM_DIR = Path(__file__).resolve().parent / "translations"
TS_DIR = resources_dir() / "translations"

_installed: list[QTranslator] = []
_current: str | None = None


# -- choosing ----------------------------------------------------------------------------------------------
def _base(tag: str) -> str:
    return re.split(r"[-_.@]", tag.strip(), maxsplit=1)[0].lower()


def choose_language(language: str | None = None, ui_languages: Sequence[str] | None = None) -> str:
    """The language code to use: ``language``, else ``$D365SYNC_LANG``, else the first of the system's UI
    languages we have; "en" otherwise. An explicit choice we don't have also gives English (never a
    surprise third language from the system)."""
    explicit = language if language else os.environ.get(LANG_ENV, "").strip()
    if explicit:
        if explicit.lower() == PSEUDO:
            return PSEUDO
        base = _base(explicit)
        if base in LANGUAGES:
            return base
        if base not in ("c", "posix"):
            log.warning("No %s translation; using English", explicit)
        return SOURCE_LANGUAGE
    for tag in ui_languages if ui_languages is not None else QLocale.system().uiLanguages():
        if _base(tag) in LANGUAGES:
            return _base(tag)
    return SOURCE_LANGUAGE


# -- reading a .ts without lrelease --------------------------------------------------------------------------
class TsTranslator(QTranslator):
    """A translator fed straight from a Qt Linguist .ts file: finished messages only (unfinished, vanished and
    obsolete ones fall back to the English source, as lrelease would build them)."""

    def __init__(self, ts_file: Path, parent: QCoreApplication | None = None) -> None:
        super().__init__(parent)
        self._messages: dict[tuple[str, str, str], list[str]] = {}
        self._language = ""
        root = ET.parse(ts_file).getroot()
        self._language = root.get("language", "")
        for context in root.iter("context"):
            name = context.findtext("name", "")
            for message in context.iter("message"):
                forms = self._forms(message)
                if forms:
                    key = (name, message.findtext("source", ""), message.findtext("comment", ""))
                    self._messages[key] = forms

    @staticmethod
    def _forms(message: ET.Element) -> list[str]:
        translation = message.find("translation")
        if translation is None or translation.get("type") in ("unfinished", "vanished", "obsolete"):
            return []
        if message.get("numerus") == "yes":
            return [form.text or "" for form in translation.iter("numerusform")]
        return [translation.text or ""] if translation.text else []

    def __len__(self) -> int:
        return len(self._messages)

    def isEmpty(self) -> bool:
        return not self._messages

    def language(self) -> str:
        return self._language

    def translate(
        self, context: str, sourceText: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        """None (a null QString) when we have no translation, so Qt asks the next translator; an empty
        string would end the search and blank the text."""
        forms = self._messages.get((context, sourceText, disambiguation or ""))
        if not forms:
            return None
        # German and English: one singular form, then the plural; other languages would need Qt's rules
        return forms[0] if n == 1 or len(forms) == 1 else forms[min(1, len(forms) - 1)]


# -- the pseudo-locale ------------------------------------------------------------------------------------
# kept verbatim: markup, entities, placeholders, accelerators (the key must stay a plain letter), file filters
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_PROTECTED = re.compile(
    r"</?[a-zA-Z][^<>]*>|&[a-zA-Z]+;|&#\d+;|&&|&[^\s&]|\{\w*\}|%L?\d+|%n|\([^()]*\*[^()]*\)|https?://\S+"
)
_ACCENTS = str.maketrans("aeiouyAEIOUYcCnN", "áéíöüýÁÉÍÖÜÝçÇñÑ")
_DOUBLE = {"a": "à", "e": "è", "i": "ì", "o": "ò", "u": "ù", "A": "À", "E": "È", "I": "Ì", "O": "Ò", "U": "Ù"}
STRETCH = 0.4


def _stretch_plain(text: str) -> str:
    out = []
    for ch in text:
        out.append(ch.translate(_ACCENTS))
        if ch in _DOUBLE:
            out.append(_DOUBLE[ch])
    return "".join(out)


def pseudo_text(text: str) -> str:
    """``"&Cancel"`` -> ``"[&Cááñçéèl~]"``: about 40 % longer, bracketed, markup/placeholders/accelerators kept."""
    if not text.strip() or ";;" in text:  # empty, or a file dialog filter list that Qt parses
        return text
    parts: list[str] = []
    visible = grown = 0
    pos = 0
    for match in _PROTECTED.finditer(text):
        plain = text[pos : match.start()]
        parts.append(_stretch_plain(plain))
        visible += len(plain)
        grown += len(parts[-1])
        parts.append(match.group())
        if not _TAG.fullmatch(match.group()):
            visible += len(match.group())
            grown += len(match.group())
        pos = match.end()
    plain = text[pos:]
    parts.append(_stretch_plain(plain))
    visible += len(plain)
    grown += len(parts[-1])
    body = "".join(parts)
    pad = "~" * max(0, round(visible * (1 + STRETCH)) - grown - 2)
    first = _TAG.match(body)
    if first:  # rich text: brackets inside the leading/trailing tags
        head = first.end()
        last = list(_TAG.finditer(body))[-1]
        tail = last.start() if last.end() == len(body) and last.start() >= head else len(body)
        return f"{body[:head]}[{body[head:tail]}{pad}]{body[tail:]}"
    lead = len(body) - len(body.lstrip())
    trail = len(body.rstrip())
    return f"{body[:lead]}[{body[lead:trail]}{pad}]{body[trail:]}"


class PseudoTranslator(QTranslator):
    """Answers every string of every context (ours and Qt's) with its pseudo form."""

    def isEmpty(self) -> bool:
        return False

    def language(self) -> str:
        return PSEUDO

    def translate(
        self, context: str, sourceText: str, disambiguation: str | None = None, n: int = -1
    ) -> str | None:
        # called from C++ (every Qt widget's tr()): an exception escaping here would take the process down
        try:
            if not sourceText or sourceText == "QT_LAYOUT_DIRECTION":  # Qt's layout switch, not a text
                return None
            return pseudo_text(sourceText)
        except Exception:  # pragma: no cover - a pseudo_text bug must not crash the test run
            log.exception("pseudo translation failed for %r", sourceText)
            return None


# -- loading ------------------------------------------------------------------------------------------------
def ts_file(language: str, ts_dir: Path | None = None) -> Path:
    return (ts_dir or TS_DIR) / f"{CATALOG}_{language}.ts"


def qm_file(language: str, qm_dir: Path | None = None) -> Path:
    return (qm_dir or QM_DIR) / f"{CATALOG}_{language}.qm"


def _product_translator(language: str, qm_dir: Path | None, ts_dir: Path | None) -> QTranslator | None:
    """The built .qm when it is there and not older than its .ts; else the .ts read directly."""
    qm, ts = qm_file(language, qm_dir), ts_file(language, ts_dir)
    ts_newer = ts.is_file() and qm.is_file() and ts.stat().st_mtime > qm.stat().st_mtime
    if qm.is_file() and not ts_newer:
        translator = QTranslator()
        if translator.load(str(qm)):
            return translator
        log.warning("Could not load %s; reading %s instead", qm, ts)
    if ts.is_file():
        try:
            return TsTranslator(ts)
        except ET.ParseError as exc:
            log.warning("Could not read %s: %s", ts, exc)
            return None
    log.warning("No %s translation found (%s, %s); using English", language, qm, ts)
    return None


def _qt_translator(language: str) -> QTranslator | None:
    """Qt's own strings (wizard buttons, standard dialog buttons) in ``language``, if PySide6 ships them."""
    translator = QTranslator()
    if translator.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        return translator
    return None


def remove_translations(app: QCoreApplication | None = None) -> None:
    """Back to the English source texts (tests that switched language clean up with this)."""
    global _current
    app = app or QCoreApplication.instance()
    while _installed:
        translator = _installed.pop()
        if app is not None:
            app.removeTranslator(translator)
    if _current is not None:
        QLocale.setDefault(QLocale.system())
    _current = None


def install_translations(
    app: QCoreApplication,
    language: str | None = None,
    *,
    qm_dir: Path | None = None,
    ts_dir: Path | None = None,
) -> str:
    """Install the translators for :func:`choose_language` (replacing earlier ones) and set the default
    QLocale to match; returns the language code used. Call before the widgets are created: pages translate
    their texts once, when they are built."""
    global _current
    chosen = choose_language(language)
    if chosen == _current and not (qm_dir or ts_dir):
        return chosen
    remove_translations(app)
    if chosen == PSEUDO:
        _installed.append(PseudoTranslator())
        QLocale.setDefault(QLocale("en_US"))
    elif chosen != SOURCE_LANGUAGE:
        for translator in (_qt_translator(chosen), _product_translator(chosen, qm_dir, ts_dir)):
            if translator is not None:
                _installed.append(translator)
        QLocale.setDefault(QLocale(chosen))
    else:
        system = QLocale.system()
        english = system.language() == QLocale.Language.English
        QLocale.setDefault(system if english else QLocale(QLocale.Language.English))
    for translator in _installed:
        app.installTranslator(translator)
    _current = chosen
    return chosen


def current_language() -> str:
    """The language installed by the last :func:`install_translations` ("en" when none was)."""
    return _current or SOURCE_LANGUAGE
