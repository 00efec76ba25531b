"""Demo data: deterministic, German and English names, per-user rows, fast start."""

from __future__ import annotations

from pathlib import Path

from wizard.sandbox.dataverse.server import DataverseEnvironment
from wizard.sandbox.directory import Directory
from wizard.sandbox.tls import SandboxTLS
from wizard.sandbox.tokens import TokenSigner


def _env(
    directory: Directory, signer: TokenSigner, tls: SandboxTLS, seed: int = 0, data_dir: Path | None = None
) -> DataverseEnvironment:
    return DataverseEnvironment(
        directory,
        directory.orgs[0],
        signer=signer,
        tls=tls,
        authority_url="https://a",
        seed=seed,
        data_dir=data_dir,
    )


def test_demo_data_is_deterministic(directory: Directory, signer: TokenSigner, tls: SandboxTLS) -> None:
    first = _env(directory, signer, tls).start()
    second = _env(directory, signer, tls)
    other_seed = _env(directory, signer, tls, seed=1)
    try:
        names = sorted((r["contactid"], r["fullname"]) for r in first.store.rows("contacts"))
        assert names == sorted((r["contactid"], r["fullname"]) for r in second.store.rows("contacts"))
        assert names != sorted((r["contactid"], r["fullname"]) for r in other_seed.store.rows("contacts"))
        assert len(names) >= 200
        assert len(first.store.rows("accounts")) >= 100 and len(first.store.rows("leads")) >= 50
        assert any(ch in n for _, n in names for ch in "äöüßÄÖÜ")
        assert any(n.isascii() for _, n in names)
        assert all("@" in r["emailaddress1"] for r in first.store.rows("contacts"))
        assert first.store.rows("userqueries") == []
    finally:
        first.stop()
        second.store.close()
        other_seed.store.close()


def test_each_member_has_user_mailbox_settings_and_open_activities(
    directory: Directory, signer: TokenSigner, tls: SandboxTLS
) -> None:
    env = _env(directory, signer, tls)
    try:
        members = [u for u in directory.users if u.member_of(env.org)]
        for user in members:
            user_id = user.systemuserid(env.org)
            row = env.store.get("systemusers", user_id)
            assert row is not None and row["azureactivedirectoryobjectid"] == user.oid
            mailbox = env.store.get("mailboxes", row["_defaultmailbox_value"])
            assert mailbox is not None and mailbox["emailaddress"] == user.primary_email
            assert env.store.get("usersettingscollection", user_id) is not None
            owned = [a for a in env.store.rows("appointments") if a["_ownerid_value"] == user_id]
            assert owned and all(a["statecode"] == 3 for a in owned)
            assert [
                t for t in env.store.rows("tasks") if t["_ownerid_value"] == user_id and t["statecode"] == 0
            ]
            assert [e for e in env.store.rows("emails") if e["_ownerid_value"] == user_id]
    finally:
        env.store.close()


def test_file_store_survives_a_restart(
    directory: Directory, signer: TokenSigner, tls: SandboxTLS, tmp_path: Path
) -> None:
    env = _env(directory, signer, tls, data_dir=tmp_path)
    contact = env.store.create("contacts", {"lastname": "Persistent"})
    version = env.store.version
    env.store.close()
    again = _env(directory, signer, tls, data_dir=tmp_path)
    try:
        row = again.store.get("contacts", contact)
        assert row is not None and row["lastname"] == "Persistent"
        assert again.store.version == version
        assert len(again.store.rows("systemusers")) == len(
            [u for u in directory.users if u.member_of(again.org)]
        )
    finally:
        again.store.close()
