"""Exchange Online through Microsoft Graph v1.0: mail, contacts, calendar and To Do tasks.

Built on the product's own OData core (:class:`wizard.odata.ODataSession`) rather than msgraph-sdk, which
would bring a second, asynchronous HTTP stack (httpx + kiota + azure-identity) into a synchronous engine.
docs/mailbox-graph.md describes the choices; in short:

* **Changes** are Graph delta rounds: ``/me/mailFolders/{wellKnown}/messages/delta``,
  ``/me/contacts/delta``, ``/me/calendarView/delta`` (the only event delta in v1.0; it needs a time
  window, so appointments outside ``calendar_past_days``/``calendar_future_days`` are not seen) and
  ``/me/todo/lists/{default}/tasks/delta``. The cursor holds the nextLink or deltaLink; a 410 (or
  ``syncStateNotFound``/``resyncRequired``) restarts the round with ``full_resync``. Graph does not say
  whether a row is new, so a row counts as *created* when its ``createdDateTime`` is not older than the
  start of the previous round (server clock, from the ``Date`` header).
* **Named properties** are single-value extended properties ``String {PS_PUBLIC_STRINGS} Name crmid``
  etc. on messages, contacts and events (``$expand`` to read, ``$filter=.../Any(...)`` to find) and on the
  mailbox root (``/me/mailFolders/msgfolderroot``). To Do tasks have no extended properties in v1.0: they
  carry the same names in an open extension ``com.d365sync.crm``, and tasks are searched client-side.
* **No invitations.** Graph sends meeting requests as soon as an event with ``attendees`` is created or
  changed, and v1.0 has no way to save a meeting without sending. Attendees are therefore never written
  as Graph attendees: they are kept in the extended property ``String {PS_PUBLIC_STRINGS} Name
  d365attendees`` (JSON) and read back from there, so CRM appointments land as the organizer's own
  appointments, as the original client's "save without sending" did.
* **Recurring series**: a master's deleted and modified occurrences are read from its ``/instances`` and
  written per instance (:mod:`.occurrences`).
* **Writes** go through JSON ``$batch`` (20 requests each); a throttled request inside a batch is
  retried alone after its Retry-After, within the same retry budget as whole requests (:mod:`.client`).
* **Sending** posts our own MIME (base64, ``text/plain``) to ``/me/sendMail`` so Message-ID,
  In-Reply-To/References and correlation headers are ours; Graph keeps a copy in Sent Items.

The package, one job per module (imports run downwards only): :mod:`.errors`, :mod:`.props`,
:mod:`.values`, :mod:`.recurrence`, :mod:`.convert`, :mod:`.client`, :mod:`.occurrences`, :mod:`.store`.
Only what other packages use is exported here.
"""

from wizard.mailbox.graph.client import GRAPH_URL, GraphSettings, GraphTokenProvider
from wizard.mailbox.graph.store import GraphStore

__all__ = ["GRAPH_URL", "GraphSettings", "GraphStore", "GraphTokenProvider"]
