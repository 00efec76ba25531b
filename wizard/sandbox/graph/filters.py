"""``$filter`` of the Graph stand-in's lists: a small OData expression parser and evaluator.

What it reads ("Use the $filter query parameter"): comparisons ``eq ne gt ge lt le`` of a property path
(``subject``, ``from/emailAddress/address``; names case-insensitive) with a literal (``'text'`` with ``''`` for a
quote, ``true``/``false``/``null``, numbers, date-times such as ``2026-01-01T00:00:00Z``), ``startswith(path,
'text')``, ``and``/``or``/``not``, parentheses, and lambdas ``path/any(x: …)`` over a collection (categories,
email addresses, single-value extended properties). Text compares case-insensitively, as Exchange does.
Anything else is refused as Exchange refuses it: 400 ``ErrorInvalidUrlQueryFilter``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wizard.sandbox.graph.protocol import GraphError, ext_key
from wizard.sandbox.graph.store import Entry
from wizard.sandbox.graph.times import render_time

#: the property paths each collection can be filtered on (as spelt in Graph's metadata)
FILTERABLE: dict[str, tuple[str, ...]] = {
    "messages": (
        "subject", "receivedDateTime", "sentDateTime", "createdDateTime", "lastModifiedDateTime", "isRead",
        "isDraft", "importance", "hasAttachments", "internetMessageId", "conversationId",
        "from/emailAddress/address", "from/emailAddress/name", "sender/emailAddress/address",
        "sender/emailAddress/name", "flag/flagStatus", "categories", "singleValueExtendedProperties",
    ),
    "contacts": (
        "displayName", "givenName", "surname", "companyName", "createdDateTime", "lastModifiedDateTime",
        "emailAddresses", "categories", "singleValueExtendedProperties",
    ),
    "events": (
        "subject", "isAllDay", "type", "createdDateTime", "lastModifiedDateTime", "categories",
        "start/dateTime", "end/dateTime", "singleValueExtendedProperties",
    ),
    "tasks": ("title", "status", "importance", "createdDateTime", "lastModifiedDateTime", "categories"),
}  # fmt: skip
_COMPARE = ("eq", "ne", "gt", "ge", "lt", "le")
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<when>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
    r"(?:Z|[+-]\d{2}:\d{2})?)?)|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w.]*(?:/[A-Za-z_][\w.]*)*)"
    r"|(?P<punct>[(),:]))"
)
Predicate = Callable[[Mapping[str, Any]], bool]


class FilterInvalid(ValueError):
    """An expression the stand-in does not read (Exchange: ``ErrorInvalidUrlQueryFilter``)."""


#: the only $filter message-delta takes: "$filter=receivedDateTime+ge+{value} or $filter=receivedDateTime+gt+{value}"
DELTA_FILTER = re.compile(r"receivedDateTime\s+(?:ge|gt)\s+\S+", re.IGNORECASE)


def filter_view(entry: Entry) -> dict[str, Any]:
    """What ``$filter`` sees of an item: its resource (an event's start and end in UTC), its timestamps and its
    extended properties."""
    view = {
        **entry.resource,
        "createdDateTime": entry.created,
        "lastModifiedDateTime": entry.modified,
        "singleValueExtendedProperties": [{"id": key, "value": value} for key, value in entry.ext.items()],
    }
    if entry.collection == "events":
        for key in ("start", "end"):
            if key in view:
                view[key] = render_time(view[key], UTC, "UTC", all_day=bool(view.get("isAllDay")))
    return view


def invalid_filter() -> GraphError:
    return GraphError(
        400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
    )


def compile_filter(text: str, collection: str) -> Predicate:
    """A predicate over a resource view (the resource with ``createdDateTime``, ``lastModifiedDateTime`` and
    ``singleValueExtendedProperties`` as ``[{"id": ext key, "value"}]``); GraphError 400 if it is not read."""
    try:
        tokens = _tokens(text)
        parser = _Parser(tokens, {p.lower(): p for p in FILTERABLE.get(collection, ())})
        predicate = parser.expression({})
        if parser.pos != len(tokens):
            raise FilterInvalid("trailing text")
    except (FilterInvalid, RecursionError) as exc:  # RecursionError: thousands of nested parentheses
        raise invalid_filter() from exc
    return lambda view: bool(predicate(view))


@dataclass(frozen=True)
class _Token:
    kind: str  # string, when, number, name, punct
    text: str


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterInvalid(f"unreadable at {pos}")
        kind = match.lastgroup or ""
        out.append(_Token(kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent: or < and < not < comparison / function / lambda / parentheses."""

    def __init__(self, tokens: list[_Token], properties: dict[str, str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.properties = properties

    # -- tokens ---------------------------------------------------------------------------------------------
    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterInvalid("unexpected end")
        self.pos += 1
        return token

    def _word(self, *words: str) -> str | None:
        token = self._peek()
        if token is not None and token.kind == "name" and token.text.lower() in words:
            self.pos += 1
            return token.text.lower()
        return None

    def _punct(self, char: str) -> None:
        token = self._next()
        if token.kind != "punct" or token.text != char:
            raise FilterInvalid(f"expected {char!r}")

    # -- grammar ----------------------------------------------------------------------------------------------
    def expression(self, scope: dict[str, str]) -> Callable[[Mapping[str, Any]], bool]:
        left = self._conjunction(scope)
        while self._word("or"):
            right = self._conjunction(scope)
            left = (lambda a, b: lambda v: a(v) or b(v))(left, right)
        return left

    def _conjunction(self, scope: dict[str, str]) -> Callable[[Mapping[str, Any]], bool]:
        left = self._negation(scope)
        while self._word("and"):
            right = self._negation(scope)
            left = (lambda a, b: lambda v: a(v) and b(v))(left, right)
        return left

    def _negation(self, scope: dict[str, str]) -> Callable[[Mapping[str, Any]], bool]:
        if self._word("not"):
            inner = self._negation(scope)
            return lambda v: not inner(v)
        return self._primary(scope)

    def _primary(self, scope: dict[str, str]) -> Callable[[Mapping[str, Any]], bool]:
        token = self._next()
        if token.kind == "punct" and token.text == "(":
            inner = self.expression(scope)
            self._punct(")")
            return inner
        if token.kind != "name":
            raise FilterInvalid(f"unexpected {token.text!r}")
        following = self._peek()
        if token.text.lower() == "startswith" and following is not None and following.text == "(":
            self._punct("(")
            getter = self._path(self._next(), scope)
            self._punct(",")
            prefix = self._literal(self._next())
            self._punct(")")
            if not isinstance(prefix, str):
                raise FilterInvalid("startswith needs text")
            return lambda v: isinstance(getter(v), str) and getter(v).casefold().startswith(prefix.casefold())
        if token.text.lower().endswith("/any") and following is not None and following.text == "(":
            return self._any(token.text[: -len("/any")], scope)
        getter = self._path(token, scope)
        operator = self._word(*_COMPARE)
        if operator is None:
            raise FilterInvalid("expected a comparison")
        literal = self._literal(self._next())
        if (isinstance(literal, bool) or literal is None) and operator not in ("eq", "ne"):
            raise FilterInvalid("only eq and ne compare with true, false or null")
        if _is_ext_id(token.text, scope):
            literal = ext_key(str(literal))
        return lambda v: _compare(getter(v), operator, literal)

    def _any(self, path: str, scope: dict[str, str]) -> Callable[[Mapping[str, Any]], bool]:
        collection = self._path(_Token("name", path), scope)
        self._punct("(")
        variable = self._next()
        if variable.kind != "name" or "/" in variable.text:
            raise FilterInvalid("expected a lambda variable")
        self._punct(":")
        name = variable.text
        inner = self.expression({**scope, name: path})
        self._punct(")")

        def test(view: Mapping[str, Any]) -> bool:
            values = collection(view)
            return isinstance(values, list) and any(inner({**view, f"${name}": each}) for each in values)

        return test

    def _path(self, token: _Token, scope: dict[str, str]) -> Callable[[Mapping[str, Any]], Any]:
        if token.kind != "name":
            raise FilterInvalid("expected a property")
        head, _, tail = token.text.partition("/")
        if head in scope:  # a lambda variable: the element itself, or a property of it
            steps = [s for s in tail.split("/") if s]
            return lambda v: _walk(v.get(f"${head}"), steps)
        canonical = self.properties.get(token.text.lower())
        if canonical is None:
            raise FilterInvalid(f"no property {token.text!r}")
        steps = canonical.split("/")
        return lambda v: _walk(v, steps)

    @staticmethod
    def _literal(token: _Token) -> Any:
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.kind == "when":
            try:
                return _when(token.text)
            except ValueError as exc:
                raise FilterInvalid(f"not a date-time: {token.text!r}") from exc
        if token.kind == "number":
            return float(token.text)
        if token.kind == "name" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        if token.kind == "name" and token.text.lower() == "null":
            return None
        raise FilterInvalid(f"expected a literal, not {token.text!r}")


def _is_ext_id(path: str, scope: dict[str, str]) -> bool:
    head, _, tail = path.partition("/")
    return head in scope and scope[head].lower() == "singlevalueextendedproperties" and tail.lower() == "id"


def _walk(value: Any, steps: list[str]) -> Any:
    for step in steps:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compare(value: Any, operator: str, literal: Any) -> bool:
    if isinstance(literal, datetime):
        if not isinstance(value, str):
            return operator == "ne"
        try:
            value = _when(value[:26])
        except ValueError:
            return operator == "ne"
    elif isinstance(literal, str):
        if not isinstance(value, str):
            return operator == "ne"
        value, literal = value.casefold(), literal.casefold()
    elif isinstance(literal, bool) or literal is None:
        return (value == literal if isinstance(literal, bool) else value is None) == (operator == "eq")
    elif not isinstance(value, int | float) or isinstance(value, bool):
        return operator == "ne"
    try:
        return bool(
            {
                "eq": value == literal,
                "ne": value != literal,
                "gt": value > literal,
                "ge": value >= literal,
                "lt": value < literal,
                "le": value <= literal,
            }[operator]
        )
    except TypeError:
        return False
