"""EWS property paths (FieldURI, IndexedFieldURI, ExtendedFieldURI) and the Restriction filters evaluated against
stored item and folder elements (IsEqualTo, Contains, Exists, And/Or/Not, ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wizard.sandbox.ews._soap import DISTINGUISHED_SETS, Element, local, parse_dt, t
from wizard.sandbox.ews.errors import EwsError

# -- property paths ---------------------------------------------------------------------------------------
INDEXED_CONTAINERS = {
    "contacts:EmailAddress": "EmailAddresses",
    "contacts:PhoneNumber": "PhoneNumbers",
    "contacts:ImAddress": "ImAddresses",
    "contacts:PhysicalAddress": "PhysicalAddresses",
}


@dataclass(frozen=True)
class PropPath:
    kind: str  # field | indexed | ext
    uri: str  # FieldURI; for ext the normalized key
    index: str | None = None
    source: Element | None = field(default=None, compare=False, hash=False)

    @property
    def name(self) -> str:
        """The element that holds the value in an item."""
        if self.kind == "ext":
            return "ExtendedProperty"
        for prefix, container in INDEXED_CONTAINERS.items():
            if self.uri == prefix or self.uri.startswith(prefix + ":"):
                return container
        return self.uri.rsplit(":", 1)[-1] if self.uri.count(":") == 1 else self.uri.split(":")[1]

    @property
    def subfield(self) -> str | None:
        parts = self.uri.split(":")
        return parts[2] if self.kind == "indexed" and len(parts) == 3 else None

    @property
    def key(self) -> str:
        return self.uri if self.kind == "ext" else self.name + (f":{self.index}" if self.index else "")


def ext_key(uri: Element) -> str:
    """Normalize an ExtendedFieldURI: DistinguishedPropertySetId and PropertySetId name the same set."""
    set_id = (uri.get("PropertySetId") or "").strip("{}").lower()
    dist = uri.get("DistinguishedPropertySetId")
    if dist:
        set_id = DISTINGUISHED_SETS.get(dist.lower(), dist.lower())
    tag = uri.get("PropertyTag")
    tag_norm = str(int(tag, 0)) if tag else ""
    return "|".join((set_id, tag_norm, uri.get("PropertyName") or "", uri.get("PropertyId") or ""))


def parse_path(elem: Element) -> PropPath:
    name = local(elem.tag)
    if name == "FieldURI":
        return PropPath("field", elem.get("FieldURI") or "")
    if name == "IndexedFieldURI":
        return PropPath("indexed", elem.get("FieldURI") or "", elem.get("FieldIndex"))
    if name == "ExtendedFieldURI":
        return PropPath("ext", ext_key(elem), source=elem)
    raise EwsError("ErrorInvalidPropertyRequest", f"Unknown property path {name}.")


def values_of(elem: Element, path: PropPath) -> list[str]:
    """Texts a restriction or sort compares for ``path`` (multi-valued fields give several)."""
    if path.kind == "ext":
        for prop in elem.findall(t("ExtendedProperty")):
            uri = prop.find(t("ExtendedFieldURI"))
            if uri is not None and ext_key(uri) == path.uri:
                values = prop.find(t("Values"))
                if values is not None:
                    return [v.text or "" for v in values]
                value = prop.find(t("Value"))
                return [] if value is None else [value.text or ""]
        return []
    if path.kind == "indexed":
        container = elem.find(t(path.name))
        if container is None:
            return []
        for entry in container:
            if entry.get("Key") == path.index:
                if path.subfield:
                    sub_elem = entry.find(t(path.subfield))
                    return [] if sub_elem is None else [sub_elem.text or ""]
                return [entry.text or ""]
        return []
    out: list[str] = []
    for found in elem.findall(t(path.name)):
        if len(found) == 0:
            out.append(found.text or "")
        else:
            out.extend(e.text or "" for e in found.iter() if len(e) == 0 and e.text)
    return out


def _typed(value: str) -> tuple[int, Any]:
    text = value.strip()
    if len(text) >= 10 and text[4:5] == "-" and (parsed := parse_dt(text)) is not None:
        return (0, parsed.timestamp())
    try:
        return (1, float(text))
    except ValueError:
        pass
    if text.lower() in ("true", "false"):
        return (1, 1.0 if text.lower() == "true" else 0.0)
    return (2, text.casefold())


def compare(left: str, right: str) -> int:
    a, b = _typed(left), _typed(right)
    if a[0] != b[0]:
        a, b = (2, left.strip().casefold()), (2, right.strip().casefold())
    return int(a[1] > b[1]) - int(a[1] < b[1])


COMPARISONS: dict[str, Callable[[int], bool]] = {
    "IsEqualTo": lambda c: c == 0,
    "IsNotEqualTo": lambda c: c != 0,
    "IsGreaterThan": lambda c: c > 0,
    "IsGreaterThanOrEqualTo": lambda c: c >= 0,
    "IsLessThan": lambda c: c < 0,
    "IsLessThanOrEqualTo": lambda c: c <= 0,
}


def matches(elem: Element, cond: Element) -> bool:
    """Evaluate a ``<m:Restriction>`` search expression on a stored item element."""
    name = local(cond.tag)
    if name == "Restriction":
        return all(matches(elem, c) for c in cond)
    if name == "And":
        return all(matches(elem, c) for c in cond)
    if name == "Or":
        return any(matches(elem, c) for c in cond)
    if name == "Not":
        return not matches(elem, cond[0])
    if name == "Exists":
        path = parse_path(cond[0])
        return bool(values_of(elem, path)) or (elem.find(t(path.name)) is not None and path.kind == "field")
    if name in COMPARISONS:
        path = parse_path(cond[0])
        constant = cond.find(f"{t('FieldURIOrConstant')}/{t('Constant')}")
        if constant is None:
            raise EwsError("ErrorUnsupportedQueryFilter", "Only constants can be compared.")
        wanted = constant.get("Value") or ""
        values = values_of(elem, path)
        if name == "IsNotEqualTo":
            return all(compare(v, wanted) != 0 for v in values)
        return any(COMPARISONS[name](compare(v, wanted)) for v in values)
    if name == "Contains":
        path = parse_path(cond[0])
        constant = cond.find(t("Constant"))
        wanted = "" if constant is None else constant.get("Value") or ""
        mode = cond.get("ContainmentMode", "Substring")
        exact = cond.get("ContainmentComparison", "IgnoreCase") == "Exact"
        for value in values_of(elem, path):
            a, b = (value, wanted) if exact else (value.casefold(), wanted.casefold())
            if (
                (mode == "FullString" and a == b)
                or (mode == "Prefixed" and a.startswith(b))
                or (mode in ("Substring", "PrefixOnWords", "ExactPhrase") and b in a)
            ):
                return True
        return False
    raise EwsError("ErrorUnsupportedQueryFilter", f"The restriction {name} is not supported.")


def sort_value(values: list[str]) -> tuple[int, Any]:
    if not values:
        return (-1, 0)
    kind, value = _typed(values[0])
    return (kind, value) if kind != 2 else (2, value)
