"""Exchange Web Services: the full mailbox backend (mail, contacts, calendar, tasks), on exchangelib 5.

The package, one job per module (imports run downwards only):

* :mod:`.connection` settings, the per-store TLS adapter (on :mod:`wizard.tls`), the bounded back-off,
  credentials, and the store's own exchangelib account and protocol;
* :mod:`.autodiscover` SOAP Autodiscover; :mod:`.errors` exchangelib failures as typed errors;
* :mod:`.props` the crm* named properties; :mod:`.values`, :mod:`.recurrence`, :mod:`.convert` exchangelib
  items <-> the product's item types; :mod:`.occurrences` the exceptions of a series;
* :mod:`.fastpath` the bulk CreateItem / UpdateItem bodies and the id listings, written and read with lxml
  (exchangelib still posts them);
* :mod:`.store` :class:`EwsStore`, the :class:`~wizard.mailbox.base.MailboxStore` implementation.

Only what other packages use is exported here.
"""

from wizard.mailbox.ews.connection import EwsAuth, EwsSettings
from wizard.mailbox.ews.store import EwsStore

__all__ = ["EwsAuth", "EwsSettings", "EwsStore"]
