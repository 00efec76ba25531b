"""GetFolder, FindFolder and UpdateFolder."""

from __future__ import annotations

import copy

from wizard.sandbox.ews._soap import Element, el, local, m, t
from wizard.sandbox.ews.errors import EwsError
from wizard.sandbox.ews.item_fields import normalize_booleans
from wizard.sandbox.ews.ops.base import Mailbox, OperationsBase, paged
from wizard.sandbox.ews.rendering import Shape, render_folder, visible_children
from wizard.sandbox.ews.restrictions import ext_key, matches, parse_path
from wizard.sandbox.ews.store import StoredFolder


class FolderOperations(OperationsBase):
    """GetFolder, FindFolder, UpdateFolder."""

    # -- folders ------------------------------------------------------------------------------------------
    def op_GetFolder(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("FolderShape")))

        def get(ref: Element) -> Element:
            holder = el(m("Folders"))
            holder.append(render_folder(self._folder(caller, ref), shape, self.store))
            return holder

        return self._per_item("GetFolder", list(request.find(m("FolderIds"))), get)

    def op_FindFolder(self, caller: Mailbox, request: Element) -> list[Element]:
        shape = Shape.parse(request.find(m("FolderShape")))
        deep = request.get("Traversal", "Shallow") == "Deep"
        view = request.find(m("IndexedPageFolderView"))

        def find(ref: Element) -> Element:
            parent = self._folder(caller, ref)
            found: list[StoredFolder] = []
            queue = [parent]
            while queue:
                current = queue.pop(0)
                children = visible_children(self.store, current)
                found.extend(children)
                if deep:
                    queue.extend(children)
            restriction = request.find(m("Restriction"))
            if restriction is not None:
                found = [
                    f
                    for f in found
                    if matches(render_folder(f, Shape("AllProperties"), self.store), restriction)
                ]
            return paged(found, view, lambda f: render_folder(f, shape, self.store), "Folders")

        return self._per_item("FindFolder", list(request.find(m("ParentFolderIds"))), find)

    def op_UpdateFolder(self, caller: Mailbox, request: Element) -> list[Element]:
        def update(change: Element) -> Element:
            folder = self._folder(caller, change[0])
            for upd in change.find(t("Updates")):
                path = parse_path(upd[0])
                kind = local(upd.tag)
                if path.kind == "ext":
                    folder.extended = [
                        p for p in folder.extended if ext_key(p.find(t("ExtendedFieldURI"))) != path.uri
                    ]
                    if kind != "DeleteFolderField":
                        for source in upd[1].findall(t("ExtendedProperty")):
                            prop = copy.deepcopy(source)
                            normalize_booleans(prop)
                            folder.extended.append(prop)
                elif path.name == "DisplayName" and kind == "SetFolderField":
                    if folder.distinguished:
                        raise EwsError(
                            "ErrorCannotRenameOrMoveDistinguishedFolder", "Cannot rename a default folder."
                        )
                    folder.name = upd[1].findtext(t("DisplayName")) or folder.name
                else:
                    raise EwsError("ErrorInvalidPropertySet", f"{path.uri} cannot be updated in the sandbox.")
            self.store.touch_folder(folder)
            holder = el(m("Folders"))
            holder.append(render_folder(folder, Shape("IdOnly"), self.store))
            return holder

        return self._per_item("UpdateFolder", list(request.find(m("FolderChanges"))), update)
