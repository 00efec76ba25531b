"""Which keyring backends may keep d365sync's secrets (issue 11 item 2, issue 12 item 1).

Refused: a backend that stores nothing (keyring's ``fail`` and ``null``, a chainer with nothing usable) always,
and one that stores in clear (keyrings.alt's ``PlaintextKeyring``, any backend of priority below 1) unless the
user opts in with ``D365SYNC_ALLOW_INSECURE_KEYRING=plaintext-on-disk``. Accepted: the platform's stores, the
encrypted file keyring unlocked by a passphrase (keyrings.cryptfile, ``d365sync[headless]``), the demo's
in-memory keyring.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from tests.support import keyring_backend
from wizard import secrets
from wizard.errors import SecretStoreError
from wizard.paths import locations
from wizard.secrets import (
    ALLOW_INSECURE_ENV,
    PASSPHRASE_ENV,
    KeyringPersistence,
    KeyringSafety,
    MemoryKeyring,
    SecretStore,
    check_keyring,
    classify_keyring,
    load_token_cache,
)

plaintext_file = pytest.importorskip("keyrings.alt.file")
cryptfile = pytest.importorskip("keyrings.cryptfile.cryptfile")


@pytest.fixture
def no_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user has it: the suite's own opt-in (tests/conftest.py) removed."""
    monkeypatch.delenv(ALLOW_INSECURE_ENV, raising=False)


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """keyring's data folder (where the file keyrings write) inside the test's folder."""
    root = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(root))
    return root


@pytest.fixture
def cheap_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its cheapest: the default costs take seconds per secret on a busy test machine."""
    monkeypatch.setattr(cryptfile.CryptFileKeyring, "time_cost", 1)
    monkeypatch.setattr(cryptfile.CryptFileKeyring, "memory_cost", 64)


class _Priority(KeyringBackend):
    priority = 0.9

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        pass

    def delete_password(self, service: str, username: str) -> None:
        pass


class _Recommended(_Priority):
    priority = 5


def _chainer_of(*members: KeyringBackend) -> chainer.ChainerBackend:
    class Chained(chainer.ChainerBackend):
        backends: list[Any] = list(members)  # noqa: RUF012 - keyring computes it; fixed here

    return Chained()


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        (fail.Keyring(), KeyringSafety.UNUSABLE),
        (null.Keyring(), KeyringSafety.UNUSABLE),
        (_chainer_of(), KeyringSafety.UNUSABLE),
        (_chainer_of(null.Keyring()), KeyringSafety.UNUSABLE),
        (plaintext_file.PlaintextKeyring(), KeyringSafety.PLAINTEXT),
        (_Priority(), KeyringSafety.PLAINTEXT),
        (_chainer_of(plaintext_file.PlaintextKeyring(), _Recommended()), KeyringSafety.PLAINTEXT),
        (_chainer_of(_Recommended(), plaintext_file.PlaintextKeyring()), KeyringSafety.SAFE),
        (keyring_backend.TestKeyring(), KeyringSafety.PLAINTEXT),
        (_Recommended(), KeyringSafety.SAFE),
        (MemoryKeyring(), KeyringSafety.SAFE),
        (cryptfile.CryptFileKeyring(), KeyringSafety.SAFE),
    ],
    ids=[
        "fail",
        "null",
        "empty-chainer",
        "chainer-of-null",
        "keyrings.alt-plaintext",
        "priority-below-1",
        "chainer-writing-plaintext",
        "chainer-writing-to-a-safe-one",
        "the-suite's-json-file",
        "platform-store",
        "demo-memory",
        "cryptfile",
    ],
)
def test_classification(backend: KeyringBackend, expected: KeyringSafety) -> None:
    assert classify_keyring(backend) is expected


def test_plaintext_keyring_is_refused_and_nothing_is_written(no_opt_in: None, data_root: Path) -> None:
    backend = plaintext_file.PlaintextKeyring()
    keyring.set_keyring(backend)
    with pytest.raises(SecretStoreError) as caught:
        SecretStore(profile_id="p").set("mailbox:a@contoso.com", "do-not-store")
    text = caught.value.user_text
    assert "unencrypted on disk" in text
    assert f"{ALLOW_INSECURE_ENV}=plaintext-on-disk" in text
    assert "do-not-store" not in text
    with pytest.raises(SecretStoreError):
        load_token_cache(locations(), prefer_native=False, profile_id="p")
    assert not Path(backend.file_path).exists()
    assert not data_root.exists() or not any(data_root.rglob("*"))


@pytest.mark.parametrize("value", ["", "1", "yes", "true", "plaintext"])
def test_only_the_value_that_names_the_risk_opts_in(
    monkeypatch: pytest.MonkeyPatch, data_root: Path, value: str
) -> None:
    monkeypatch.setenv(ALLOW_INSECURE_ENV, value)
    keyring.set_keyring(plaintext_file.PlaintextKeyring())
    with pytest.raises(SecretStoreError):
        check_keyring()


def test_the_opt_in_accepts_a_plaintext_keyring(monkeypatch: pytest.MonkeyPatch, data_root: Path) -> None:
    monkeypatch.setenv(ALLOW_INSECURE_ENV, "plaintext-on-disk")
    backend = plaintext_file.PlaintextKeyring()
    keyring.set_keyring(backend)
    assert check_keyring() is backend
    SecretStore(profile_id="p").set("mailbox:a@contoso.com", "pw")
    assert SecretStore(profile_id="p").get("mailbox:a@contoso.com") == "pw"


@pytest.mark.parametrize(
    "backend", [fail.Keyring(), null.Keyring(), _chainer_of()], ids=["fail", "null", "chainer"]
)
def test_the_opt_in_never_accepts_a_keyring_that_stores_nothing(backend: KeyringBackend) -> None:
    keyring.set_keyring(backend)  # the suite's opt-in is set (tests/conftest.py)
    with pytest.raises(SecretStoreError) as caught:
        check_keyring()
    assert "No keyring is available" in caught.value.user_text
    assert "d365sync[headless]" in caught.value.user_text


def test_the_suite_keyring_is_accepted_only_through_the_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    assert type(check_keyring()) is keyring_backend.TestKeyring  # tests/conftest.py opts in
    monkeypatch.delenv(ALLOW_INSECURE_ENV)
    with pytest.raises(SecretStoreError):
        check_keyring()


def test_demo_memory_keyring_needs_no_opt_in(no_opt_in: None) -> None:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    assert check_keyring() is backend


def test_cryptfile_is_accepted_and_encrypts(
    no_opt_in: None, data_root: Path, cheap_kdf: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    backend = cryptfile.CryptFileKeyring()
    keyring.set_keyring(backend)
    assert check_keyring() is backend
    store = SecretStore(profile_id="p")
    store.set("mailbox:a@contoso.com", "Secret-Mailbox-Pw")
    content = Path(backend.file_path).read_bytes()  # type: ignore[attr-defined]  # CryptFileKeyring's
    assert b"Secret-Mailbox-Pw" not in content
    assert b"U2VjcmV0LU1haWxib3gtUHc" not in content  # nor its base64
    # another process (a fresh backend) unlocks it with the same passphrase
    keyring.set_keyring(cryptfile.CryptFileKeyring())
    assert SecretStore(profile_id="p").get("mailbox:a@contoso.com") == "Secret-Mailbox-Pw"


def test_cryptfile_with_a_wrong_passphrase_is_refused(
    no_opt_in: None, data_root: Path, cheap_kdf: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "the right one")
    keyring.set_keyring(cryptfile.CryptFileKeyring())
    SecretStore().set("k", "v")
    monkeypatch.setenv(PASSPHRASE_ENV, "a wrong one")
    keyring.set_keyring(cryptfile.CryptFileKeyring())
    with pytest.raises(SecretStoreError) as caught:
        SecretStore().get("k")
    assert PASSPHRASE_ENV in caught.value.user_text
    assert "a wrong one" not in caught.value.user_text


def test_a_locked_cryptfile_without_a_terminal_is_refused_not_prompted(
    no_opt_in: None, data_root: Path, cheap_kdf: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The windowed wizard, cron, a service: its getpass prompt would read standard input or wait for ever."""
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    monkeypatch.setattr(secrets, "_has_terminal", lambda: False)

    def prompt(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("no prompt without a terminal")

    monkeypatch.setattr("getpass.getpass", prompt)
    backend = cryptfile.CryptFileKeyring()
    keyring.set_keyring(backend)
    with pytest.raises(SecretStoreError) as caught:
        SecretStore().set("k", "v")
    assert PASSPHRASE_ENV in caught.value.user_text
    assert not Path(backend.file_path).exists()


def test_the_token_cache_never_goes_to_a_keyring_refused_after_it_was_opened(
    no_opt_in: None, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    persistence = KeyringPersistence(locations().data_dir / "cache.changed")
    keyring.set_keyring(plaintext_file.PlaintextKeyring())
    with pytest.raises(SecretStoreError):
        persistence.save('{"RefreshToken": {}}')
    with pytest.raises(SecretStoreError):
        persistence.load()
    assert not data_root.exists() or not any(data_root.rglob("*"))


def test_cryptfile_first_in_a_chainer_is_unlocked_with_the_passphrase(
    no_opt_in: None, data_root: Path, cheap_kdf: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keyrings.alt and keyrings.cryptfile both installed, no Secret Service: keyring picks a chainer that writes
    to the encrypted file keyring first."""
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse battery staple")
    monkeypatch.setattr(secrets, "_has_terminal", lambda: False)
    member = cryptfile.CryptFileKeyring()
    keyring.set_keyring(_chainer_of(member, plaintext_file.PlaintextKeyring()))
    SecretStore().set("k", "Secret-Value")
    assert member._keyring_key is not None  # unlocked by the variable, no prompt
    assert b"Secret-Value" not in Path(member.file_path).read_bytes()
    assert not Path(plaintext_file.PlaintextKeyring().file_path).exists()
