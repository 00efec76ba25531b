"""The original's confirmation before the synchronizing organization changes, shared by the wizard's
Organizations page and the status window (one wording, one translation: context ``OrganizationsPage``)."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication


def change_sync_org_question(current: str | None, new: str) -> tuple[str, str]:
    """(title, text) of the question; ``current`` is the name of the organization that synchronizes now."""
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
    return title, text
