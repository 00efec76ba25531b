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
    _same(QT_TRANSLATE_NOOP("EngineText", "The synchronization stopped unexpectedly. The log file has the details; it will be tried again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Something unexpected went wrong ({name}). The log file has the details.")),
    _own(
        "Enter the POP3 server of your mailbox.",
        QT_TRANSLATE_NOOP("EngineText", "The POP3 server of your mailbox is missing. Open the wizard and enter it on the Mailbox page."),
    ),
    _same(QT_TRANSLATE_NOOP("EngineText", "Exchange Online uses your Microsoft 365 sign-in, but this organization is on premises (Windows sign-in). Choose Exchange or POP3 for this organization.")),
    _own(
        "No password is stored for {username} at {org}. Add the organization again: d365sync orgs add {url} --auth ntlm",
        QT_TRANSLATE_NOOP("EngineText", "No password is stored for {username} at {org}. Open the wizard and add the organization again on the Organizations page."),
    ),
    _own(
        "Your sign-in has expired or was revoked. Sign in again.",
        QT_TRANSLATE_NOOP("EngineText", "Your sign-in has expired or was revoked. Open the wizard and sign in again on the Organizations page."),
    ),
    _same(QT_TRANSLATE_NOOP("EngineText", "The user name or password is incorrect.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "This user account does not exist in the organization's directory.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The account is locked after too many failed sign-ins. Try again later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The password has expired. Change it, then sign in again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The account is disabled. Ask your administrator.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Your organization requires multi-factor authentication: sign in with the browser or a code.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "This application has not been given consent to access Dynamics 365 in your organization. Ask an administrator to grant consent, or sign in with the browser to consent.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The application (client id) is not registered in this directory. Check the client id.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sign-in code expired before it was used. Start the sign-in again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sign-in was declined.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sign-in was cancelled.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The requested permission (scope) is not valid for this service.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The application (client id) is not accepted by the sign-in service.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "You need to sign in again interactively.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sign-in service is temporarily unavailable. Try again later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sign-in service reported an error. Try again later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Signing in failed because of an unexpected answer from the sign-in service.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Signing in failed ({error}).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The certificate of the sign-in server {host} is not trusted. Check the address, or the certificate authority file if your organization uses its own.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sign-in server {host} cannot be reached. Check the network connection and the address.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The encrypted sign-in cache cannot be used. Unlock your keyring and try again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Your mailbox record in Dynamics 365 kept changing while we tried to update it; try again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "This computer is no longer the synchronizing computer (the claim was released).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The organization settings are missing.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} did not accept the sign-in even after a fresh sign-in token ({message}). Sign in again in the Configuration Wizard; if it keeps failing, your account may be disabled or have no access to this organization.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} did not accept the sign-in ({message}). Sign in again in the Configuration Wizard; if it keeps failing, your account may be disabled or have no access to this organization.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "A secure (TLS 1.2+) connection to {host} could not be established ({detail}). If your organization uses its own certificate authority, give its CA file in the settings; otherwise a proxy may be intercepting the connection.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Not saved: {why}. It will be tried again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} sent a {what} that does not lead back to {host} ({why}). It was not followed, so your sign-in was not sent anywhere else; this part of the synchronization stopped. If it keeps happening, a proxy or a compromised server may be rewriting answers: tell your administrator.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} did not stop sending 'next page' links for {what}: {why}. The listing was abandoned and this part of the synchronization stopped.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The server stopped answering: {host} did not finish its answer within {seconds} seconds. This part of the synchronization stopped; it will be tried again at the next run.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{host} sent an answer larger than {megabytes} MB, far more than any page of data should be (possibly a compressed 'bomb' or a faulty proxy). It was not read to the end; this part of the synchronization stopped.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "You are signed in, but {server} does not allow this account to open the mailbox.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} has no mailbox for this address. Check the email address.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "A secure connection to {server} could not be set up: its certificate is not trusted or TLS failed. Check the server name and, for a company certificate authority, the CA file.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The item no longer exists in the mailbox.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The item was changed in the mailbox at the same time; it will be merged on the next run.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The item changed in the mailbox; it is read again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The mailbox's change marker was not accepted.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} redirected the request elsewhere; check the EWS address.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} refused an item: {error}")),
    _same(QT_TRANSLATE_NOOP("EngineText", "An item could not be written to the mailbox: {error}")),
    _same(QT_TRANSLATE_NOOP("EngineText", "An item of the wrong type was sent to a mailbox folder.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The appointment {subject} has no start or end time.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "An appointment time had no time zone.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The Exchange address must start with https:// — the password or sign-in token would otherwise travel unencrypted.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} did not accept the sign-in ({code}). Sign in again in the Configuration Wizard (Mailbox page).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} is limiting requests; synchronization continues automatically later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "This mailbox is not in Exchange Online (or is inactive); use the Exchange (EWS) option.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sign-in has no permission for this ({message}). An administrator must consent to the app's mail, contacts, calendar and tasks permissions.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{server} refused this: {message}")),
    _same(QT_TRANSLATE_NOOP("EngineText", "TLS to {server} failed.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sign-in belongs to {user}, not to the mailbox {address}. Sign in as the mailbox's owner.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Exchange Online answered a change query oddly.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The mailbox has no default task list.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Exchange Online answered a batch oddly.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Exchange Online left out part of a batch answer.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "This mailbox type ({backend}) cannot {what}.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "A message could not be read (damaged).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "A message could not be read.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "An empty message was skipped.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The email address {address} is not valid.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Invalid extra header.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The POP3 server {host} reported an error: {text}")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The POP3 server must use TLS (port 995 or STLS); passwords never go unencrypted.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The certificate of the POP3 server {host} is not trusted ({detail}).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "No secure connection to the POP3 server {host} could be made.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The POP3 server {host} was not found. Check the server name.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The POP3 server {host} did not answer in time.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The POP3 server {host} cannot be reached (port {port}).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The POP3 server {host} does not offer STLS; use port 995 (POP3S).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The mailbox is in use by another program; trying again later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The POP3 server {host} reported a temporary error.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The POP3 server {host} did not accept the user name or password.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The SMTP server must use TLS (port 465 or STARTTLS on 587).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The email has no recipients.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The secure connection to the POP3 server broke down.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The connection to the POP3 server {host} was lost.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The SMTP server {host} did not accept the user name or password.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The SMTP server {host} does not support login.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The mail server refused the recipient(s) {recipients}.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The mail server refused the sender address {sender}.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The SMTP server {host} refused the message ({code}).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The SMTP server {host} has an untrusted certificate ({detail}).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "No secure connection to the SMTP server {host} could be made.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The SMTP server {host} cannot be reached (port {port}).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The SMTP server {host} does not offer STARTTLS; use port 465.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The SMTP server {host} is busy; sending again later.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "A message was removed from the server before it was read.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The POP3 server refused to hand out one message.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The keyring refused to {action} a secret. Unlock your keyring and try again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The passphrase in {variable} does not unlock the encrypted file keyring.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The encrypted file keyring is locked and there is no terminal to ask for its passphrase, so nothing was saved. Set {variable} (see docs/cli.md, Secrets).")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sync state in {folder} cannot be read or written ({error}); nothing was changed.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The disk holding {folder} is full; nothing was changed. Free some space there and synchronize again.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sync state is in use by another d365sync process; nothing was changed. Try again in a moment.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sync state in {folder} cannot be written (the file or its folder is read-only); nothing was changed.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "The sync state was written by a newer version of d365sync. Please update.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "An item changed in the mailbox while it was being synchronized; it is merged again on the next run.")),
    # The email kind's run summary and status (wizard/sync/run.py: messages another one already is in Dynamics 365)
    _same(QT_TRANSLATE_NOOP("EngineText", "{count} skipped: already tracked")),
    # Progress messages of a running kind
    _same(QT_TRANSLATE_NOOP("EngineText", "reading Dynamics 365 and the mailbox")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Reading email settings")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Sending: {subject}")),
    _same(QT_TRANSLATE_NOOP("EngineText", "Checking {folder}")),
    # Offline decisions (wizard/offline/decide.py, wizard/app/offline.py resolve_conflict: "<table> <name>: <what>.")
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: it will be created at the next go-online although it looks like a duplicate.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: the new record was discarded.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: it will be created again at the next go-online.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: your offline changes were dropped; the record was deleted in Dynamics 365.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: it will be deleted at the next go-online.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: the record from Dynamics 365 is back.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: your offline value will be sent at the next go-online.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: the value from Dynamics 365 is kept.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: kept and sent to Dynamics 365.")),
    _same(QT_TRANSLATE_NOOP("EngineText", "{record}: kept; it is sent with the next refresh.")),
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
