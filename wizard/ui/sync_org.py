"""The original's confirmation before the synchronizing organization changes, shared by the wizard's
Organizations page and the status window (one wording, one translation: context ``OrganizationsPage``), with
the warning about offline changes not sent yet (issue 14) that switching or removing an organization gives."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication


def change_sync_org_question(current: str | None, new: str, queued: int = 0) -> tuple[str, str]:
    """(title, text) of the question; ``current`` is the name of the organization that synchronizes now,
    ``queued`` how many of its offline changes have not been sent yet (said, with where they stay)."""
    title = QCoreApplication.translate("OrganizationsPage", "Change the synchronizing organization")
    if current is not None:
        text = QCoreApplication.translate(
            "OrganizationsPage",
            "Do you want to change your synchronizing organization from {0} to {1}?\n\n"
            "Email, contacts, appointments and tasks will then be synchronized with {1} only; "
            "{0} stays available but its messaging data will not be synchronized.",
        ).format(current, new)
    else:
        text = QCoreApplication.translate(
            "OrganizationsPage",
            "Do you want to make {0} your synchronizing organization?\n\n"
            "Email, contacts, appointments and tasks will be synchronized with {0}.",
        ).format(new)
    if current is not None and queued:
        text += "\n\n" + queued_changes_warning(current, queued)
        text += " " + QCoreApplication.translate(
            "OrganizationsPage",
            "They stay on this computer and are sent when {0} synchronizes again and you go online.",
        ).format(current)
    return title, text


def queued_changes_warning(org: str, queued: int) -> str:
    """ "Contoso has 3 offline changes that have not been sent to Dynamics 365 yet." """
    if queued == 1:
        text = QCoreApplication.translate(
            "OrganizationsPage", "{0} has 1 offline change that has not been sent to Dynamics 365 yet."
        )
    else:
        text = QCoreApplication.translate(
            "OrganizationsPage", "{0} has {1} offline changes that have not been sent to Dynamics 365 yet."
        )
    return text.format(org, queued)
