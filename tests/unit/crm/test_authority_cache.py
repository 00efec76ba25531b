"""AuthorityCache: only successful discovery GETs go to disk, with MSAL's expiry, for the same MSAL version."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import msal
from msal.individual_cache import _ExpiringMapping
from msal.throttled_http_client import NormalizedResponse

from wizard.crm.authority_cache import AuthorityCache

CONFIG = "GET https://login.example/tenant/v2.0/.well-known/openid-configuration hash=abc 2xx"


def _response(status: int = 200, text: str = '{"issuer": "x"}') -> NormalizedResponse:
    return NormalizedResponse(
        SimpleNamespace(status_code=status, text=text, headers={"Content-Type": "json"})
    )


def _fill(cache: AuthorityCache) -> None:
    mapping = _ExpiringMapping(mapping=cache, capacity=1024)  # as MSAL's throttled client writes it
    mapping.set(CONFIG, _response(), 3600)
    mapping.set("GET http://plain.example/x hash=1 2xx", _response(), 3600)  # not https: not kept
    mapping.set("POST https://login.example/token hash=2 400", _response(400, '{"error": "x"}'), 60)
    mapping.set("GET https://login.example/short hash=3 2xx", _response(), 1)


def test_only_successful_https_gets_are_saved_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = AuthorityCache(path)
    _fill(cache)
    cache.save()
    keys = [e["key"] for e in json.loads(path.read_text(encoding="utf-8"))["entries"]]
    assert sorted(keys) == sorted([CONFIG, "GET https://login.example/short hash=3 2xx"])
    loaded = AuthorityCache(path)
    mapping = _ExpiringMapping(mapping=loaded, capacity=1024)
    assert mapping[CONFIG].text == '{"issuer": "x"}' and mapping[CONFIG].status_code == 200
    assert mapping[CONFIG].headers == {"content-type": "json"}


def test_expired_entries_another_msal_or_a_damaged_file_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = AuthorityCache(path)
    _fill(cache)
    cache.save()
    document = json.loads(path.read_text(encoding="utf-8"))
    for entry in document["entries"]:
        entry["expires_at"] = int(time.time()) - 1 if "short" in entry["key"] else entry["expires_at"]
    path.write_text(json.dumps(document), encoding="utf-8")
    assert set(AuthorityCache(path)) == {CONFIG, "_index_"}
    path.write_text(json.dumps({**document, "msal": msal.__version__ + ".other"}), encoding="utf-8")
    assert dict(AuthorityCache(path)) == {}
    path.write_text(json.dumps({**document, "entries": [{"key": CONFIG}]}), encoding="utf-8")
    assert dict(AuthorityCache(path)) == {}
    path.write_text("\x00garbage", encoding="utf-8")
    assert dict(AuthorityCache(path)) == {}


def test_saving_to_an_unwritable_place_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    cache = AuthorityCache(blocker / "cache.json")  # its folder is a file
    _fill(cache)
    cache.save()
    assert not (tmp_path / "file.tmp").exists()
