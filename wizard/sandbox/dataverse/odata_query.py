"""The OData query subset the Dataverse stand-in understands: $filter, $select, $orderby, $expand.

Pure Python and free of HTTP so the server, FetchXML evaluation and tests share one set of rules.
Semantics follow the Dataverse Web API documentation (PAD ``webapi/query/filter-rows.md`` and the
"Web API Query Function Reference"), with these deliberate, documented simplifications:

* string comparisons are case-insensitive, as in Dataverse;
* comparisons with a null value are false (SQL semantics, the service compiles $filter to SQL),
  except ``eq null`` / ``ne null`` against the literal ``null``; logic is two-valued, so
  ``not (name eq 'x')`` is true for rows whose name is null;
* ``contains``/``startswith``/``endswith`` treat ``%``, ``_`` and ``[...]`` in the value as LIKE
  wildcards, as the service does;
* date-times are compared as instants whatever their offset; dates as midnight UTC; "today",
  "last X days" and friends are computed in UTC relative to ``EvalContext.now``.

Nothing here uses ``eval``; input length and nesting depth are bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from typing import Any, TypeVar

__all__ = [
    "CONDITION_OPERATORS",
    "MAX_DEPTH",
    "MAX_FILTER_LENGTH",
    "EvalContext",
    "ExpandItem",
    "Expr",
    "QueryError",
    "compare_values",
    "like_match",
    "match_condition",
    "parse_datetime",
    "parse_expand",
    "parse_filter",
    "parse_orderby",
    "parse_select",
    "resolve_attribute",
    "sort_rows",
]

MAX_FILTER_LENGTH = 32768
MAX_DEPTH = 100
SYNTAX_ERROR_CODE = "0x80060888"


class QueryError(ValueError):
    """A query the service would answer with HTTP 400; ``message``/``code`` go into the error body."""

    def __init__(self, message: str, code: str = SYNTAX_ERROR_CODE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class EvalContext:
    """What a condition needs beyond the row: who asks, when, and how to follow navigation properties."""

    user_id: str
    now: datetime
    navigate: Callable[[Mapping[str, Any], str], Mapping[str, Any] | None] | None = None
    collection: Callable[[Mapping[str, Any], str], Sequence[Mapping[str, Any]]] | None = None
    business_unit_id: str | None = None
    team_ids: frozenset[str] = field(default_factory=frozenset)


# --------------------------------------------------------------------------------------------------
# Values: coercion and comparison shared by $filter and FetchXML
# --------------------------------------------------------------------------------------------------

_GUID_BRACED_RE = re.compile(
    r"\{([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}"
)
_DATETIME_TEXT_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:\d{2})?)?"
)


def parse_datetime(text: str) -> datetime | None:
    """Parse ISO-8601 date or date-time text into an aware UTC datetime (a date is midnight UTC)."""
    m = _DATETIME_TEXT_RE.fullmatch(text.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, tz = m.groups()
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=UTC,
        )
        if tz and tz not in ("Z", "z"):
            sign = 1 if tz[0] == "+" else -1
            hours, minutes = int(tz[1:3]), int(tz[4:6])
            if hours > 23 or minutes > 59:
                return None
            value -= sign * timedelta(hours=hours, minutes=minutes)
    except (ValueError, OverflowError):
        return None
    return value


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    if isinstance(value, str):
        return parse_datetime(value)
    return None


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except (InvalidOperation, ValueError):
            return None
        return result if result.is_finite() else None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
    return None


def _fold(text: str) -> str:
    m = _GUID_BRACED_RE.fullmatch(text.strip())
    return (m.group(1) if m else text).casefold()


def _looks_temporal(text: str) -> bool:
    return _DATETIME_TEXT_RE.fullmatch(text.strip()) is not None


def _normalize_pair(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Bring two non-null values to one comparable type, or None when they cannot be compared."""
    if isinstance(a, bool) or isinstance(b, bool):
        ba, bb = _as_bool(a), _as_bool(b)
        return None if ba is None or bb is None else (ba, bb)
    temporal = (datetime, date)
    if isinstance(a, temporal) or isinstance(b, temporal):
        da, db = _as_datetime(a), _as_datetime(b)
        return None if da is None or db is None else (da, db)
    number = (int, float, Decimal)
    if isinstance(a, number) or isinstance(b, number):
        na, nb = _as_decimal(a), _as_decimal(b)
        return None if na is None or nb is None else (na, nb)
    if isinstance(a, str) and isinstance(b, str):
        if _looks_temporal(a) and _looks_temporal(b):
            da, db = parse_datetime(a), parse_datetime(b)
            if da is not None and db is not None:
                return da, db
        return _fold(a), _fold(b)
    return None


def compare_values(op: str, a: Any, b: Any) -> bool:
    """Apply eq/ne/gt/ge/lt/le to two values; any null operand makes the comparison false (SQL semantics)."""
    if a is None or b is None:
        return False
    pair = _normalize_pair(a, b)
    if pair is None:
        return op == "ne"
    x, y = pair
    try:
        if op == "eq":
            return bool(x == y)
        if op == "ne":
            return bool(x != y)
        if op == "gt":
            return bool(x > y)
        if op == "ge":
            return bool(x >= y)
        if op == "lt":
            return bool(x < y)
        if op == "le":
            return bool(x <= y)
    except TypeError:
        return False
    raise QueryError(f"Unknown comparison operator '{op}'.")


@lru_cache(maxsize=512)
def _like_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith("^")
                if negate:
                    body = body[1:]
                if not body:  # "[^]" is no class at all: match the text literally
                    out.append(re.escape(pattern[i : end + 1]))
                    i = end + 1
                    continue
                parts: list[str] = []
                j = 0
                while j < len(body):
                    if j + 2 < len(body) and body[j + 1] == "-" and body[j] <= body[j + 2]:
                        parts.append(re.escape(body[j]) + "-" + re.escape(body[j + 2]))
                        j += 3
                    else:
                        parts.append(re.escape(body[j]))
                        j += 1
                out.append("[" + ("^" if negate else "") + "".join(parts) + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    try:
        return re.compile("".join(out), re.IGNORECASE | re.DOTALL)
    except re.error:  # never expected; a pattern the service would reject matches nothing here
        return re.compile(r"(?!)")


def like_match(value: Any, pattern: str) -> bool:
    """SQL LIKE as Dataverse applies it: ``%``, ``_``, ``[abc]``, ``[^abc]``; case-insensitive; null fails."""
    if value is None:
        return False
    text = value if isinstance(value, str) else str(value)
    return _like_regex(pattern).fullmatch(text) is not None


def resolve_attribute(row: Mapping[str, Any], name: str) -> Any:
    """Read a column by logical name; a lookup ``x`` falls back to the Web API shape ``_x_value``."""
    if name in row:
        return row[name]
    return row.get(f"_{name}_value")


def _same_id(a: Any, b: Any) -> bool:
    return a is not None and b is not None and _fold(str(a)) == _fold(str(b))


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        return datetime.min.replace(tzinfo=UTC) if months < 0 else datetime.max.replace(tzinfo=UTC)
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _shift(moment: datetime, delta: timedelta) -> datetime:
    try:
        return moment + delta
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if delta > timedelta(0) else datetime.min.replace(tzinfo=UTC)


# Operator name (FetchXML spelling) -> kind of operand it takes:
#   none: no value; one: one value; many: one or more; two: exactly two; int: one whole number.
CONDITION_OPERATORS: dict[str, str] = {
    "eq": "one", "ne": "one", "neq": "one", "gt": "one", "ge": "one", "lt": "one", "le": "one",
    "like": "one", "not-like": "one", "begins-with": "one", "not-begin-with": "one",
    "ends-with": "one", "not-end-with": "one",
    "in": "many", "not-in": "many", "between": "two", "not-between": "two",
    "null": "none", "not-null": "none",
    "eq-userid": "none", "ne-userid": "none", "eq-businessid": "none", "ne-businessid": "none",
    "eq-userteams": "none", "eq-useroruserteams": "none",
    "on": "one", "on-or-after": "one", "on-or-before": "one",
    "today": "none", "yesterday": "none", "tomorrow": "none",
    "last-seven-days": "none", "next-seven-days": "none",
    "last-week": "none", "this-week": "none", "next-week": "none",
    "last-month": "none", "this-month": "none", "next-month": "none",
    "last-year": "none", "this-year": "none", "next-year": "none",
    "last-x-hours": "int", "next-x-hours": "int", "last-x-days": "int", "next-x-days": "int",
    "last-x-weeks": "int", "next-x-weeks": "int", "last-x-months": "int", "next-x-months": "int",
    "last-x-years": "int", "next-x-years": "int",
    "olderthan-x-minutes": "int", "olderthan-x-hours": "int", "olderthan-x-days": "int",
    "olderthan-x-weeks": "int", "olderthan-x-months": "int", "olderthan-x-years": "int",
    "contain-values": "many", "not-contain-values": "many",
}  # fmt: skip


def _int_operand(value: Any) -> int:
    if isinstance(value, bool):
        raise QueryError(f"The value '{value}' is not a valid whole number.", "0x80040203")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise QueryError(f"The value '{value}' is not a valid whole number.", "0x80040203") from None


def _choice_set(value: Any) -> set[str]:
    if isinstance(value, list | tuple | set | frozenset):
        items: Iterable[Any] = value
    else:
        items = str(value).split(",")
    return {str(item).strip() for item in items if str(item).strip()}


def _period(op: str, now: datetime, x: int) -> tuple[datetime, datetime, bool]:
    """[start, end) or [start, end] (third item True = end inclusive) for the relative date operators."""
    today0 = datetime.combine(now.date(), time(), UTC)
    day = timedelta(days=1)
    week0 = today0 - timedelta(days=(today0.weekday() + 1) % 7)  # weeks run Sunday through Saturday
    month0 = today0.replace(day=1)
    year0 = today0.replace(month=1, day=1)
    table: dict[str, Callable[[], tuple[datetime, datetime, bool]]] = {
        "today": lambda: (today0, today0 + day, False),
        "yesterday": lambda: (today0 - day, today0, False),
        "tomorrow": lambda: (today0 + day, today0 + 2 * day, False),
        "last-seven-days": lambda: (today0 - 7 * day, now, True),
        "next-seven-days": lambda: (now, today0 + 8 * day, False),
        "last-week": lambda: (week0 - 7 * day, week0, False),
        "this-week": lambda: (week0, week0 + 7 * day, False),
        "next-week": lambda: (week0 + 7 * day, week0 + 14 * day, False),
        "last-month": lambda: (_add_months(month0, -1), month0, False),
        "this-month": lambda: (month0, _add_months(month0, 1), False),
        "next-month": lambda: (_add_months(month0, 1), _add_months(month0, 2), False),
        "last-year": lambda: (_add_months(year0, -12), year0, False),
        "this-year": lambda: (year0, _add_months(year0, 12), False),
        "next-year": lambda: (_add_months(year0, 12), _add_months(year0, 24), False),
        "last-x-hours": lambda: (_shift(now, -timedelta(hours=x)), now, True),
        "next-x-hours": lambda: (now, _shift(now, timedelta(hours=x)), True),
        "last-x-days": lambda: (_shift(today0, -x * day), now, True),
        "next-x-days": lambda: (now, _shift(today0, (x + 1) * day), False),
        "last-x-weeks": lambda: (_shift(today0, -7 * x * day), now, True),
        "next-x-weeks": lambda: (now, _shift(today0, (7 * x + 1) * day), False),
        "last-x-months": lambda: (_add_months(today0, -x), now, True),
        "next-x-months": lambda: (now, _shift(_add_months(today0, x), day), False),
        "last-x-years": lambda: (_add_months(today0, -12 * x), now, True),
        "next-x-years": lambda: (now, _shift(_add_months(today0, 12 * x), day), False),
    }
    return table[op]()


_OLDER_THAN: dict[str, Callable[[datetime, int], datetime]] = {
    "olderthan-x-minutes": lambda now, x: _shift(now, -timedelta(minutes=x)),
    "olderthan-x-hours": lambda now, x: _shift(now, -timedelta(hours=x)),
    "olderthan-x-days": lambda now, x: _shift(now, -timedelta(days=x)),
    "olderthan-x-weeks": lambda now, x: _shift(now, -timedelta(weeks=x)),
    "olderthan-x-months": lambda now, x: _add_months(now, -x),
    "olderthan-x-years": lambda now, x: _add_months(now, -12 * x),
}


def match_condition(op: str, actual: Any, values: Sequence[Any], ctx: EvalContext) -> bool:
    """Evaluate one condition (FetchXML operator names; Web API query functions map onto them)."""
    kind = CONDITION_OPERATORS.get(op)
    if kind is None:
        raise QueryError(f"The condition operator '{op}' is not valid.", "0x80040203")
    if op == "null":
        return actual is None
    if op == "not-null":
        return actual is not None
    if actual is None:
        return False
    if op in ("eq", "ne", "neq", "gt", "ge", "lt", "le"):
        return compare_values("ne" if op == "neq" else op, actual, values[0])
    if op == "in":
        return any(compare_values("eq", actual, v) for v in values)
    if op == "not-in":
        return not any(compare_values("eq", actual, v) for v in values)
    if op in ("between", "not-between"):
        inside = compare_values("ge", actual, values[0]) and compare_values("le", actual, values[1])
        return inside if op == "between" else not inside
    if op in ("like", "not-like", "begins-with", "not-begin-with", "ends-with", "not-end-with"):
        pattern = str(values[0])
        if op in ("begins-with", "not-begin-with"):
            pattern += "%"
        elif op in ("ends-with", "not-end-with"):
            pattern = "%" + pattern
        hit = like_match(actual, pattern)
        return hit if op in ("like", "begins-with", "ends-with") else not hit
    if op == "eq-userid":
        return _same_id(actual, ctx.user_id)
    if op == "ne-userid":
        return not _same_id(actual, ctx.user_id)
    if op == "eq-businessid":
        return _same_id(actual, ctx.business_unit_id)
    if op == "ne-businessid":
        return not _same_id(actual, ctx.business_unit_id)
    if op in ("eq-userteams", "eq-useroruserteams"):
        teams = any(_same_id(actual, team) for team in ctx.team_ids)
        return teams or (op == "eq-useroruserteams" and _same_id(actual, ctx.user_id))
    if op in ("contain-values", "not-contain-values"):
        wanted = {str(v).strip() for v in values}
        overlap = bool(_choice_set(actual) & wanted)
        return overlap if op == "contain-values" else not overlap
    moment = _as_datetime(actual)
    if moment is None:
        return False
    now = _as_datetime(ctx.now) or datetime.now(UTC)
    if op in ("on", "on-or-after", "on-or-before"):
        target = _as_datetime(values[0])
        if target is None:
            raise QueryError(f"The value '{values[0]}' is not a valid date.", "0x80040203")
        left, right = moment.date(), target.date()
        return left == right if op == "on" else (left >= right if op == "on-or-after" else left <= right)
    x = max(-3_000_000, min(3_000_000, _int_operand(values[0]))) if kind == "int" else 0
    if op in _OLDER_THAN:
        return moment < _OLDER_THAN[op](now, x)
    start, end, inclusive = _period(op, now, x)
    return start <= moment and (moment <= end if inclusive else moment < end)


# --------------------------------------------------------------------------------------------------
# $filter syntax tree
# --------------------------------------------------------------------------------------------------

_Env = dict[str, Mapping[str, Any]]


class Expr:
    """A parsed $filter node; ``evaluate`` decides a row, ``str`` gives canonical $filter text back."""

    def evaluate(self, row: Mapping[str, Any], ctx: EvalContext) -> bool:
        return self.value(row, {}, ctx) is True

    def value(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> Any:
        raise NotImplementedError

    def render(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render()


def _render_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Literal(Expr):
    """kind: string, int, decimal, bool, null, guid, datetime, date."""

    val: Any
    kind: str

    def value(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> Any:
        return self.val

    def render(self) -> str:
        if self.kind == "string":
            return _render_string(self.val)
        if self.kind == "null":
            return "null"
        if self.kind == "bool":
            return "true" if self.val else "false"
        if self.kind == "datetime":
            text: str = self.val.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        if self.kind == "date":
            return str(self.val.isoformat())
        return str(self.val)


def _follow(
    path: tuple[str, ...], row: Mapping[str, Any], env: _Env, ctx: EvalContext
) -> tuple[Mapping[str, Any] | None, str | None]:
    """Follow ``path`` (from ``row``, or from a lambda variable it starts with) through single-valued navigation
    properties: the row that holds its last segment and that segment (None, and the segment, when a link is
    empty; the variable's row and None for a bare lambda variable)."""
    segments = list(path)
    current: Mapping[str, Any] | None = row
    if segments[0] in env:
        current = env[segments.pop(0)]
        if not segments:
            return current, None
    for segment in segments[:-1]:
        if current is None or ctx.navigate is None:
            return None, segments[-1]
        current = ctx.navigate(current, segment)
    return current, segments[-1]


@dataclass(frozen=True)
class Prop(Expr):
    """A column, a lookup ``_x_value``, a navigation path ``nav/col`` or a lambda variable path ``p/col``."""

    path: tuple[str, ...]

    def value(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> Any:
        holder, last = _follow(self.path, row, env, ctx)
        if last is None:  # the lambda variable itself
            return holder
        return resolve_attribute(holder, last) if holder is not None else None

    def render(self) -> str:
        return "/".join(self.path)


@dataclass(frozen=True)
class Compare(Expr):
    op: str
    left: Expr
    right: Expr

    def value(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> Any:
        a = self.left.value(row, env, ctx)
        b = self.right.value(row, env, ctx)
        left_null = isinstance(self.left, Literal) and self.left.kind == "null"
        right_null = isinstance(self.right, Literal) and self.right.kind == "null"
        if left_null or right_null:
            other = a if right_null else b
            if self.op == "eq":
                return other is None
            if self.op == "ne":
                return other is not None
            return False
        return compare_values(self.op, a, b)

    def render(self) -> str:
        return f"{_render_operand(self.left)} {self.op} {_render_operand(self.right)}"


def _render_operand(node: Expr) -> str:
    text = node.render()
    return f"({text})" if isinstance(node, Compare | BoolOp | Not) else text


@dataclass(frozen=True)
class BoolOp(Expr):
    """``a and b and c`` (or ``or``) kept flat, so long chains need no deep recursion."""

    op: str  # "and" | "or"
    operands: tuple[Expr, ...]

    def value(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> Any:
        if self.op == "or" and not env and self._chains is not None:
            return self._any_in_chains(row, env, ctx)
        results = (operand.value(row, env, ctx) is True for operand in self.operands)
        return all(results) if self.op == "and" else any(results)

    def render(self) -> str:
        return f" {self.op} ".join(f"({operand.render()})" for operand in self.operands)

    @cached_property
    def _chains(self) -> _Chains | None:
        """A long ``col eq 'a' or col eq 'b' ...`` / ``startswith(col,'a') or ...`` chain (how clients look up a
        page of message ids or conversation prefixes) as one set / one prefix tuple per column: the answers of
        comparing one by one, without 100 comparisons per row (a 20,000-row table and a chain of 100 would be
        2 million per query). None when the chain is short or has nothing of that shape."""
        equal: dict[str, list[str]] = {}
        prefix: dict[str, list[str]] = {}
        rest: list[Expr] = []
        for operand in self.operands:
            pair = _column_and_text(operand)
            if pair is not None:
                column, text, is_prefix = pair
                if not is_prefix and not _looks_temporal(text):
                    equal.setdefault(column, []).append(text)
                    continue
                if is_prefix and text.isascii() and not _LIKE_META.search(text):
                    prefix.setdefault(column, []).append(text.lower())
                    continue
            rest.append(operand)
        if sum(len(v) for v in equal.values()) + sum(len(v) for v in prefix.values()) < 8:
            return None  # short chains: the plain loop is as fast
        return _Chains(
            {col: (frozenset(_fold(v) for v in values), tuple(values)) for col, values in equal.items()},
            {col: tuple(values) for col, values in prefix.items()},
            tuple(rest),
        )

    def _any_in_chains(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> bool:
        chains = self._chains
        assert chains is not None
        for column, (folded, originals) in chains.equal.items():
            actual = resolve_attribute(row, column)
            if actual is None:
                continue
            if isinstance(actual, str):  # string vs string: compare_values folds both (neither is temporal)
                if _fold(actual) in folded:
                    return True
            elif any(compare_values("eq", actual, value) for value in originals):
                return True
        for column, prefixes in chains.prefix.items():
            actual = resolve_attribute(row, column)
            if actual is not None and str(actual).lower().startswith(prefixes):  # LIKE 'p%', no wildcards
                return True
        return any(operand.value(row, env, ctx) is True for operand in chains.rest)


@dataclass(frozen=True)
class _Chains:
    equal: dict[str, tuple[frozenset[str], tuple[str, ...]]]
    prefix: dict[str, tuple[str, ...]]
    rest: tuple[Expr, ...]


_LIKE_META = re.compile(r"[%_\[\]]")


def _column_and_text(node: Expr) -> tuple[str, str, bool] | None:
    """``col eq 'text'`` -> (col, text, False); ``startswith(col, 'text')`` -> (col, text, True); else None."""
    if isinstance(node, Compare) and node.op == "eq":
        prop, lit = (node.left, node.right) if isinstance(node.left, Prop) else (node.right, node.left)
    elif isinstance(node, Call) and node.name == "startswith" and len(node.args) == 2:
        prop, lit = node.args
    else:
        return None
    if not (isinstance(prop, Prop) and len(prop.path) == 1):
        return None
    if not (isinstance(lit, Literal) and lit.kind in ("string", "guid") and isinstance(lit.val, str)):
        return None
    return prop.path[0], lit.val, isinstance(node, Call)


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr

    def value(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> Any:
        inner = self.operand.value(row, env, ctx)
        if inner is None:
            return True
        if not isinstance(inner, bool):
            raise QueryError("The 'not' operator needs a Boolean operand.")
        return not inner

    def render(self) -> str:
        return f"not ({self.operand.render()})"


_STRING_FUNCTIONS = {"contains": 2, "startswith": 2, "endswith": 2, "tolower": 1, "toupper": 1}


@dataclass(frozen=True)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]

    def value(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> Any:
        values = [arg.value(row, env, ctx) for arg in self.args]
        if self.name in ("tolower", "toupper"):
            text = values[0]
            if text is None:
                return None
            text = str(text)
            return text.lower() if self.name == "tolower" else text.upper()
        subject, needle = values
        if subject is None or needle is None:
            return False
        needle = str(needle)
        pattern = {"contains": f"%{needle}%", "startswith": f"{needle}%", "endswith": f"%{needle}"}[self.name]
        return like_match(subject, pattern)

    def render(self) -> str:
        return f"{self.name}({','.join(arg.render() for arg in self.args)})"


@dataclass(frozen=True)
class Lambda(Expr):
    """``nav/any(p: body)`` / ``nav/all(p: body)`` over a collection navigation property."""

    path: tuple[str, ...]
    kind: str
    var: str | None
    body: Expr | None

    def value(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> Any:
        current, last = _follow(self.path, row, env, ctx)
        if current is None or last is None:
            return False
        if ctx.collection is None:
            raise QueryError(f"The navigation property '{last}' cannot be used in a lambda here.")
        members = ctx.collection(current, last)
        if self.body is None or self.var is None:
            return bool(members) if self.kind == "any" else True
        body, var = self.body, self.var

        def test(member: Mapping[str, Any]) -> bool:
            return body.value(row, {**env, var: member}, ctx) is True

        return any(test(m) for m in members) if self.kind == "any" else all(test(m) for m in members)

    def render(self) -> str:
        inner = "" if self.body is None else f"{self.var}:{self.body.render()}"
        return f"{'/'.join(self.path)}/{self.kind}({inner})"


# Web API query function -> (FetchXML operator, parameter it takes besides PropertyName).
_QUERY_FUNCTIONS: dict[str, tuple[str, str | None]] = {
    "Between": ("between", "PropertyValues"), "NotBetween": ("not-between", "PropertyValues"),
    "In": ("in", "PropertyValues"), "NotIn": ("not-in", "PropertyValues"),
    "ContainValues": ("contain-values", "PropertyValues"),
    "DoesNotContainValues": ("not-contain-values", "PropertyValues"),
    "EqualUserId": ("eq-userid", None), "NotEqualUserId": ("ne-userid", None),
    "EqualBusinessId": ("eq-businessid", None), "NotEqualBusinessId": ("ne-businessid", None),
    "EqualUserTeams": ("eq-userteams", None), "EqualUserOrUserTeams": ("eq-useroruserteams", None),
    "On": ("on", "PropertyValue"), "OnOrAfter": ("on-or-after", "PropertyValue"),
    "OnOrBefore": ("on-or-before", "PropertyValue"),
    "Today": ("today", None), "Yesterday": ("yesterday", None), "Tomorrow": ("tomorrow", None),
    "Last7Days": ("last-seven-days", None), "Next7Days": ("next-seven-days", None),
    "LastWeek": ("last-week", None), "ThisWeek": ("this-week", None), "NextWeek": ("next-week", None),
    "LastMonth": ("last-month", None), "ThisMonth": ("this-month", None), "NextMonth": ("next-month", None),
    "LastYear": ("last-year", None), "ThisYear": ("this-year", None), "NextYear": ("next-year", None),
    "LastXHours": ("last-x-hours", "PropertyValue"), "NextXHours": ("next-x-hours", "PropertyValue"),
    "LastXDays": ("last-x-days", "PropertyValue"), "NextXDays": ("next-x-days", "PropertyValue"),
    "LastXWeeks": ("last-x-weeks", "PropertyValue"), "NextXWeeks": ("next-x-weeks", "PropertyValue"),
    "LastXMonths": ("last-x-months", "PropertyValue"), "NextXMonths": ("next-x-months", "PropertyValue"),
    "LastXYears": ("last-x-years", "PropertyValue"), "NextXYears": ("next-x-years", "PropertyValue"),
    "OlderThanXMinutes": ("olderthan-x-minutes", "PropertyValue"),
    "OlderThanXHours": ("olderthan-x-hours", "PropertyValue"),
    "OlderThanXDays": ("olderthan-x-days", "PropertyValue"),
    "OlderThanXWeeks": ("olderthan-x-weeks", "PropertyValue"),
    "OlderThanXMonths": ("olderthan-x-months", "PropertyValue"),
    "OlderThanXYears": ("olderthan-x-years", "PropertyValue"),
}  # fmt: skip

# Documented by Microsoft but not emulated (fiscal calendars, hierarchies, languages, full-text).
_UNSUPPORTED_QUERY_FUNCTIONS = frozenset(
    {
        "Above", "AboveOrEqual", "Contains", "DoesNotContain", "EqualRoleBusinessId", "EqualUserLanguage",
        "EqualUserOrUserHierarchy", "EqualUserOrUserHierarchyAndTeams", "InFiscalPeriod",
        "InFiscalPeriodAndYear", "InFiscalYear", "InOrAfterFiscalPeriodAndYear",
        "InOrBeforeFiscalPeriodAndYear", "LastFiscalPeriod", "LastFiscalYear", "LastXFiscalPeriods",
        "LastXFiscalYears", "NextFiscalPeriod", "NextFiscalYear", "NextXFiscalPeriods", "NextXFiscalYears",
        "NotUnder", "ThisFiscalPeriod", "ThisFiscalYear", "Under", "UnderOrEqual",
    }
)  # fmt: skip

_CRM_PREFIX = "Microsoft.Dynamics.CRM."


@dataclass(frozen=True)
class QueryFunction(Expr):
    """``Microsoft.Dynamics.CRM.<name>(PropertyName='x'[,PropertyValue=v|,PropertyValues=[...]])``."""

    name: str
    prop: str
    values: tuple[Literal, ...]

    def value(self, row: Mapping[str, Any], env: _Env, ctx: EvalContext) -> Any:
        operator, _ = _QUERY_FUNCTIONS[self.name]
        actual = resolve_attribute(row, self.prop)
        return match_condition(operator, actual, [lit.val for lit in self.values], ctx)

    def render(self) -> str:
        params = [f"PropertyName={_render_string(self.prop)}"]
        _, extra = _QUERY_FUNCTIONS[self.name]
        if extra == "PropertyValue":
            params.append(f"PropertyValue={self.values[0].render()}")
        elif extra == "PropertyValues":
            params.append("PropertyValues=[" + ",".join(_json_item(v) for v in self.values) + "]")
        return f"{_CRM_PREFIX}{self.name}({','.join(params)})"


def _json_item(lit: Literal) -> str:
    if lit.kind in ("int", "decimal", "bool"):
        return lit.render()
    return json.dumps(lit.val if lit.kind == "string" else lit.render())


# --------------------------------------------------------------------------------------------------
# $filter tokenizer and parser
# --------------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<str>'(?:[^']|'')*')
    |(?P<jstr>"(?:[^"\\]|\\.)*")
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)
    |(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<alias>@[A-Za-z_][A-Za-z0-9_]*)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    |(?P<punct>[()\[\],:/=])
    """,
    re.VERBOSE,
)

_COMPARISON_OPS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_KEYWORDS = _COMPARISON_OPS | {"and", "or", "not", "true", "false", "null", "any", "all"}


@dataclass(frozen=True)
class _Token:
    kind: str  # str jstr datetime guid date num alias ident punct eof
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            ch = text[pos]
            if ch in "'\"":
                raise QueryError(f"There is an unterminated string literal at position {pos} in '{text}'.")
            raise QueryError(f"Syntax error: character '{ch}' is not valid at position {pos} in '{text}'.")
        kind = m.lastgroup or "ws"
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Token("eof", "", len(text)))
    return tokens


def _literal_from_token(token: _Token, text: str) -> Literal:
    """Turn a literal token into a typed Literal; QueryError for values that are well-formed but invalid."""
    raw = token.text
    if token.kind == "str":
        return Literal(raw[1:-1].replace("''", "'"), "string")
    if token.kind == "jstr":
        try:
            decoded = json.loads(raw)
        except ValueError:
            raise QueryError(f"Syntax error at position {token.pos} in '{text}'.") from None
        return Literal(str(decoded), "string")
    if token.kind == "guid":
        return Literal(raw.lower(), "guid")
    if token.kind in ("datetime", "date"):
        moment = parse_datetime(raw)
        if moment is None:
            raise QueryError(f"Unrecognized '{'Edm.Date' if token.kind == 'date' else 'Edm.DateTimeOffset'}' "
                             f"literal '{raw}' at '{token.pos}' in '{text}'.")  # fmt: skip
        if token.kind == "date":
            return Literal(moment.date(), "date")
        tz_match = re.search(r"([+-])(\d{2}):(\d{2})$", raw)
        if tz_match:
            sign = 1 if tz_match.group(1) == "+" else -1
            offset = timedelta(hours=int(tz_match.group(2)), minutes=int(tz_match.group(3)))
            try:
                return Literal(moment.astimezone(_fixed_zone(sign * offset)), "datetime")
            except (OverflowError, ValueError):
                return Literal(moment, "datetime")
        return Literal(moment, "datetime")
    if token.kind == "num":
        if len(raw) > 40:
            raise QueryError(f"Syntax error at position {token.pos} in '{text}'.")
        if re.fullmatch(r"-?\d+", raw):
            return Literal(int(raw), "int")
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise QueryError(f"Syntax error at position {token.pos} in '{text}'.") from None
        if not number.is_finite() or abs(number.adjusted()) > 100:
            raise QueryError(f"Syntax error at position {token.pos} in '{text}'.")
        return Literal(number, "decimal")
    if token.kind == "ident" and token.text in ("true", "false"):
        return Literal(token.text == "true", "bool")
    if token.kind == "ident" and token.text == "null":
        return Literal(None, "null")
    raise QueryError(f"Expression expected at position {token.pos} in '{text}'.")


def _fixed_zone(offset: timedelta) -> timezone:
    return UTC if offset == timedelta(0) else timezone(offset)


_LITERAL_KINDS = frozenset({"str", "jstr", "guid", "datetime", "date", "num"})


def _is_literal_token(token: _Token) -> bool:
    return token.kind in _LITERAL_KINDS or (token.kind == "ident" and token.text in ("true", "false", "null"))


class _FilterParser:
    def __init__(self, text: str, aliases: Mapping[str, str] | None) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.aliases = {(k if k.startswith("@") else "@" + k): v for k, v in (aliases or {}).items()}

    # -- token helpers --------------------------------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> _Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def is_word(self, word: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text == word

    def is_punct(self, ch: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == ch

    def error(self, template: str, token: _Token | None = None) -> QueryError:
        where = (token or self.tok).pos
        return QueryError(template.format(pos=where, text=self.text))

    def expect_punct(self, ch: str, template: str = "Syntax error at position {pos} in '{text}'.") -> None:
        if not self.is_punct(ch):
            raise self.error(template)
        self.advance()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError("Recursion depth exceeded allowed limit.")

    # -- grammar ----------------------------------------------------------------------------------
    def parse(self) -> Expr:
        if self.tok.kind == "eof":
            raise self.error("Expression expected at position {pos} in '{text}'.")
        expr = self.parse_or()
        if self.tok.kind != "eof":
            raise self.error("')' or operator expected at position {pos} in '{text}'.")
        return expr

    def parse_or(self) -> Expr:
        self.enter()
        operands = [self.parse_and()]
        while self.is_word("or"):
            self.advance()
            operands.append(self.parse_and())
        self.depth -= 1
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def parse_and(self) -> Expr:
        operands = [self.parse_comparison()]
        while self.is_word("and"):
            self.advance()
            operands.append(self.parse_comparison())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def parse_comparison(self) -> Expr:
        left = self.parse_unary()
        while self.tok.kind == "ident" and self.tok.text in _COMPARISON_OPS:
            op = self.advance().text
            left = Compare(op, left, self.parse_unary())
        return left

    def parse_unary(self) -> Expr:
        if self.is_word("not") and self.peek().kind != "eof":
            not_token = self.advance()
            self.enter()
            operand = self.parse_unary()
            self.depth -= 1
            if isinstance(operand, QueryFunction):
                raise QueryError(
                    "The 'not' operator cannot be used with the query function "
                    f"'{_CRM_PREFIX}{operand.name}' at position {not_token.pos} in '{self.text}'."
                )
            if isinstance(operand, Literal) and operand.kind not in ("bool", "null"):
                raise self.error("Syntax error at position {pos} in '{text}'.", not_token)
            return Not(operand)
        return self.parse_primary()

    def parse_primary(self) -> Expr:
        token = self.tok
        if self.is_punct("("):
            self.advance()
            inner = self.parse_or()
            self.expect_punct(")", "')' or operator expected at position {pos} in '{text}'.")
            return inner
        if _is_literal_token(token):
            self.advance()
            return _literal_from_token(token, self.text)
        if token.kind == "alias":
            self.advance()
            value = self.alias_value(token)
            if isinstance(value, tuple):
                raise self.error("Syntax error at position {pos} in '{text}'.", token)
            return value
        if token.kind == "ident" and token.text not in _KEYWORDS:
            if self.peek().kind == "punct" and self.peek().text == "(":
                return self.parse_call()
            return self.parse_path()
        raise self.error("Expression expected at position {pos} in '{text}'.")

    def parse_path(self) -> Expr:
        segments = [self.advance().text]
        while self.is_punct("/"):
            self.advance()
            token = self.tok
            if token.kind != "ident":
                raise self.error("Syntax error at position {pos} in '{text}'.")
            if token.text in ("any", "all") and self.peek().kind == "punct" and self.peek().text == "(":
                return self.parse_lambda(tuple(segments))
            if token.text in _KEYWORDS:
                raise self.error("Syntax error at position {pos} in '{text}'.")
            segments.append(self.advance().text)
        return Prop(tuple(segments))

    def parse_lambda(self, path: tuple[str, ...]) -> Expr:
        kind = self.advance().text
        self.advance()  # (
        if self.is_punct(")"):
            self.advance()
            if kind == "all":
                raise self.error("Syntax error at position {pos} in '{text}'.")
            return Lambda(path, kind, None, None)
        var_token = self.tok
        if var_token.kind != "ident" or "." in var_token.text or var_token.text in _KEYWORDS:
            raise self.error("Syntax error at position {pos} in '{text}'.")
        self.advance()
        self.expect_punct(":")
        body = self.parse_or()
        self.expect_punct(")", "')' or operator expected at position {pos} in '{text}'.")
        return Lambda(path, kind, var_token.text, body)

    def parse_call(self) -> Expr:
        name_token = self.advance()
        name = name_token.text
        if name.startswith(_CRM_PREFIX):
            return self.parse_query_function(name_token)
        if name not in _STRING_FUNCTIONS:
            raise QueryError(
                f"An unknown function with name '{name}' was found. This may also be a function import "
                "or a key lookup on a navigation property, which is not allowed."
            )
        self.advance()  # (
        args: list[Expr] = []
        if not self.is_punct(")"):
            args.append(self.parse_or())
            while self.is_punct(","):
                self.advance()
                args.append(self.parse_or())
        self.expect_punct(")", "')' or ',' expected at position {pos} in '{text}'.")
        if len(args) != _STRING_FUNCTIONS[name]:
            raise QueryError(
                f"No function signature for the function with name '{name}' matches the specified arguments."
            )
        return Call(name, tuple(args))

    def alias_value(self, token: _Token) -> Literal | tuple[Literal, ...]:
        raw = self.aliases.get(token.text)
        if raw is None:
            raise QueryError(f"The parameter alias '{token.text}' has no value in '{self.text}'.")
        inner = _FilterParser(raw, None)
        value = inner.parse_value_or_array(allow_alias=False)
        if inner.tok.kind != "eof":
            raise QueryError(f"Syntax error at position {inner.tok.pos} in '{raw}'.")
        return value

    def parse_value_or_array(self, allow_alias: bool = True) -> Literal | tuple[Literal, ...]:
        token = self.tok
        if token.kind == "alias" and allow_alias:
            self.advance()
            return self.alias_value(token)
        if self.is_punct("["):
            self.advance()
            items: list[Literal] = []
            if not self.is_punct("]"):
                while True:
                    item = self.tok
                    if not _is_literal_token(item):
                        raise self.error("Syntax error at position {pos} in '{text}'.")
                    self.advance()
                    items.append(_literal_from_token(item, self.text))
                    if not self.is_punct(","):
                        break
                    self.advance()
            self.expect_punct("]")
            return tuple(items)
        if _is_literal_token(token):
            self.advance()
            return _literal_from_token(token, self.text)
        raise self.error("Syntax error at position {pos} in '{text}'.")

    def parse_query_function(self, name_token: _Token) -> Expr:
        full = name_token.text
        short = full[len(_CRM_PREFIX) :]
        if short in _UNSUPPORTED_QUERY_FUNCTIONS:
            raise QueryError(f"The query function '{full}' is not supported by the sandbox.")
        if short not in _QUERY_FUNCTIONS:
            raise QueryError(
                f"An unknown function with name '{full}' was found. This may also be a function import "
                "or a key lookup on a navigation property, which is not allowed."
            )
        self.advance()  # (
        params: dict[str, Literal | tuple[Literal, ...]] = {}
        if not self.is_punct(")"):
            while True:
                key = self.tok
                if key.kind != "ident":
                    raise self.error("Syntax error at position {pos} in '{text}'.")
                self.advance()
                self.expect_punct("=")
                if key.text in params:
                    raise QueryError(f"The parameter '{key.text}' is given twice in '{self.text}'.")
                params[key.text] = self.parse_value_or_array()
                if not self.is_punct(","):
                    break
                self.advance()
        self.expect_punct(")", "')' or ',' expected at position {pos} in '{text}'.")
        return _build_query_function(short, params)


def _build_query_function(short: str, params: dict[str, Literal | tuple[Literal, ...]]) -> QueryFunction:
    full = _CRM_PREFIX + short
    operator, extra = _QUERY_FUNCTIONS[short]
    allowed = {"PropertyName"} | ({extra} if extra else set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise QueryError(f"The function '{full}' has no parameter named '{unknown[0]}'.")
    missing = sorted(allowed - set(params))
    if missing:
        raise QueryError(f"The function '{full}' requires the parameter '{missing[0]}'.")
    prop = params["PropertyName"]
    if not isinstance(prop, Literal) or prop.kind != "string" or not re.fullmatch(r"[A-Za-z_]\w*", prop.val):
        raise QueryError(f"The parameter 'PropertyName' of '{full}' must be a column name in quotes.")
    values: tuple[Literal, ...] = ()
    if extra == "PropertyValue":
        value = params["PropertyValue"]
        if isinstance(value, tuple) or value.kind == "null":
            raise QueryError(f"The parameter 'PropertyValue' of '{full}' must be a single value.")
        values = (value,)
    elif extra == "PropertyValues":
        given = params["PropertyValues"]
        values = given if isinstance(given, tuple) else (given,)
        if not values or any(v.kind == "null" for v in values):
            raise QueryError(
                f"The parameter 'PropertyValues' of '{full}' must be a non-empty list of values."
            )
    kind = CONDITION_OPERATORS[operator]
    if kind == "two" and len(values) != 2:
        raise QueryError(f"The function '{full}' needs exactly two values in 'PropertyValues'.")
    if kind == "int":
        values = (Literal(_int_operand(values[0].val), "int"),)
    if operator in ("on", "on-or-after", "on-or-before") and _as_datetime(values[0].val) is None:
        raise QueryError(f"The value '{values[0].val}' is not a valid date for '{full}'.", "0x80040203")
    return QueryFunction(short, prop.val, values)


def parse_filter(text: str, aliases: Mapping[str, str] | None = None) -> Expr:
    """Parse a $filter value (already URL-decoded); ``aliases`` maps ``@p1`` (or ``p1``) to its raw text."""
    if len(text) > MAX_FILTER_LENGTH:
        raise QueryError(f"The $filter expression is longer than {MAX_FILTER_LENGTH} characters.")
    try:
        return _FilterParser(text, aliases).parse()
    except RecursionError:
        raise QueryError("Recursion depth exceeded allowed limit.") from None


# --------------------------------------------------------------------------------------------------
# $select, $orderby, $expand
# --------------------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_select(text: str | None) -> list[str] | None:
    """``$select=a,b`` -> ['a', 'b']; None (all columns) when absent or ``*``."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER_LENGTH:
        raise QueryError("The $select expression is too long.")
    names: list[str] = []
    for pos, part in _split_top(text, ","):
        name = part.strip()
        if name == "*":
            return None
        if not _NAME_RE.fullmatch(name):
            raise QueryError(f"Syntax error at position {pos} in '{text}'.")
        if name not in names:
            names.append(name)
    return names


def parse_orderby(text: str | None) -> list[tuple[str, bool]]:
    """``$orderby=name asc,createdon desc`` -> [('name', False), ('createdon', True)]."""
    if text is None or not text.strip():
        return []
    if len(text) > MAX_FILTER_LENGTH:
        raise QueryError("The $orderby expression is too long.")
    result: list[tuple[str, bool]] = []
    for pos, part in _split_top(text, ","):
        words = part.split()
        if not words or len(words) > 2 or not re.fullmatch(r"[A-Za-z_]\w*", words[0]):
            raise QueryError(f"Syntax error at position {pos} in '{text}'.")
        if len(words) == 2 and words[1] not in ("asc", "desc"):
            raise QueryError(f"Syntax error at position {pos + part.find(words[1])} in '{text}'.")
        result.append((words[0], len(words) == 2 and words[1] == "desc"))
    return result


def _split_top(text: str, sep: str) -> list[tuple[int, str]]:
    """Split on ``sep`` outside quotes and parentheses; returns (start position, piece)."""
    pieces: list[tuple[int, str]] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    i += 1
                else:
                    quoted = False
        elif ch == "'":
            quoted = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise QueryError(f"Syntax error at position {i} in '{text}'.")
        elif ch == sep and depth == 0:
            pieces.append((start, text[start:i]))
            start = i + 1
        i += 1
    if quoted:
        raise QueryError(f"There is an unterminated string literal at position {start} in '{text}'.")
    if depth != 0:
        raise QueryError(f"')' or ',' expected at position {len(text)} in '{text}'.")
    pieces.append((start, text[start:]))
    return pieces


_RowT = TypeVar("_RowT", bound=Mapping[str, Any])


def sort_rows(rows: Sequence[_RowT], orderby: Sequence[tuple[str, bool]]) -> list[_RowT]:
    """Stable multi-key sort; nulls first ascending (last descending); strings case-insensitive."""
    ordered = list(rows)
    for column, descending in reversed(orderby):

        def key(row: _RowT, column: str = column) -> tuple[int, int, Any]:
            return _sort_key(resolve_attribute(row, column))

        ordered.sort(key=key, reverse=descending)
    return ordered


def _sort_key(value: Any) -> tuple[int, int, Any]:
    if value is None:
        return (0, 0, 0)
    if isinstance(value, bool | int | float | Decimal):
        number = _as_decimal(value)
        return (1, 0, number if number is not None else Decimal(0))
    if isinstance(value, datetime | date):
        return (1, 1, _as_datetime(value))
    text = str(value)
    if _looks_temporal(text):
        moment = parse_datetime(text)
        if moment is not None:
            return (1, 1, moment)
    return (1, 2, _fold(text))


@dataclass
class ExpandItem:
    """One ``$expand`` navigation with its nested options."""

    navigation: str
    select: list[str] | None = None
    filter: Expr | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    top: int | None = None


def parse_expand(text: str | None) -> list[ExpandItem]:
    """``nav($select=a,b;$filter=...;$orderby=...;$top=n),nav2`` -> ExpandItems; nested $expand is refused."""
    if text is None or not text.strip():
        return []
    if len(text) > MAX_FILTER_LENGTH:
        raise QueryError("The $expand expression is too long.")
    items: list[ExpandItem] = []
    for pos, part in _split_top(text, ","):
        m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*", part, re.DOTALL)
        if m is None:
            raise QueryError(f"Syntax error at position {pos} in '{text}'.")
        item = ExpandItem(navigation=m.group(1))
        if m.group(2) is not None and m.group(2).strip():
            seen: set[str] = set()
            for _, option in _split_top(m.group(2), ";"):
                key, sep, value = option.strip().partition("=")
                if not sep or key in seen:
                    raise QueryError(f"The query option '{option.strip()}' is not valid in $expand.")
                seen.add(key)
                if key == "$select":
                    item.select = parse_select(value)
                elif key == "$filter":
                    item.filter = parse_filter(value)
                elif key == "$orderby":
                    item.orderby = parse_orderby(value)
                elif key == "$top":
                    if not re.fullmatch(r"\d{1,9}", value.strip()):
                        raise QueryError(f"Invalid value '{value}' for $top query option found.")
                    item.top = int(value.strip())
                else:
                    raise QueryError(f"The query option '{key}' is not supported in $expand by the sandbox.")
        items.append(item)
    return items
