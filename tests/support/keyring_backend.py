"""A keyring backend for tests only: keeps secrets in a JSON file under ``$D365SYNC_HOME``.

Selected with ``PYTHON_KEYRING_BACKEND=tests.support.keyring_backend.TestKeyring`` (tests/conftest.py does it),
so that CLI subprocesses of one test see what an earlier one stored. The product never uses it.

It keeps the (made-up) secrets of a test in clear, and says so (``scheme``, as keyrings.alt's file keyrings
do): the product refuses such a keyring unless the user accepts the risk, and the suite does, explicitly
(``D365SYNC_ALLOW_INSECURE_KEYRING=plaintext-on-disk`` in tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

_lock = threading.Lock()


class TestKeyring(KeyringBackend):
    priority = 1
    scheme = "no encryption"  # a JSON file in the test's own throw-away folder

    @staticmethod
    def _file() -> Path:
        home = os.environ.get("D365SYNC_HOME")
        if not home:
            raise RuntimeError("TestKeyring needs D365SYNC_HOME")
        return Path(home) / "test-keyring.json"

    def _load(self) -> dict[str, str]:
        path = self._file()
        if not path.exists():
            return {}
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def _save(self, data: dict[str, str]) -> None:
        path = self._file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), encoding="utf-8")

    def get_password(self, service: str, username: str) -> str | None:
        with _lock:
            return self._load().get(f"{service}\x00{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        with _lock:
            data = self._load()
            data[f"{service}\x00{username}"] = password
            self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        with _lock:
            data = self._load()
            if data.pop(f"{service}\x00{username}", None) is None:
                raise PasswordDeleteError(username)
            self._save(data)
