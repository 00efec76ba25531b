"""The Exchange server's version kept across stores and runs (issue 15 item 5): no ConvertId guess once
it is known, guessed again when the server refuses the kept one or the EWS address changes."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from exchangelib.errors import ErrorInvalidServerVersion

from wizard.mailbox.base import MailboxError
from wizard.mailbox.ews import EwsSettings, EwsStore
from wizard.mailbox.ews.connection import keep_build, kept_build

URL = "https://mail.contoso.example/EWS/Exchange.asmx"
BUILD = (15, 1, 2507, 6)


def _store(build_file: Path, url: str = URL) -> EwsStore:
    settings = EwsSettings(address="anna@contoso.example", ews_url=url, build_file=os.fspath(build_file))
    return EwsStore(settings, password="secret")


def test_the_kept_version_is_per_address_and_private(tmp_path: Path) -> None:
    path = os.fspath(tmp_path / "cache" / "ews-versions.json")
    assert kept_build(path, URL) is None
    keep_build(path, URL, BUILD)
    assert kept_build(path, URL) == BUILD
    assert kept_build(path, "https://other.example/EWS/Exchange.asmx") is None  # another address: guessed
    if sys.platform != "win32":
        assert os.stat(path).st_mode & 0o777 == 0o600
    keep_build(path, URL, None)
    assert kept_build(path, URL) is None


@pytest.mark.parametrize(
    "text", ["garbage", "[1]", json.dumps({URL: [15, "x", 0, 0]}), json.dumps({URL: [15]})]
)
def test_a_damaged_file_means_guess(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ews-versions.json"
    path.write_text(text, encoding="utf-8")
    assert kept_build(os.fspath(path), URL) is None


def test_a_store_connects_with_the_kept_version(tmp_path: Path) -> None:
    path = tmp_path / "ews-versions.json"
    keep_build(os.fspath(path), URL, BUILD)
    store = _store(path)
    try:
        opened = store._connect()  # no request: nothing is guessed when the version is given
        build = opened.protocol.config.version.build
        assert (build.major_version, build.minor_version, build.major_build, build.minor_build) == BUILD
    finally:
        store.close()


def test_a_refused_version_is_forgotten_and_guessed_again(tmp_path: Path) -> None:
    path = tmp_path / "ews-versions.json"
    keep_build(os.fspath(path), URL, BUILD)
    store = _store(path)
    versions: list[Any] = []

    def operation(opened: Any) -> str:
        versions.append(opened.protocol.config.version)
        if len(versions) == 1:
            raise ErrorInvalidServerVersion("The specified server version is invalid.")
        return "done"

    try:
        assert store._run("SyncFolderItems", operation) == "done"
    finally:
        store.close()
    assert versions[0] is not None and versions[1] is None  # the second connection lets exchangelib guess
    assert kept_build(os.fspath(path), URL) is None


def test_a_refused_version_that_was_not_kept_is_an_error(tmp_path: Path) -> None:
    store = _store(tmp_path / "ews-versions.json")
    calls: list[int] = []

    def operation(opened: Any) -> str:
        calls.append(1)
        raise ErrorInvalidServerVersion("The specified server version is invalid.")

    try:
        with pytest.raises(MailboxError):
            store._run("SyncFolderItems", operation)
    finally:
        store.close()
    assert calls == [1]
