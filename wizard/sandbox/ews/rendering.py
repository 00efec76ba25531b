"""Rendering stored items and folders as EWS answers them: response shapes (IdOnly, Default, AllProperties plus
AdditionalProperties), body type conversion, the computed fields of recurring masters and occurrences."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from wizard.sandbox.ews._soap import Element, el, local, sub, t
from wizard.sandbox.ews.mime import html_to_text, mime_for, text_to_html
from wizard.sandbox.ews.occurrences import EXCEPTIONS, Occurrence, first_last, occurrence_element, refresh_ids
from wizard.sandbox.ews.restrictions import PropPath, ext_key, parse_path
from wizard.sandbox.ews.schema import in_schema_order
from wizard.sandbox.ews.store import HIDDEN_FOLDERS, MailboxStore, StoredFolder, StoredItem


# -- shapes ---------------------------------------------------------------------------------------------
@dataclass
class Shape:
    base: str = "Default"
    include_mime: bool = False
    body_type: str | None = None
    paths: list[PropPath] = field(default_factory=list)

    @classmethod
    def parse(cls, elem: Element | None) -> Shape:
        if elem is None:
            return cls()
        shape = cls(base=(elem.findtext(t("BaseShape")) or "Default").strip())
        shape.include_mime = (elem.findtext(t("IncludeMimeContent")) or "").strip() == "true"
        shape.body_type = elem.findtext(t("BodyType"))
        extra = elem.find(t("AdditionalProperties"))
        if extra is not None:
            shape.paths = [parse_path(p) for p in extra]
        return shape

    @property
    def names(self) -> set[str]:
        return {p.name for p in self.paths if p.kind != "ext"}


NEVER_BY_DEFAULT = {
    "MimeContent",
    "ExtendedProperty",
    "TextBody",
    "UniqueBody",
    "NormalizedBody",
    EXCEPTIONS,  # the stand-in's own store of exceptions, never shown
}


def convert_body(body: Element, wanted: str | None) -> Element:
    out = copy.deepcopy(body)
    kind = body.get("BodyType", "Text")
    if wanted == "Text" and kind == "HTML":
        out.text, out.attrib["BodyType"] = html_to_text(body.text or ""), "Text"
    elif wanted == "HTML" and kind == "Text":
        out.text, out.attrib["BodyType"] = text_to_html(body.text or ""), "HTML"
    return out


def render_item(item: StoredItem, shape: Shape, store: MailboxStore) -> Element:
    """The item as GetItem/FindItem/SyncFolderItems answer it for ``shape``."""
    src = item.element
    out = el(t(item.tag))
    names = shape.names
    everything = shape.base in ("Default", "AllProperties")
    for child in src:
        name = local(child.tag)
        if name == "ItemId":
            out.append(copy.deepcopy(child))
        elif name in NEVER_BY_DEFAULT:
            if name == "MimeContent" and (shape.include_mime or name in names):
                out.append(copy.deepcopy(child))
        elif everything or name in names:
            if name == "Body":
                out.append(convert_body(child, shape.body_type))
            elif name == "Attachments":
                atts = copy.deepcopy(child)
                for att in atts:
                    for content in att.findall(t("Content")):
                        att.remove(content)
                out.append(atts)
            else:
                out.append(copy.deepcopy(child))
    if "TextBody" in names:
        body = src.find(t("Body"))
        if body is not None:
            text_body = convert_body(body, "Text")
            text_body.tag = t("TextBody")
            out.append(text_body)
    if (shape.include_mime or "MimeContent" in names) and out.find(t("MimeContent")) is None:
        out.append(el(t("MimeContent"), mime_for(item), {"CharacterSet": "UTF-8"}))
    if item.tag == "CalendarItem" and src.find(t("Recurrence")) is not None:
        _render_master_extras(item, out, names, everything)
    for path in shape.paths:
        if path.kind != "ext":
            continue
        for prop in src.findall(t("ExtendedProperty")):
            uri = prop.find(t("ExtendedFieldURI"))
            if uri is not None and ext_key(uri) == path.uri:
                out.append(copy.deepcopy(prop))
    in_schema_order(out)
    return out


def _render_master_extras(item: StoredItem, out: Element, names: set[str], everything: bool) -> None:
    """A master's computed occurrence fields: First/LastOccurrence, ModifiedOccurrences with current ids."""
    for old in out.findall(t("ModifiedOccurrences")):
        out.remove(old)
    if everything or "ModifiedOccurrences" in names:
        fresh = copy.deepcopy(item.element)
        refresh_ids(fresh, item.id, item.changekey)
        for node in fresh.findall(t("ModifiedOccurrences")):
            out.append(node)
    if everything or names & {"FirstOccurrence", "LastOccurrence"}:
        for node in first_last(item.element, item.id, item.changekey):
            if everything or local(node.tag) in names:
                out.append(node)


def occurrence_item(master: StoredItem, occ: Occurrence) -> StoredItem:
    """A transient item for one occurrence of ``master`` (rendered like any item, never stored)."""
    elem = occurrence_element(master.element, master.id, master.changekey, occ)
    return StoredItem(
        id=elem.find(t("ItemId")).get("Id"),
        mailbox=master.mailbox,
        folder_id=master.folder_id,
        tag="CalendarItem",
        element=elem,
        changekey=master.changekey,
        seq=master.seq,
        created_seq=master.created_seq,
        content_seq=master.content_seq,
        position=master.position,
    )


def render_folder(folder: StoredFolder, shape: Shape, store: MailboxStore) -> Element:
    out = el(t(folder.tag))
    sub(out, "t:FolderId", attrs={"Id": folder.id, "ChangeKey": folder.changekey})
    if shape.base == "IdOnly" and not shape.paths:
        return out
    names = shape.names
    everything = shape.base != "IdOnly"
    parent = store.folder_by_id(folder.parent_id) if folder.parent_id else None
    if parent is not None and (everything or "ParentFolderId" in names):
        sub(out, "t:ParentFolderId", attrs={"Id": parent.id, "ChangeKey": parent.changekey})
    if folder.folder_class and (everything or "FolderClass" in names):
        sub(out, "t:FolderClass", folder.folder_class)
    if everything or "DisplayName" in names:
        sub(out, "t:DisplayName", folder.name)
    if everything or "TotalCount" in names:
        sub(out, "t:TotalCount", str(store.count_in(folder.id)))
    if everything or "ChildFolderCount" in names:
        sub(out, "t:ChildFolderCount", str(len(visible_children(store, folder))))
    if folder.tag not in ("ContactsFolder", "CalendarFolder") and (everything or "UnreadCount" in names):
        unread = sum(1 for i in store.items_in(folder.id) if i.element.findtext(t("IsRead")) == "false")
        sub(out, "t:UnreadCount", str(unread))
    for path in shape.paths:
        if path.kind == "ext":
            for prop in folder.extended:
                if ext_key(prop.find(t("ExtendedFieldURI"))) == path.uri:
                    out.append(copy.deepcopy(prop))
    return out


def visible_children(store: MailboxStore, folder: StoredFolder) -> list[StoredFolder]:
    return [f for f in store.child_folders(folder.id) if f.distinguished not in HIDDEN_FOLDERS]
