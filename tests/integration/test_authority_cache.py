"""A run with a cached token asks the sign-in authority nothing (issue 15, item 5): MSAL's discovery
answers are kept across runs in :class:`AuthorityCache` (a JSON file), through MSAL's real code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msal
import pytest

from tests.integration.test_auth_sandbox import ANNA, ANNA_PASSWORD, ORG
from wizard.crm.auth import DEFAULT_CLIENT_ID, SignIn, resource_scope
from wizard.crm.authority_cache import AuthorityCache
from wizard.sandbox.authority import Authority
from wizard.sandbox.directory import demo_directory
from wizard.sandbox.tls import SandboxTLS, make_tls
from wizard.sandbox.tokens import TokenSigner


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> SandboxTLS:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def authority(tls: SandboxTLS) -> Iterator[Authority]:
    started = Authority(demo_directory(), signer=TokenSigner(), tls=tls).start()
    yield started
    started.stop()


def _process(authority: Authority, tls: SandboxTLS, tokens: str, cache_file: Path) -> SignIn:
    """What one run of the program builds: the token cache and the authority cache loaded from disk."""
    token_cache = msal.SerializableTokenCache()
    token_cache.deserialize(tokens or None)
    return SignIn(
        authority.url,
        DEFAULT_CLIENT_ID,
        token_cache,
        verify=str(tls.ca_file),
        http_cache=AuthorityCache(cache_file),
    )


def test_a_run_with_a_cached_token_makes_no_request_to_the_authority(
    authority: Authority, tls: SandboxTLS, tmp_path: Path
) -> None:
    cache_file = tmp_path / "msal_authority_cache.json"
    first = _process(authority, tls, "", cache_file)
    first.sign_in_password(ANNA, ANNA_PASSWORD, [resource_scope(ORG)])
    assert first.provider(ORG, ANNA).token()
    assert any(method == "GET" for method, _ in authority.server.request_log)  # discovery, the first time
    saved = json.loads(cache_file.read_text(encoding="utf-8"))
    assert saved["entries"] and all(e["key"].startswith("GET https://") for e in saved["entries"])
    assert "access_token" not in cache_file.read_text(encoding="utf-8")
    assert oct(cache_file.stat().st_mode & 0o777) == "0o600"
    tokens = first.cache.serialize()

    authority.server.reset_counts()
    later = _process(authority, tls, tokens, cache_file)  # the next run
    assert later.provider(ORG, ANNA).token()
    assert authority.server.request_log == []

    cache_file.write_text("{not json", encoding="utf-8")  # a damaged file: MSAL asks again, nothing breaks
    again = _process(authority, tls, tokens, cache_file)
    assert again.provider(ORG, ANNA).token()
    assert authority.server.request_log != []
    assert json.loads(cache_file.read_text(encoding="utf-8"))["entries"]  # and the file is good again


def test_a_no_change_sync_in_a_new_process_asks_the_authority_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The issue's no-change bound for the authority: a run of ``sync --once`` (a fresh Factory: token cache
    and authority cache read from disk, as a new process reads them) makes no request to it."""
    from tests.integration.test_engine import KINDS, _configure, _ok
    from wizard.app.factory import Factory
    from wizard.sandbox import Sandbox

    with Sandbox(tmp_path_factory.mktemp("sandbox"), demo_data=False, onprem=False) as box:
        setup = _configure(box)
        setup.store.close()
        _ok(setup.run())  # the initial sync
        box.authority.server.reset_counts()
        with Factory(setup.factory.where).engine() as engine:
            _ok(engine.run_once(KINDS))
        assert box.authority.server.request_log == []
