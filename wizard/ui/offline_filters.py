"""The list of offline filters with on/off and a count per table: one widget for the wizard's Offline page and
the status window's Offline filters dialog (issue 14, item 1).

A tree: one row per table ("Contacts — about 4,210") with its filters under it, each with a check box (on/off)
and its preview count. It shows and reports; it never writes: the user turning a filter on or off emits
:attr:`OfflineFilterList.toggled` and the page or dialog decides when to save. Read-only (the user is offline):
the check boxes show the state and cannot be changed, and the table rows show the records on this computer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from wizard.app import offline_preview
from wizard.crm.entities import UserQuery

ID_ROLE = Qt.ItemDataRole.UserRole
# the tables in the order the list shows them
TABLE_ORDER = ("contact", "account", "lead", "appointment", "task")


class OfflineFilterList(QTreeWidget):
    """The filters by table; ``toggled(filter id, on)`` when the user turns one on or off."""

    toggled = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._filling = False
        self._counts: dict[str, int] = {}
        self._on_computer = False
        self.read_only = False
        self.setColumnCount(2)
        self.setHeaderLabels([self.tr("Offline filter"), self.tr("Records")])
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAccessibleName(self.tr("Offline filters"))
        self.setMinimumHeight(160)
        self.itemChanged.connect(self._item_changed)

    def table_label(self, logical_name: str) -> str:
        names = {
            "account": self.tr("Accounts"),
            "contact": self.tr("Contacts"),
            "lead": self.tr("Leads"),
            "appointment": self.tr("Appointments"),
            "task": self.tr("Tasks"),
        }
        return names.get(logical_name, logical_name)

    def fill(
        self,
        filters: Sequence[UserQuery],
        counts: Mapping[str, int],
        *,
        read_only: bool = False,
        on_computer: Mapping[str, int] | None = None,
    ) -> None:
        """Show ``filters`` with their preview ``counts`` (filter id -> records). ``read_only``: no check box
        can be changed; ``on_computer`` (table -> records): the table rows show these instead of the sum of
        the filters' counts."""
        self._filling = True
        self.read_only = read_only
        self._counts = dict(counts)
        self._on_computer = on_computer is not None
        try:
            self.clear()
            tables = sorted(
                {f.returnedtypecode for f in filters},
                key=lambda t: TABLE_ORDER.index(t) if t in TABLE_ORDER else len(TABLE_ORDER),
            )
            for table in tables:
                mine = [f for f in filters if f.returnedtypecode == table]
                if on_computer is not None:
                    total = self.number(on_computer.get(table, 0))
                else:
                    total = self.about(sum(counts.get(f.id, 0) for f in mine if f.active))
                parent = QTreeWidgetItem(self, [self.table_label(table), total])
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                for query in mine:
                    item = QTreeWidgetItem(parent, [query.name, self.number(counts.get(query.id))])
                    item.setData(0, ID_ROLE, query.id)
                    flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                    if not read_only:
                        flags |= Qt.ItemFlag.ItemIsUserCheckable
                    item.setFlags(flags)
                    item.setCheckState(0, Qt.CheckState.Checked if query.active else Qt.CheckState.Unchecked)
                    if not read_only:
                        item.setToolTip(0, self.tr("Turn on to take these records offline"))
                parent.setExpanded(True)
        finally:
            self._filling = False

    def about(self, count: int) -> str:
        """A table's estimate ("about 4,210"); an exact none says "0", a count past the service's limit says so."""
        if offline_preview.over_limit(count):
            return self.more_than_limit()
        if count == 0:
            return self.locale().toString(0)
        return self.tr("about {0}").format(self.locale().toString(count))

    def number(self, count: int | None) -> str:
        if count is not None and offline_preview.over_limit(count):
            return self.more_than_limit()
        return "" if count is None else self.locale().toString(count)

    def more_than_limit(self) -> str:
        """What a count says when the service counts no further (its 50,000-record aggregate limit)."""
        return self.tr("more than {0}").format(self.locale().toString(offline_preview.AGGREGATE_LIMIT))

    def states(self) -> dict[str, bool]:
        """Each filter's check box as shown now (filter id -> on)."""
        out: dict[str, bool] = {}
        for index in range(self.topLevelItemCount()):
            parent = self.topLevelItem(index)
            for row in range(parent.childCount() if parent is not None else 0):
                item = parent.child(row) if parent is not None else None
                if item is not None and item.data(0, ID_ROLE):
                    out[str(item.data(0, ID_ROLE))] = item.checkState(0) == Qt.CheckState.Checked
        return out

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        filter_id = item.data(0, ID_ROLE)
        if self._filling or column != 0 or not filter_id:
            return
        parent = item.parent()
        if parent is not None and not self._on_computer:  # the table's estimate follows the check boxes
            children = [parent.child(row) for row in range(parent.childCount())]
            total = sum(
                self._counts.get(str(child.data(0, ID_ROLE)), 0)
                for child in children
                if child is not None and child.checkState(0) == Qt.CheckState.Checked
            )
            self._filling = True
            try:
                parent.setText(1, self.about(total))
            finally:
                self._filling = False
        self.toggled.emit(str(filter_id), item.checkState(0) == Qt.CheckState.Checked)
