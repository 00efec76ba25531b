"""wizard.secrets: keyring access, the token cache persistence, the demo's memory keyring, log masking."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import keyring
import msal
import pytest
from keyring.backends import chainer, fail, null

from wizard import secrets
from wizard.errors import SecretStoreError
from wizard.paths import locations
from wizard.secrets import (
    KeyringPersistence,
    MemoryKeyring,
    SecretStore,
    check_keyring,
    load_token_cache,
    mailbox_key,
    org_key,
    redact,
    token_cache_persistence,
    use_memory_keyring,
)


def _b64(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def _token_event(refresh_token: str, access_token: str = "at-value") -> dict[str, Any]:
    """What MSAL hands its cache after a successful token request."""
    id_token = f"{_b64({'alg': 'none'})}.{_b64({'preferred_username': 'anna@contoso.com', 'oid': 'o1', 'tid': 't1', 'sub': 'o1', 'iss': 'x', 'aud': 'c'})}."
    return {
        "client_id": "client-1",
        "scope": ["https://org.example.com/user_impersonation"],
        "token_endpoint": "https://login.example.com/adfs/oauth2/token",
        "grant_type": "password",
        "response": {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": id_token,
            "client_info": _b64({"uid": "o1", "utid": "t1"}),
        },
        "params": {},
        "data": {},
    }


def _refresh_tokens(cache: msal.SerializableTokenCache) -> list[str]:
    return [entry["secret"] for entry in cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)]


# -- SecretStore -------------------------------------------------------------------------------------
def test_secret_store_round_trip_with_the_test_keyring() -> None:
    store = SecretStore()
    key = org_key("0000-org", "Anna@Contoso.com")
    assert key == "org:0000-org:anna@contoso.com"
    assert store.get(key) is None
    store.set(key, "s3cret!")
    assert store.get(key) == "s3cret!"
    assert keyring.get_password("d365sync", key) == "s3cret!"  # really in the keyring, under our service
    assert store.delete(key) is True
    assert store.get(key) is None
    assert store.delete(key) is False


def test_mailbox_key_is_case_insensitive() -> None:
    assert mailbox_key(" Anna.Schmidt@Contoso.com ") == "mailbox:anna.schmidt@contoso.com"


def test_secret_store_repr_has_no_secret() -> None:
    store = SecretStore()
    store.set("mailbox:x@y", "hunter2")
    assert "hunter2" not in repr(store)


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_check_keyring_without_a_backend_says_what_to_install(backend: Any) -> None:
    keyring.set_keyring(backend)
    with pytest.raises(SecretStoreError) as caught:
        check_keyring()
    if sys.platform.startswith("linux"):
        assert "GNOME Keyring or KWallet" in caught.value.user_text
        assert "PYTHON_KEYRING_BACKEND" in caught.value.user_text
    with pytest.raises(SecretStoreError):
        SecretStore().set("mailbox:a@b", "x")


def test_check_keyring_with_an_empty_chainer_fails() -> None:
    class Empty(chainer.ChainerBackend):
        backends: list[Any] = []  # noqa: RUF012 - what keyring ends up with when no backend is viable

    keyring.set_keyring(Empty())
    with pytest.raises(SecretStoreError):
        check_keyring()


def test_check_keyring_accepts_a_real_backend() -> None:
    assert type(check_keyring()).__name__ == "TestKeyring"


def test_keyring_errors_become_secret_store_errors() -> None:
    class Locked(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.PasswordSetError("locked: " + password)

    keyring.set_keyring(Locked())
    with pytest.raises(SecretStoreError) as caught:
        SecretStore().set("mailbox:a@b", "do-not-show")
    assert "do-not-show" not in str(caught.value)
    assert "do-not-show" not in caught.value.user_text


# -- memory keyring (d365sync demo) ------------------------------------------------------------------
def test_use_memory_keyring_needs_no_os_keyring(isolated_home: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    backend = use_memory_keyring()
    assert check_keyring() is backend
    store = SecretStore()
    store.set("mailbox:demo@contoso.com", "pw")
    assert store.get("mailbox:demo@contoso.com") == "pw"
    assert not (isolated_home / "test-keyring.json").exists()  # nothing went to the file-based test keyring
    assert store.delete("mailbox:demo@contoso.com") is True
    assert store.delete("mailbox:demo@contoso.com") is False


# -- token cache -------------------------------------------------------------------------------------
def test_token_cache_round_trip_through_the_keyring_fallback() -> None:
    where = locations()
    first = load_token_cache(where, prefer_native=False)
    first.add(_token_event("rt-one"))
    second = load_token_cache(where, prefer_native=False)  # another process, later
    assert _refresh_tokens(second) == ["rt-one"]
    assert keyring.get_password("d365sync", secrets.TOKEN_CACHE_KEY) is not None


def test_token_cache_sees_changes_made_by_another_instance() -> None:
    where = locations()
    one = load_token_cache(where, prefer_native=False)
    two = load_token_cache(where, prefer_native=False)
    assert _refresh_tokens(two) == []
    one.add(_token_event("rt-from-one"))
    assert _refresh_tokens(two) == ["rt-from-one"]  # reloaded because the signal file changed


def test_token_cache_fallback_writes_no_secret_to_disk(isolated_home: Path) -> None:
    use_memory_keyring()
    where = locations()
    cache = load_token_cache(where, prefer_native=False)
    cache.add(_token_event("rt-very-secret-123", access_token="at-very-secret-456"))
    assert _refresh_tokens(load_token_cache(where, prefer_native=False)) == ["rt-very-secret-123"]
    files = [p for p in isolated_home.rglob("*") if p.is_file()]
    assert files, "the signal and lock files should exist"
    for path in files:
        content = path.read_bytes()
        assert b"rt-very-secret-123" not in content, path
        assert b"at-very-secret-456" not in content, path
    assert not where.token_cache_file.exists()  # the plaintext-capable location is never written


def test_native_persistence_is_preferred_when_it_works(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeEncrypted(KeyringPersistence):
        pass

    made: list[str] = []

    def build(location: str) -> FakeEncrypted:
        made.append(location)
        return FakeEncrypted(location + ".fake")

    monkeypatch.setattr(secrets, "build_encrypted_persistence", build)
    assert isinstance(token_cache_persistence(locations(), prefer_native=True), FakeEncrypted)
    assert made == [str(locations().token_cache_file)]


def test_unavailable_native_persistence_falls_back_to_the_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    def build(location: str) -> Any:
        raise ImportError("No module named 'gi'")

    monkeypatch.setattr(secrets, "build_encrypted_persistence", build)
    persistence = token_cache_persistence(locations(), prefer_native=True)
    assert type(persistence) is KeyringPersistence


def test_no_native_persistence_and_no_keyring_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def build(location: str) -> Any:
        raise ImportError("No module named 'gi'")

    monkeypatch.setattr(secrets, "build_encrypted_persistence", build)
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(SecretStoreError) as caught:
        load_token_cache(locations(), prefer_native=True)
    assert "keyring" in caught.value.user_text.lower()


def test_explicit_keyring_choice_keeps_the_cache_in_that_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """PYTHON_KEYRING_BACKEND (set by conftest) or the demo's memory keyring: never the OS's native store."""

    def build(location: str) -> Any:
        raise AssertionError("native persistence must not be tried")

    monkeypatch.setattr(secrets, "build_encrypted_persistence", build)
    assert type(token_cache_persistence(locations())) is KeyringPersistence
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    use_memory_keyring()
    assert type(token_cache_persistence(locations())) is KeyringPersistence


def test_without_an_explicit_choice_native_persistence_is_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[str] = []

    def build(location: str) -> Any:
        tried.append(location)
        raise ImportError("No module named 'gi'")

    monkeypatch.setattr(secrets, "build_encrypted_persistence", build)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    assert type(token_cache_persistence(locations())) is KeyringPersistence  # the fallback
    assert tried == [str(locations().token_cache_file)]


def test_keyring_persistence_before_first_save() -> None:
    from msal_extensions.persistence import PersistenceNotFound

    persistence = KeyringPersistence(locations().data_dir / "x.changed")
    with pytest.raises(PersistenceNotFound):
        persistence.load()
    with pytest.raises(PersistenceNotFound):
        persistence.time_last_modified()
    persistence.save("{}")
    assert persistence.load() == "{}"
    persistence.clear()
    with pytest.raises(PersistenceNotFound):
        persistence.load()


# -- redact ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "eyJhbGciOiJIUzI1NiJ9"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("grant_type=password&username=a%40b&password=S3cret!&scope=x", "S3cret!"),
        ('{"access_token": "abc.def", "refresh_token":"r-123"}', "r-123"),
        ('{"access_token": "abc.def", "refresh_token":"r-123"}', "abc.def"),
        ("password: hunter2", "hunter2"),
        ("token in text eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln end", "eyJzdWIiOiIxIn0"),
        ("https://x/cb?code=AUTHCODE123&state=s", "AUTHCODE123"),
    ],
)
def test_redact_masks_secrets(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert "***" in masked


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "statuscode=6 for 3 emails; username=anna@contoso.com"
    assert redact(text) == text
