"""wizard.secrets: keyring access, the token cache persistence, the demo's memory keyring, log masking."""

from __future__ import annotations

import base64
import json
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import msal
import pytest
from keyring.backends import chainer, fail, null
from msal_extensions.persistence import PersistenceNotFound

from wizard import secrets
from wizard.errors import SecretStoreError
from wizard.paths import locations
from wizard.secrets import (
    TOKEN_CACHE_KEY,
    KeyringPersistence,
    MemoryKeyring,
    SecretStore,
    check_keyring,
    clear_token_cache,
    forget_account,
    load_token_cache,
    mailbox_key,
    org_key,
    profile_key,
    redact,
    token_cache_persistence,
    use_memory_keyring,
)


def _b64(document: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def _token_event(
    refresh_token: str,
    access_token: str = "at-value",
    *,
    user: str = "anna@contoso.com",
    oid: str = "o1",
    host: str = "login.example.com",
) -> dict[str, Any]:
    """What MSAL hands its cache after a successful token request."""
    claims = {"preferred_username": user, "oid": oid, "tid": "t1", "sub": oid, "iss": "x", "aud": "c"}
    id_token = f"{_b64({'alg': 'none'})}.{_b64(claims)}."
    return {
        "client_id": "client-1",
        "scope": ["https://org.example.com/user_impersonation"],
        "token_endpoint": f"https://{host}/adfs/oauth2/token",
        "grant_type": "password",
        "response": {
            "access_token": access_token,
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": id_token,
            "client_info": _b64({"uid": oid, "utid": "t1"}),
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


# -- entries per profile (issue 16) ------------------------------------------------------------------
P0, P1 = "0f0f0f0f-0000-4000-8000-000000000000", "1e1e1e1e-1111-4111-8111-111111111111"
ANNA, JOERG = "anna.schmidt@contoso.com", "joerg.baer@contoso.com"


@dataclass
class _Org:
    id: str
    auth_kind: str = "oauth"
    username: str = ANNA
    authority: str = "https://login.example.com/adfs"


def _raw(key: str) -> str | None:
    value: str | None = keyring.get_password("d365sync", key)
    return value


def _users(cache: msal.SerializableTokenCache) -> list[str]:
    return sorted(a["username"] for a in cache.search(msal.TokenCache.CredentialType.ACCOUNT))


def _profile_where(tmp_path: Path, name: str) -> Any:
    return locations(
        tmp_path / name
    )  # two D365SYNC_HOMEs; the test keyring is one for both, as an OS keyring


def test_profile_key_names_the_profile() -> None:
    assert profile_key(P0.upper(), "org:o:anna") == f"profile:{P0}/org:o:anna"
    assert SecretStore(profile_id=P0).entry_name(mailbox_key(ANNA)) == f"profile:{P0}/mailbox:{ANNA}"
    assert SecretStore().entry_name("mailbox:x") == "mailbox:x"  # unbound: the bare key, as before
    assert P0 in repr(SecretStore(profile_id=P0))


@pytest.mark.parametrize("first", [0, 1], ids=["p0-first", "p1-first"])
def test_two_profiles_keep_their_own_passwords(first: int) -> None:
    """One organization, two users (NTLM), two profiles, in either order: neither overwrites the other."""
    stores = [SecretStore(profile_id=P0), SecretStore(profile_id=P1)]
    passwords = ["pw-anna", "pw-joerg"]
    for index in (first, 1 - first):
        stores[index].set(org_key("org-1", ANNA), passwords[index])
        stores[index].set(mailbox_key(ANNA), passwords[index] + "-mail")
    for store, password in zip(stores, passwords, strict=True):
        assert store.get(org_key("org-1", ANNA)) == password
        assert store.get(mailbox_key(ANNA)) == password + "-mail"
    assert _raw(org_key("org-1", ANNA)) is None  # nothing under the old shared name
    assert _raw(profile_key(P0, org_key("org-1", ANNA))) == "pw-anna"


@pytest.mark.parametrize("first", [0, 1], ids=["p0-first", "p1-first"])
def test_two_profiles_two_users_one_organization_stay_signed_in(tmp_path: Path, first: int) -> None:
    """The reproduction of issue 16 on the token cache: two profiles sign in to one organization as two
    users; each profile's cache keeps its own user, whichever signed in last."""
    wheres = [_profile_where(tmp_path, "p0"), _profile_where(tmp_path, "p1")]
    ids = [P0, P1]
    events = [
        _token_event("rt-anna", user=ANNA, oid="o-anna"),
        _token_event("rt-joerg", user=JOERG, oid="o-j"),
    ]
    for index in (first, 1 - first):
        load_token_cache(wheres[index], prefer_native=False, profile_id=ids[index]).add(events[index])
    for where, profile_id, user, rt in zip(wheres, ids, [ANNA, JOERG], ["rt-anna", "rt-joerg"], strict=True):
        cache = load_token_cache(where, prefer_native=False, profile_id=profile_id)  # a later process
        assert _users(cache) == [user]
        assert _refresh_tokens(cache) == [rt]
    assert _raw(TOKEN_CACHE_KEY) is None
    assert _raw(profile_key(P0, TOKEN_CACHE_KEY)) is not None
    assert _raw(profile_key(P1, TOKEN_CACHE_KEY)) is not None


def test_an_old_shared_password_moves_to_the_first_profile_once() -> None:
    keyring.set_password("d365sync", org_key("org-1", "CONTOSO\\anna"), "old-pw")
    keyring.set_password("d365sync", mailbox_key(ANNA), "old-mail-pw")
    mine, other = SecretStore(profile_id=P0), SecretStore(profile_id=P1)
    assert mine.get(org_key("org-1", "CONTOSO\\anna")) == "old-pw"
    assert mine.get(mailbox_key(ANNA)) == "old-mail-pw"
    assert _raw(org_key("org-1", "CONTOSO\\anna")) is None  # moved, not copied
    assert _raw(profile_key(P0, org_key("org-1", "contoso\\anna"))) == "old-pw"
    assert other.get(org_key("org-1", "CONTOSO\\anna")) is None  # once: the other profile does not get it
    assert mine.get(org_key("org-1", "CONTOSO\\anna")) == "old-pw"


def test_a_profile_with_its_own_entry_leaves_the_old_one_alone() -> None:
    keyring.set_password("d365sync", mailbox_key(ANNA), "old")
    store = SecretStore(profile_id=P0)
    store.set(mailbox_key(ANNA), "new")
    assert store.get(mailbox_key(ANNA)) == "new"
    assert _raw(mailbox_key(ANNA)) == "old"  # another profile may still move it to itself


def test_delete_removes_an_old_entry_not_yet_moved() -> None:
    keyring.set_password("d365sync", mailbox_key(ANNA), "old")
    assert SecretStore(profile_id=P0).delete(mailbox_key(ANNA)) is True
    assert _raw(mailbox_key(ANNA)) is None
    assert SecretStore(profile_id=P0).delete(mailbox_key(ANNA)) is False


def test_an_old_shared_token_cache_moves_to_the_first_profile_once(tmp_path: Path) -> None:
    where = _profile_where(tmp_path, "p0")
    load_token_cache(where, prefer_native=False).add(_token_event("rt-old"))  # an earlier version's entry
    assert _raw(TOKEN_CACHE_KEY) is not None
    mine = load_token_cache(where, prefer_native=False, profile_id=P0)
    assert _refresh_tokens(mine) == ["rt-old"]  # still signed in after the upgrade
    assert _raw(TOKEN_CACHE_KEY) is None
    other = load_token_cache(_profile_where(tmp_path, "p1"), prefer_native=False, profile_id=P1)
    assert _refresh_tokens(other) == []
    assert _refresh_tokens(load_token_cache(where, prefer_native=False, profile_id=P0)) == ["rt-old"]


def test_an_old_token_cache_does_not_replace_the_profiles_own(tmp_path: Path) -> None:
    where = _profile_where(tmp_path, "p0")
    load_token_cache(where, prefer_native=False, profile_id=P0).add(_token_event("rt-mine"))
    keyring.set_password("d365sync", TOKEN_CACHE_KEY, "{}")
    assert _refresh_tokens(load_token_cache(where, prefer_native=False, profile_id=P0)) == ["rt-mine"]
    assert _raw(TOKEN_CACHE_KEY) == "{}"


def test_forget_account_removes_one_user_only() -> None:
    cache = msal.SerializableTokenCache()
    cache.add(_token_event("rt-anna", user=ANNA, oid="o-anna"))
    cache.add(_token_event("rt-joerg", user=JOERG, oid="o-joerg"))
    cache.add(_token_event("rt-anna-elsewhere", user=ANNA, oid="o-anna", host="login.other.example"))
    assert forget_account(cache, ANNA.upper(), "login.example.com") == 4  # RT, AT, ID token, account
    assert sorted(_refresh_tokens(cache)) == ["rt-anna-elsewhere", "rt-joerg"]
    kinds = msal.TokenCache.CredentialType
    left = {e["home_account_id"] for k in (kinds.ACCESS_TOKEN, kinds.ID_TOKEN) for e in cache.search(k)}
    assert len(left) == 2
    assert forget_account(cache, "nobody@contoso.com") == 0


def test_removing_an_ntlm_organization_removes_its_password_only() -> None:
    mine, other = SecretStore(profile_id=P0), SecretStore(profile_id=P1)
    for store in (mine, other):
        store.set(org_key("org-1", "CONTOSO\\anna"), "pw")
        store.set(org_key("org-2", "CONTOSO\\anna"), "pw2")

    def no_cache() -> Any:
        raise AssertionError("an NTLM organization has nothing in the token cache")

    mine.forget_org(
        _Org("org-1", "ntlm", "CONTOSO\\anna"), [_Org("org-2", "ntlm", "CONTOSO\\anna")], no_cache
    )
    assert mine.get(org_key("org-1", "CONTOSO\\anna")) is None
    assert mine.get(org_key("org-2", "CONTOSO\\anna")) == "pw2"
    assert other.get(org_key("org-1", "CONTOSO\\anna")) == "pw"  # the other profile's stays


def test_removing_an_oauth_organization_signs_out_its_account_unless_still_used(tmp_path: Path) -> None:
    where, other_where = _profile_where(tmp_path, "p0"), _profile_where(tmp_path, "p1")
    load_token_cache(where, prefer_native=False, profile_id=P0).add(_token_event("rt-anna", user=ANNA))
    load_token_cache(other_where, prefer_native=False, profile_id=P1).add(_token_event("rt-a1", user=ANNA))
    store = SecretStore(profile_id=P0)

    def cache() -> msal.SerializableTokenCache:
        return load_token_cache(where, prefer_native=False, profile_id=P0)

    sales, test = _Org("org-sales"), _Org("org-test")
    store.forget_org(sales, [test], cache)  # the same account signs in to Contoso Test: kept
    assert _refresh_tokens(cache()) == ["rt-anna"]
    store.forget_org(test, [_Org("org-x", username=JOERG)], cache)  # the last organization of that account
    assert _refresh_tokens(cache()) == []
    assert _users(cache()) == []
    other = load_token_cache(other_where, prefer_native=False, profile_id=P1)
    assert _refresh_tokens(other) == [
        "rt-a1"
    ]  # the other profile, same user and organization, stays signed in


def test_removing_an_oauth_organization_without_a_token_cache_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def cache() -> Any:
        raise SecretStoreError("no keyring", user_text="No keyring")

    SecretStore(profile_id=P0).forget_org(_Org("org-1"), [], cache)
    assert "could not sign" in caplog.text


def test_forget_profile_removes_all_of_one_profiles_entries(tmp_path: Path) -> None:
    wheres = {P0: _profile_where(tmp_path, "p0"), P1: _profile_where(tmp_path, "p1")}
    orgs = [_Org("org-1", "ntlm", "CONTOSO\\anna"), _Org("org-2")]
    for profile_id, where in wheres.items():
        store = SecretStore(profile_id=profile_id)
        store.set(org_key("org-1", "CONTOSO\\anna"), "pw")
        store.set(mailbox_key(ANNA), "mail-pw")
        load_token_cache(where, prefer_native=False, profile_id=profile_id).add(
            _token_event("rt-" + profile_id)
        )
    SecretStore(profile_id=P0).forget_profile(orgs, ANNA, wheres[P0])
    assert not [k for k in json.loads((Path(os.environ["D365SYNC_HOME"]) / "test-keyring.json").read_text())
                if P0 in k]  # fmt: skip
    assert not list(wheres[P0].data_dir.glob("msal_token_cache*"))
    kept = SecretStore(profile_id=P1)
    assert kept.get(org_key("org-1", "CONTOSO\\anna")) == "pw"
    assert kept.get(mailbox_key(ANNA)) == "mail-pw"
    assert _refresh_tokens(load_token_cache(wheres[P1], prefer_native=False, profile_id=P1)) == ["rt-" + P1]
    with pytest.raises(ValueError):
        SecretStore().forget_profile([], None)


def test_clear_token_cache_without_a_keyring_is_harmless(tmp_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    clear_token_cache(_profile_where(tmp_path, "p0"), profile_id=P0)


# -- the native items (libsecret on Linux, Keychain on macOS), with fakes -----------------------------
class _FakeSecretService:
    """libsecret items by (schema, attributes), as ``msal_extensions.libsecret.LibSecretAgent`` sees them."""

    items: dict[tuple[str, frozenset[tuple[str, str]]], str]

    def __init__(self) -> None:
        self.items = {}
        service = self

        class Agent:
            def __init__(self, schema_name: str, attributes: dict[str, str], **kwargs: Any) -> None:
                self.key = (schema_name, frozenset((attributes or {}).items()))

            def save(self, data: str) -> bool:
                service.items[self.key] = data
                return True

            def load(self) -> str | None:
                return service.items.get(self.key)

            def clear(self) -> bool:
                return service.items.pop(self.key, None) is not None

        class Persistence(KeyringPersistence):
            def __init__(
                self, location: str, schema_name: Any = None, attributes: Any = None, **kw: Any
            ) -> None:
                super().__init__(location + ".fake-signal")
                self.agent = Agent(
                    schema_name or secrets._legacy_native_name(Path(location)), attributes or {}
                )

            def save(self, content: str) -> None:
                self.agent.save(content)
                self._signal.touch()

            def load(self) -> str:
                content = self.agent.load()
                if content is None:
                    raise PersistenceNotFound(message="none")
                return content

        self.Agent = Agent
        self.Persistence = Persistence


@pytest.fixture
def fake_libsecret(monkeypatch: pytest.MonkeyPatch) -> _FakeSecretService:
    fake = _FakeSecretService()
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(secrets, "LibsecretPersistence", fake.Persistence)
    monkeypatch.setitem(
        sys.modules, "msal_extensions.libsecret", types.SimpleNamespace(LibSecretAgent=fake.Agent)
    )
    return fake


def test_libsecret_items_carry_the_profile_id(fake_libsecret: _FakeSecretService, tmp_path: Path) -> None:
    wheres = [_profile_where(tmp_path, "p0"), _profile_where(tmp_path, "p1")]
    for where, profile_id, rt in zip(wheres, [P0, P1], ["rt-0", "rt-1"], strict=True):
        load_token_cache(where, prefer_native=True, profile_id=profile_id).add(_token_event(rt))
    assert {dict(attrs)["profile"] for _, attrs in fake_libsecret.items} == {P0, P1}
    assert {schema for schema, _ in fake_libsecret.items} == {secrets.LIBSECRET_SCHEMA}
    assert _refresh_tokens(load_token_cache(wheres[0], prefer_native=True, profile_id=P0)) == ["rt-0"]
    clear_token_cache(wheres[0], profile_id=P0)
    assert {dict(attrs)["profile"] for _, attrs in fake_libsecret.items} == {P1}


def test_the_old_libsecret_item_moves_to_the_profile_once(
    fake_libsecret: _FakeSecretService, tmp_path: Path
) -> None:
    where = _profile_where(tmp_path, "p0")
    legacy: tuple[str, frozenset[tuple[str, str]]] = (
        secrets._legacy_native_name(where.token_cache_file),
        frozenset(),
    )
    seed = msal.SerializableTokenCache()
    seed.add(_token_event("rt-old"))
    fake_libsecret.items[legacy] = seed.serialize()  # what msal-extensions' default names held
    assert _refresh_tokens(load_token_cache(where, prefer_native=True, profile_id=P0)) == ["rt-old"]
    assert legacy not in fake_libsecret.items
    assert _refresh_tokens(load_token_cache(where, prefer_native=True, profile_id=P1)) == []


def test_keychain_item_is_named_by_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []

    def keychain(location: str, service_name: str | None = None, account_name: str | None = None) -> Any:
        made.append({"service": service_name, "account": account_name})
        return object()

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(secrets, "KeychainPersistence", keychain)
    secrets._build_native(Path("/x/msal_token_cache.bin"), P0)
    assert made == [{"service": "d365sync", "account": profile_key(P0, TOKEN_CACHE_KEY)}]


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
