"""The primary mailbox (DESIGN section 1): test, bind and unbind it, and whether it can synchronize with an
organization (its readiness after a switch, with the synchronizing organization stamped on the root folder)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from wizard.app.factory import NO_MAILBOX_TEXT, Factory, not_bound_text
from wizard.crm import records
from wizard.crm.addresses import addresses_match
from wizard.crm.entities import DELIVERY_OUTLOOK
from wizard.errors import D365SyncError, RuleViolation
from wizard.isotime import now_z
from wizard.secrets import check_keyring, mailbox_key
from wizard.settings import MailboxBinding, OrgProfile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailboxReadiness:
    """Whether the bound mailbox can synchronize with an organization: ``state`` is "ready", "no_mailbox" or
    "not_bound"; ``user_text`` says what to do (empty when ready)."""

    state: str
    user_text: str

    @property
    def ready(self) -> bool:
        return self.state == "ready"


def mailbox_readiness(factory: Factory, org: OrgProfile | None = None) -> MailboxReadiness:
    """Whether the bound mailbox can synchronize with ``org`` (the synchronizing organization by default).

    DESIGN section 1 binds the mailbox on the user's mailbox record of one organization; after a switch
    the new organization's record must be bound as well. When it is (bound there before), the binding
    follows the organization (and an Exchange mailbox's root folder gets its id, as at binding); when not,
    the text says what to do and the engine refuses to run until it is bound. Reads the record (network);
    a missing record raises MailboxRecordMissing (its text names the administrator's part)."""
    org = org or factory.require_sync_org()
    binding = factory.profile.mailbox
    if binding is None:
        return MailboxReadiness("no_mailbox", NO_MAILBOX_TEXT)
    if binding.org_id == org.id:
        return MailboxReadiness("ready", "")
    record = records.own_mailbox(factory.dataverse(org))
    if record.incomingemaildeliverymethod == DELIVERY_OUTLOOK and addresses_match(
        record.emailaddress, binding.address
    ):
        if binding.kind == "exchange":
            stamp_root(factory, binding, org)
        binding.org_id = org.id
        factory.save()
        return MailboxReadiness("ready", "")
    return MailboxReadiness("not_bound", not_bound_text(binding.address, org.display_name))


def stamp_root(factory: Factory, binding: MailboxBinding, org: OrgProfile) -> None:
    """The synchronizing organization's id on the Exchange root folder; informational, so a mailbox that
    cannot be reached now only delays it (logged) instead of failing the switch."""
    try:
        store = factory.mailbox_store(binding)
        try:
            store.set_root_sync_org(org.id)
        finally:
            store.close()
    except D365SyncError as error:
        log.warning("could not stamp the synchronizing organization on the mailbox: %s", error.message)


def primary_email(factory: Factory) -> str:
    """The signed-in user's Primary Email in the synchronizing organization (to prefill the address)."""
    return factory.dataverse(factory.require_sync_org()).current_user().primary_email


def check_mailbox(factory: Factory, binding: MailboxBinding, password: str | None = None) -> MailboxBinding:
    """Connect to the mailbox (Autodiscover first when Exchange has no EWS URL); returns the binding with
    what was found filled in (the EWS URL). Raises the mailbox's typed errors."""
    store = factory.mailbox_store(binding, password)
    try:
        store.check()
        found = replace(binding)
        ews_url = getattr(store, "ews_url", None)
        if binding.kind == "exchange" and ews_url:
            found.autodiscovered = not binding.ews_url
            found.ews_url = str(ews_url)
        return found
    finally:
        store.close()


def bind_mailbox(factory: Factory, binding: MailboxBinding, password: str | None = None) -> MailboxBinding:
    """Bind the one primary mailbox (DESIGN section 1): the address must be the user's Primary Email and
    bound to nobody else, a second mailbox is refused, the connection must work; then the mailbox record's
    delivery methods are set, the synchronizing organization is stamped on an Exchange mailbox's root
    folder, the password goes to the keyring and the binding to the profile. A keyring that would not keep the
    password safely (:func:`~wizard.secrets.check_keyring`) is refused before anything is changed."""
    if password is not None:
        check_keyring()  # before the mailbox record changes: a password that cannot be kept binds nothing
    profile = factory.profile
    current = profile.mailbox
    if current is not None and not addresses_match(current.address, binding.address):
        raise RuleViolation(
            "a mailbox is bound already",
            user_text=f"The mailbox {current.address} is already bound; only one mailbox can be bound. "
            "Unbind it first: d365sync mailbox unbind",
        )
    org = factory.require_sync_org()
    client = factory.dataverse(org)
    records.check_mailbox_address(client, binding.address)
    found = check_mailbox(factory, binding, password)
    records.bind_mailbox(client, binding.address, "pop3" if binding.kind == "pop3" else "exchange")
    if password is not None:
        factory.secret_store().set(mailbox_key(binding.address), password)
    if found.kind in ("exchange", "exchange_online"):
        store = factory.mailbox_store(found, password)
        try:
            store.set_root_sync_org(org.id)
        finally:
            store.close()
    found.org_id = org.id
    found.bound_at = now_z()
    profile.mailbox = found
    factory.save()
    return found


def unbind_mailbox(factory: Factory) -> MailboxBinding | None:
    """Release the mailbox: delivery methods back to none on the record, password and binding removed."""
    binding = factory.profile.mailbox
    if binding is None:
        return None
    org = factory.profile.org(binding.org_id) or factory.profile.sync_org
    if org is not None:
        records.unbind_mailbox(factory.dataverse(org))
    factory.secret_store().delete(mailbox_key(binding.address))
    factory.profile.mailbox = None
    factory.save()
    return binding
