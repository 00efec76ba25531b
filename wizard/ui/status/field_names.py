"""The display names of synced fields in the user's language, for the conflict cards.

The engine and the application layer name a field in English, as the Synchronization Fields table does
(:func:`wizard.app.conflicts.field_label`: "Job Title", "Start"); the table below lists every such name
(``QT_TRANSLATE_NOOP("FieldName", ...)``, so the .ts catalog carries it) and :func:`field_title` shows its
translation. ``tests/gui/test_conflict_names.py`` checks that every name the application layer can give is here.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

CONTEXT = "FieldName"

# One line per name: lupdate reads the literal as written.
FIELD_NAMES: tuple[object, ...] = (
    QT_TRANSLATE_NOOP("FieldName", "Whole record"),
    QT_TRANSLATE_NOOP("FieldName", "First Name"),
    QT_TRANSLATE_NOOP("FieldName", "Middle Name"),
    QT_TRANSLATE_NOOP("FieldName", "Last Name"),
    QT_TRANSLATE_NOOP("FieldName", "Company"),
    QT_TRANSLATE_NOOP("FieldName", "Job Title"),
    QT_TRANSLATE_NOOP("FieldName", "Department"),
    QT_TRANSLATE_NOOP("FieldName", "E-mail"),
    QT_TRANSLATE_NOOP("FieldName", "E-mail 2"),
    QT_TRANSLATE_NOOP("FieldName", "E-mail 3"),
    QT_TRANSLATE_NOOP("FieldName", "Business Phone"),
    QT_TRANSLATE_NOOP("FieldName", "Home Phone"),
    QT_TRANSLATE_NOOP("FieldName", "Mobile"),
    QT_TRANSLATE_NOOP("FieldName", "Business Fax"),
    QT_TRANSLATE_NOOP("FieldName", "Mailing Address/Business Address: Street 1"),
    QT_TRANSLATE_NOOP("FieldName", "Mailing Address/Business Address: Street 2"),
    QT_TRANSLATE_NOOP("FieldName", "Mailing Address/Business Address: Street 3"),
    QT_TRANSLATE_NOOP("FieldName", "Mailing Address/Business Address: City"),
    QT_TRANSLATE_NOOP("FieldName", "Mailing Address/Business Address: State/Province"),
    QT_TRANSLATE_NOOP("FieldName", "Mailing Address/Business Address: ZIP/Postal Code"),
    QT_TRANSLATE_NOOP("FieldName", "Mailing Address/Business Address: Country/Region"),
    QT_TRANSLATE_NOOP("FieldName", "Home Address: Street 1"),
    QT_TRANSLATE_NOOP("FieldName", "Home Address: Street 2"),
    QT_TRANSLATE_NOOP("FieldName", "Home Address: Street 3"),
    QT_TRANSLATE_NOOP("FieldName", "Home Address: City"),
    QT_TRANSLATE_NOOP("FieldName", "Home Address: State/Province"),
    QT_TRANSLATE_NOOP("FieldName", "Home Address: ZIP/Postal Code"),
    QT_TRANSLATE_NOOP("FieldName", "Home Address: Country/Region"),
    QT_TRANSLATE_NOOP("FieldName", "Web Page"),
    QT_TRANSLATE_NOOP("FieldName", "Birthday"),
    QT_TRANSLATE_NOOP("FieldName", "Notes"),
    QT_TRANSLATE_NOOP("FieldName", "Subject"),
    QT_TRANSLATE_NOOP("FieldName", "Start"),
    QT_TRANSLATE_NOOP("FieldName", "End"),
    QT_TRANSLATE_NOOP("FieldName", "All Day Event"),
    QT_TRANSLATE_NOOP("FieldName", "Location"),
    QT_TRANSLATE_NOOP("FieldName", "Body"),
    QT_TRANSLATE_NOOP("FieldName", "Organizer, Required Attendees, Optional Attendees"),
    QT_TRANSLATE_NOOP("FieldName", "Recurrence"),
    QT_TRANSLATE_NOOP("FieldName", "Start Date"),
    QT_TRANSLATE_NOOP("FieldName", "Due Date"),
    QT_TRANSLATE_NOOP("FieldName", "% Complete"),
    QT_TRANSLATE_NOOP("FieldName", "Status"),
    QT_TRANSLATE_NOOP("FieldName", "Priority"),
)
KNOWN = frozenset(str(name) for name in FIELD_NAMES)


def field_title(name: str) -> str:
    """The translation of an English field name from the table; a name the table does not know as it is."""
    if name not in KNOWN:
        return name
    return QCoreApplication.translate(CONTEXT, name)
