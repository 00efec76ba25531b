"""The EWS stand-in: SOAP 1.1 Exchange Web Services + SOAP Autodiscover on loopback, for exchangelib."""

from wizard.sandbox.ews.client import ca_adapter
from wizard.sandbox.ews.ops import EwsError, Mailbox
from wizard.sandbox.ews.server import EwsStandIn
from wizard.sandbox.ews.store import MailboxStore, StoredFolder, StoredItem

__all__ = ["EwsError", "EwsStandIn", "Mailbox", "MailboxStore", "StoredFolder", "StoredItem", "ca_adapter"]
