"""The EWS operations of the stand-in: SOAP body in, SOAP body out, against a :class:`MailboxStore`.

Shapes follow what exchangelib 5.6 sends (IdOnly + AdditionalProperties, IndexedPageItemView, SetItemField
with a ``<t:Contact>`` wrapper, ...) and what Exchange answers; errors are per-item ResponseMessages with the
documented ResponseCodes, so exchangelib raises the same exception classes it would against a real server.
One module per operation family; :class:`EwsOperations` combines them.
"""

from __future__ import annotations

from wizard.sandbox.ews.errors import EwsError
from wizard.sandbox.ews.item_fields import apply_update, refresh_computed
from wizard.sandbox.ews.mime import apply_mime
from wizard.sandbox.ews.ops.attachments import AttachmentOperations
from wizard.sandbox.ews.ops.base import Mailbox
from wizard.sandbox.ews.ops.finding import FindOperations
from wizard.sandbox.ews.ops.folders import FolderOperations
from wizard.sandbox.ews.ops.items import ItemOperations
from wizard.sandbox.ews.ops.names import NameOperations
from wizard.sandbox.ews.ops.sync import SyncOperations

__all__ = ["EwsError", "EwsOperations", "Mailbox", "apply_mime", "apply_update", "refresh_computed"]


class EwsOperations(
    NameOperations, FolderOperations, SyncOperations, FindOperations, ItemOperations, AttachmentOperations
):
    """Dispatches one SOAP body element to the operation method named after it."""
