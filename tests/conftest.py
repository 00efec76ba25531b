"""Test isolation: every test gets a throw-away D365SYNC_HOME and the test keyring backend; Qt runs offscreen."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("D365SYNC_LANG", "en")  # GUI tests read English texts, whatever the machine's locale
os.environ["PYTHON_KEYRING_BACKEND"] = "tests.support.keyring_backend.TestKeyring"
# The suite's keyring keeps its made-up secrets in clear in each test's own folder: it accepts that risk with the
# product's documented opt-in (tests that check the refusal remove it).
os.environ["D365SYNC_ALLOW_INSECURE_KEYRING"] = "plaintext-on-disk"
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh D365SYNC_HOME and keyring for each test (subprocesses inherit both)."""
    from tests.support.keyring_backend import TestKeyring

    home = tmp_path / "d365sync-home"
    home.mkdir()
    monkeypatch.setenv("D365SYNC_HOME", str(home))
    previous = keyring.get_keyring()
    keyring.set_keyring(TestKeyring())
    try:
        yield home
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def _keep_umask() -> Iterator[None]:
    """The program's entry points set umask 077 (wizard.paths.use_private_modes); a test that calls one in
    this process must not leave it to the next tests (the Dovecot helper's files must stay readable)."""
    before = os.umask(0o022)
    os.umask(before)
    try:
        yield
    finally:
        os.umask(before)


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """``wizard.logging_setup.configure`` sets up the root logger once per process; a test that runs the CLI
    in this process must not leave its log file (in its own throw-away home) to the next tests, whose
    ``main()`` would then log there instead of into their own home."""
    import logging

    from wizard.logging_setup import ConsoleFormatter, RedactingFormatter

    try:
        yield
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if isinstance(handler.formatter, (ConsoleFormatter, RedactingFormatter)):
                root.removeHandler(handler)
                handler.close()
        if getattr(root, "_d365sync_configured", False):
            root._d365sync_configured = False  # type: ignore[attr-defined]
