"""Refresh the .ts sources from the code and build the .qm files the GUI loads.

    python -m wizard.ui.build_translations            # lupdate (new strings: unfinished) + lrelease
    python -m wizard.ui.build_translations --check    # 1 when a .ts is stale or has unfinished strings
    python -m wizard.ui.build_translations --no-obsolete   # also drop strings the code no longer has

``pyside6-lupdate`` reads every ``tr()`` / ``QT_TRANSLATE_NOOP`` in wizard/ui/**/*.py into
resources/translations/d365sync_<lang>.ts (without source locations, so a code edit that moves a line does
not churn the .ts); ``pyside6-lrelease`` builds wizard/ui/translations/d365sync_<lang>.qm, which packaging
ships as package data. Run it before building a wheel or bundle; a checkout without .qm files still works
(wizard.ui.i18n reads the .ts then).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wizard.ui.i18n import CATALOG, LANGUAGES, QM_DIR, SOURCE_LANGUAGE, TS_DIR

REPO = Path(__file__).resolve().parents[2]
UI_DIR = Path(__file__).resolve().parent
TARGETS = tuple(lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE)
QT_LANGUAGE = {"de": "de_DE"}

Key = tuple[str, str, str]  # context, source, disambiguation comment


class ToolMissing(RuntimeError):
    """lupdate/lrelease are not in this PySide6 install."""


def tool(name: str) -> str:
    """``pyside6-<name>`` on PATH, else the binary inside the PySide6 package (wheels ship both)."""
    found = shutil.which(f"pyside6-{name}")
    if found:
        return found
    import PySide6

    for candidate in (Path(PySide6.__file__).parent / name, Path(PySide6.__file__).parent / f"{name}.exe"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise ToolMissing(f"pyside6-{name} is not installed (it comes with PySide6-Essentials)")


def sources(ui_dir: Path = UI_DIR) -> list[Path]:
    """The Python files lupdate reads: every module of the GUI package."""
    return sorted(p for p in ui_dir.rglob("*.py") if "__pycache__" not in p.parts)


def _run(args: Sequence[str]) -> None:
    done = subprocess.run(list(args), cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def lupdate(ts: Path, files: Iterable[Path], language: str, *, no_obsolete: bool = False) -> None:
    """Merge the strings of ``files`` into ``ts`` (created when missing); translations are kept."""
    args = [tool("lupdate"), "-locations", "none", "-source-language", "en_US"]
    args += ["-target-language", QT_LANGUAGE.get(language, language)]
    if no_obsolete:
        args.append("-no-obsolete")
    args += [os.path.relpath(f, REPO) for f in files] + ["-ts", str(ts)]
    _run(args)


def lrelease(ts: Path, qm: Path) -> None:
    qm.parent.mkdir(parents=True, exist_ok=True)
    _run([tool("lrelease"), "-silent", str(ts), "-qm", str(qm)])


@dataclass(frozen=True)
class Message:
    key: Key
    translation: str
    state: str  # "" (finished), "unfinished", "vanished" or "obsolete"


def read_ts(ts: Path) -> dict[Key, Message]:
    """Every message of a .ts, by (context, source, comment)."""
    found: dict[Key, Message] = {}
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name", "")
        for message in context.iter("message"):
            key = (name, message.findtext("source", ""), message.findtext("comment", ""))
            translation = message.find("translation")
            if translation is None:
                found[key] = Message(key, "", "unfinished")
                continue
            forms = [f.text or "" for f in translation.iter("numerusform")] or [translation.text or ""]
            found[key] = Message(key, "\n".join(forms), translation.get("type", ""))
    return found


def extracted(files: Iterable[Path]) -> set[Key]:
    """The messages the code has now (lupdate into a scratch .ts)."""
    with tempfile.TemporaryDirectory(prefix="d365sync-lupdate-") as tmp:
        scratch = Path(tmp) / "scratch.ts"
        lupdate(scratch, files, "de")
        return set(read_ts(scratch))


@dataclass(frozen=True)
class Problems:
    missing: list[Key]  # in the code, not in the .ts
    stale: list[Key]  # in the .ts (not marked vanished), not in the code
    unfinished: list[Key]  # untranslated, or marked unfinished/vanished/obsolete

    def __bool__(self) -> bool:
        return bool(self.missing or self.stale or self.unfinished)

    def lines(self) -> list[str]:
        out = [f"new in the code, not translated: {k[0]}: {k[1]!r}" for k in self.missing]
        out += [f"no longer in the code: {k[0]}: {k[1]!r}" for k in self.stale]
        out += [f"not finished (or vanished/obsolete): {k[0]}: {k[1]!r}" for k in self.unfinished]
        return out


def check(ts: Path, files: Iterable[Path]) -> Problems:
    """What keeps ``ts`` from being complete and current for ``files``."""
    have = read_ts(ts)
    code = extracted(files)
    return Problems(
        missing=sorted(code - set(have)),
        stale=sorted(k for k, m in have.items() if k not in code and m.state not in ("vanished", "obsolete")),
        unfinished=sorted(k for k, m in have.items() if m.state or not m.translation),
    )


def build(qm_dir: Path = QM_DIR, ts_dir: Path = TS_DIR) -> list[Path]:
    """lrelease every .ts into ``qm_dir``; the .qm paths."""
    built = []
    for language in TARGETS:
        qm = qm_dir / f"{CATALOG}_{language}.qm"
        lrelease(ts_dir / f"{CATALOG}_{language}.ts", qm)
        built.append(qm)
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="report stale or unfinished .ts files; change nothing"
    )
    parser.add_argument("--no-obsolete", action="store_true", help="drop strings the code no longer has")
    args = parser.parse_args(argv)
    files = sources()
    if args.check:
        bad = False
        for language in TARGETS:
            ts = TS_DIR / f"{CATALOG}_{language}.ts"
            problems = check(ts, files)
            for line in problems.lines():
                print(f"{ts.name}: {line}")
            bad = bad or bool(problems)
        return 1 if bad else 0
    for language in TARGETS:
        ts = TS_DIR / f"{CATALOG}_{language}.ts"
        lupdate(ts, files, language, no_obsolete=args.no_obsolete)
        print(ts.relative_to(REPO))
    for qm in build():
        print(qm.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
