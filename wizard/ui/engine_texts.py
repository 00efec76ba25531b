"""The engine's English texts for people, translated at the GUI's edge.

The engine and the layers under it stay free of Qt, so their texts (``D365SyncError.user_text``, a kind's
``KindResult.message``, progress messages) are English. The status window passes every such text through
:func:`translate`: the table below lists the texts the engine is known to produce, each as a template whose
``{name}`` parts stand for what varies (host names, counts, kinds). A text that matches a template is shown
as the translation of that template (``QT_TRANSLATE_NOOP("EngineText", ...)``, so the .ts catalog carries it)
with the same values filled in; an unknown text is shown as it is. Some entries also have a GUI wording
where the engine's own text names a command-line step ("run again with --yes").

``tests/gui/test_engine_texts.py`` checks that every template's fixed parts still occur in the engine's
sources, so a reworded engine message is noticed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from wizard.settings.enums import Kind

CONTEXT = "EngineText"

KIND_TITLES: dict[str, object] = {
    Kind.EMAIL: QT_TRANSLATE_NOOP("StatusWindow", "Email"),
    Kind.CONTACTS: QT_TRANSLATE_NOOP("StatusWindow", "Contacts"),
    Kind.APPOINTMENTS: QT_TRANSLATE_NOOP("StatusWindow", "Appointments"),
    Kind.TASKS: QT_TRANSLATE_NOOP("StatusWindow", "Tasks"),
}


def kind_title(kind: str) -> str:
    """ "Contacts" (translated) for the engine's kind name "contacts"."""
    return QCoreApplication.translate("StatusWindow", str(KIND_TITLES.get(kind, kind.title())))


@dataclass(frozen=True)
class EngineText:
    """``engine``: the text as the engine writes it, ``{name}`` for what varies; ``ui``: what the GUI shows
    (translatable; the same template unless the GUI words it differently)."""

    engine: str
    ui: str


def _same(template: object) -> EngineText:
    """An entry the GUI shows in the engine's words (translated)."""
    return EngineText(str(template), str(template))


def _own(engine: str, ui: object) -> EngineText:
    """An entry the GUI words its own way (the engine's text names a command-line step)."""
    return EngineText(engine, str(ui))


# Ordered: the first template that matches wins (put the more specific ones first). One line per text:
# lupdate reads the literal as written.
# fmt: off
TABLE: tuple[EngineText, ...] = (
    # Dataverse (wizard/odata/errors.py, wizard/odata/session.py)
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} is limiting how many requests we may send (service protection). Synchronization continues automatically later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} is unavailable or failed (HTTP {status}). It will be tried again later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sign-in to {host} is no longer valid. Sign in again (Configuration Wizard > Organizations).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Your user account in {host} lacks a privilege for this: {message} Ask your Dynamics 365 administrator for the missing security role.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The record no longer exists on {host}: {message}")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The server refused the request: {message}")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The record was changed by someone else after it was read; it will be read again and the change retried.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} did not answer in time. Check your network connection; it will be tried again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} accepted the connection but did not answer in time. It will be tried again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The server name {host} could not be found. Check the address and your network connection.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} refused the connection: the service is not running there, or the port is wrong.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The connection to {host} was interrupted before the answer arrived. It will be tried again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Talking to {host} failed ({error}). Check your network connection.")),
    # Exchange (wizard/mailbox/ews.py)
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} is busy and asked us to slow down. Synchronization continues later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} did not accept the user name or password (or the sign-in token). Check them and try again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} cannot be reached right now. Check the network connection; synchronization continues later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} reported an internal error. Synchronization will try again later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Talking to {server} failed unexpectedly.")),
    # Windows sign-in on premises (wizard/crm/auth.py)
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} did not accept the user name and password (Windows sign-in). Check both; enter the user name as {domain_user} or user@domain.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} asked for Windows sign-in but did not go on with it. Check the address.")),
    # The engine (wizard/sync/engine.py, wizard/sync/kinds.py, wizard/crm/records.py)
    _own(
        "{kind}: this run would delete {mailbox_deletes} of {mailbox_total} items in the mailbox and "
        "{crm_deletes} of {crm_total} records in Dynamics 365. Nothing was changed. Run again with --yes to "
        "delete them.",
        QT_TRANSLATE_NOOP("EngineText", "This run would delete {mailbox_deletes} of {mailbox_total} items in the mailbox and {crm_deletes} of {crm_total} records in Dynamics 365. Nothing was changed; choose “Synchronize anyway…” to delete them."),
    ),
    _same(QT_TRANSLATE_NOOP("EngineText", "An unexpected error stopped {kind}: {error}")),
    _same(QT_TRANSLATE_NOOP("EngineText", "This mailbox has no {kind}.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "A recurring appointment that was being changed when synchronization stopped could not be finished in Dynamics 365 yet, so appointments were not synchronized. It is tried again on the next run.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "A synchronization is already running for this profile (process {pid}). Wait for it to finish.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "A synchronization is already running for this profile. Wait for it to finish.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The computer {host} is the synchronizing computer for your mailbox (since {since}, last seen {seen}). Make this computer the synchronizing client? If not, you can still connect and browse, but this computer will not synchronize.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The computer {host} took over as the synchronizing computer for your mailbox (since {since}, last seen {seen}). Make this computer the synchronizing client? If not, you can still connect and browse, but this computer will not synchronize.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Your user has no mailbox record in {url}. Ask your Dynamics 365 administrator to check your user's mailbox (Settings > Email Configuration > Mailboxes).")),
    # Nothing (or not enough) configured (wizard/app/factory.py): the GUI names the wizard, not the command line
    _own(
        "No organization synchronizes yet, so messaging data is not synchronized. Choose one: d365sync orgs "
        "set-sync ID",
        QT_TRANSLATE_NOOP("EngineText", "No organization synchronizes yet, so messaging data is not synchronized. Choose one in the wizard (Organizations page) or above."),
    ),
    _own(
        "No mailbox is bound, so nothing can be synchronized. Bind one in the wizard (Mailbox page) or with: "
        "d365sync mailbox bind ADDRESS",
        QT_TRANSLATE_NOOP("EngineText", "No mailbox is bound, so nothing can be synchronized. Open the wizard and bind your mailbox on the Mailbox page."),
    ),
    _own(
        "Your mailbox {address} is not bound in {org}, so nothing is synchronized with it. Bind it there: "
        "open the wizard and bind it on the Mailbox page, or run: d365sync mailbox bind {address}",
        QT_TRANSLATE_NOOP("EngineText", "Your mailbox {address} is not bound in {org}, so nothing is synchronized with it. Open the wizard and bind it on the Mailbox page; the address must be your Primary Email in {org}."),
    ),
    _own(
        "No password is stored for the mailbox {address}. Bind it again: d365sync mailbox bind ADDRESS",
        QT_TRANSLATE_NOOP("EngineText", "No password is stored for the mailbox {address}. Open the wizard and bind it again on the Mailbox page."),
    ),
    # The email kind's run summary and status (wizard/sync/run.py: messages another one already is in Dynamics 365)
    _same(QT_TRANSLATE_NOOP("EngineText", "{count} skipped: already tracked")),
    # Progress messages of a running kind
    _same(QT_TRANSLATE_NOOP("EngineText", "reading Dynamics 365 and the mailbox")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Reading email settings")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Sending: {subject}")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Checking {folder}")),
)
# fmt: on


def _pattern(template: str) -> re.Pattern[str]:
    """The template as a regular expression: ``{name}`` matches any text (a repeated name the same text),
    runs of blanks match any blanks (the engine wraps long texts over several source lines)."""
    parts: list[str] = []
    seen: set[str] = set()
    for literal, name in re.findall(r"([^{]*)(?:\{(\w+)\}|$)", template):
        parts.append(r"\s+".join(re.escape(word) for word in literal.split(" ")))
        if name:
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
    return re.compile("".join(parts), re.DOTALL)


@cache
def _compiled() -> tuple[tuple[re.Pattern[str], EngineText], ...]:
    return tuple((_pattern(entry.engine), entry) for entry in TABLE)


def match(text: str) -> tuple[EngineText, dict[str, str]] | None:
    """The table entry whose engine template matches the whole ``text``, with the values of its parts."""
    stripped = text.strip()
    for pattern, entry in _compiled():
        found = pattern.fullmatch(stripped)
        if found is not None:
            return entry, found.groupdict()
    return None


def translate(text: str) -> str:
    """``text`` from the engine in the user's language (itself when it is not a known engine text)."""
    if not text:
        return text
    found = match(text)
    if found is None:
        return text
    entry, values = found
    if "kind" in values:
        values["kind"] = kind_title(values["kind"])
    return QCoreApplication.translate(CONTEXT, entry.ui).format(**values)
