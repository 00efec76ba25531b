"""$filter, $select, $orderby and $expand of the Dataverse stand-in: every feature, plus properties."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.sandbox.dataverse.odata_query import (
    MAX_FILTER_LENGTH,
    EvalContext,
    ExpandItem,
    QueryError,
    compare_values,
    match_condition,
    parse_expand,
    parse_filter,
    parse_orderby,
    parse_select,
    sort_rows,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
ME = "7e1b2c3d-0000-4000-8000-000000000001"
OTHER = "7e1b2c3d-0000-4000-8000-000000000002"
BU = "b0000000-0000-4000-8000-0000000000b1"
ACCOUNT = "a0000000-0000-4000-8000-0000000000a1"

CONTACTS: dict[str, dict[str, Any]] = {
    "c1": {
        "contactid": "c0000000-0000-4000-8000-000000000001",
        "firstname": "Susanna",
        "lastname": "Stubberod",
        "fullname": "Susanna Stubberod (sample)",
        "emailaddress1": "susanna@example.com",
        "numberofchildren": 2,
        "creditlimit": 1500.5,
        "donotemail": False,
        "statecode": 0,
        "createdon": "2026-11-25T10:00:00Z",
        "birthdate": "1980-02-29",
        "_ownerid_value": ME,
        "_owningbusinessunit_value": BU,
        "_parentcustomerid_value": ACCOUNT,
    },
    "c2": {
        "contactid": "c0000000-0000-4000-8000-000000000002",
        "firstname": "Nancy",
        "lastname": "Nancy",
        "fullname": "Nancy Anderson",
        "emailaddress1": None,
        "numberofchildren": 0,
        "creditlimit": None,
        "donotemail": True,
        "statecode": 1,
        "createdon": "2026-11-20T08:30:00Z",
        "birthdate": None,
        "_ownerid_value": OTHER,
        "_owningbusinessunit_value": BU,
        "_parentcustomerid_value": None,
    },
    "c3": {
        "contactid": "c0000000-0000-4000-8000-000000000003",
        "firstname": "O'Brien",
        "lastname": None,
        "fullname": "Pat O'Brien",
        "emailaddress1": "pat@example.org",
        "numberofchildren": None,
        "creditlimit": 99,
        "donotemail": None,
        "statecode": 0,
        "createdon": "2026-11-26T09:00:00Z",
        "birthdate": "1975-11-25",
        "_ownerid_value": ME.upper(),
        "_owningbusinessunit_value": None,
        "_parentcustomerid_value": None,
    },
}
ACCOUNTS = {ACCOUNT: {"accountid": ACCOUNT, "name": "Fourth Coffee", "_primarycontactid_value": None}}
PARTIES: dict[str, list[dict[str, Any]]] = {
    "c1": [{"participationtypemask": 1, "addressused": "a@x.com"}, {"participationtypemask": 2}],
    "c2": [{"participationtypemask": 2}],
    "c3": [],
}


def _navigate(row: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    if name == "parentcustomerid_account":
        return ACCOUNTS.get(row.get("_parentcustomerid_value") or "")
    return None


def _collection(row: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    assert name == "email_activity_parties"
    key = next(k for k, v in CONTACTS.items() if v["contactid"] == row["contactid"])
    return list(PARTIES[key])


CTX = EvalContext(user_id=ME, now=NOW, navigate=_navigate, collection=_collection, business_unit_id=BU)


def matching(text: str, aliases: Mapping[str, str] | None = None, ctx: EvalContext = CTX) -> list[str]:
    expr = parse_filter(text, aliases)
    return sorted(key for key, row in CONTACTS.items() if expr.evaluate(row, ctx))


# ---------------------------------------------------------------------------------- operators


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("statecode eq 0", ["c1", "c3"]),
        ("statecode ne 0", ["c2"]),
        ("numberofchildren gt 0", ["c1"]),
        ("numberofchildren ge 0", ["c1", "c2"]),
        ("numberofchildren lt 2", ["c2"]),
        ("numberofchildren le 2", ["c1", "c2"]),
        ("creditlimit eq 1500.5", ["c1"]),
        ("creditlimit gt 99.0", ["c1"]),
        ("donotemail eq true", ["c2"]),
        ("donotemail eq false", ["c1"]),
        ("donotemail", ["c2"]),
        ("emailaddress1 eq null", ["c2"]),
        ("emailaddress1 ne null", ["c1", "c3"]),
        ("null eq emailaddress1", ["c2"]),
        ("emailaddress1 ne 'susanna@example.com'", ["c3"]),  # null is not "not equal" (SQL semantics)
        ("firstname eq 'susanna'", ["c1"]),  # case-insensitive
        ("firstname eq 'O''Brien'", ["c3"]),  # '' escapes a quote
        ("firstname eq lastname", ["c2"]),  # column to column
        ("firstname gt 'o'", ["c1", "c3"]),
        (f"_ownerid_value eq {ME}", ["c1", "c3"]),  # bare GUID, case-insensitive
        (f"_ownerid_value eq '{ME.upper()}'", ["c1", "c3"]),
        (f"_ownerid_value ne {ME}", ["c2"]),
    ],
)
def test_comparison_operators(text: str, expected: list[str]) -> None:
    assert matching(text) == expected


def test_values_that_cannot_be_compared() -> None:
    # lenient where the service would refuse the types: never equal, never ordered
    assert matching("statecode eq 'abc'") == []
    assert matching("statecode ne 'abc'") == ["c1", "c2", "c3"]
    assert matching("statecode gt 'abc'") == []
    assert matching("statecode eq '1'") == ["c2"]  # text that is a number compares as a number
    assert compare_values("gt", float("nan"), 1) is False
    assert compare_values("eq", float("inf"), float("inf")) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("createdon gt 2026-11-25T00:00:00Z", ["c1", "c3"]),
        ("createdon eq 2026-11-25T11:00:00+01:00", ["c1"]),  # same instant, other offset
        ("createdon eq 2026-11-25T05:00:00-05:00", ["c1"]),
        ("createdon lt 2026-11-25T10:00:00.001Z", ["c1", "c2"]),
        ("createdon ge 2026-11-25", ["c1", "c3"]),  # date literal = midnight UTC
        ("birthdate eq 1980-02-29", ["c1"]),
        ("birthdate lt 1980-01-01T00:00:00Z", ["c3"]),
    ],
)
def test_dates_compare_as_instants(text: str, expected: list[str]) -> None:
    assert matching(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("statecode eq 0 and numberofchildren gt 0", ["c1"]),
        ("statecode eq 1 or numberofchildren gt 0", ["c1", "c2"]),
        ("not (statecode eq 0)", ["c2"]),
        ("not donotemail", ["c1", "c3"]),
        # and binds tighter than or
        ("statecode eq 1 or statecode eq 0 and numberofchildren eq 2", ["c1", "c2"]),
        ("(statecode eq 1 or statecode eq 0) and numberofchildren eq 2", ["c1"]),
        ("not donotemail eq false", ["c2"]),  # (not donotemail) eq false: not binds tighter than eq
        ("not contains(fullname,'sample') and statecode eq 0", ["c3"]),
        ("((((statecode eq 0))))", ["c1", "c3"]),
    ],
)
def test_logic_and_precedence(text: str, expected: list[str]) -> None:
    assert matching(text) == expected


def test_not_binds_before_comparison() -> None:
    # "not statecode eq 1" is "(not statecode) eq 1": not on a number is an error, as in the service
    with pytest.raises(QueryError, match="Boolean"):
        matching("not statecode eq 1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("contains(fullname,'SAMPLE')", ["c1"]),
        ("startswith(fullname,'nancy')", ["c2"]),
        ("endswith(emailaddress1,'.org')", ["c3"]),
        ("contains(emailaddress1,'example')", ["c1", "c3"]),
        ("startswith(tolower(firstname),'o''b')", ["c3"]),
        ("toupper(lastname) eq 'NANCY'", ["c2"]),
        ("contains(fullname,'a_d')", ["c2"]),  # _ is a single-character wildcard
        ("startswith(fullname,'[NP]')", ["c2", "c3"]),  # [..] character class
        ("startswith(fullname,'[^NP]')", ["c1"]),
        ("contains(fullname,'%(sample)')", ["c1"]),
        ("contains(fullname, 'zzz')", []),
    ],
)
def test_string_functions(text: str, expected: list[str]) -> None:
    assert matching(text) == expected


def test_navigation_and_lambda() -> None:
    assert matching("parentcustomerid_account/name eq 'fourth coffee'") == ["c1"]
    assert matching("parentcustomerid_account/name ne null") == ["c1"]
    assert matching("email_activity_parties/any(p: p/participationtypemask eq 1)") == ["c1"]
    assert matching(
        "email_activity_parties/any(p:p/participationtypemask eq 2 and p/addressused eq null)"
    ) == [
        "c1",
        "c2",
    ]
    assert matching("email_activity_parties/all(p: p/participationtypemask eq 2)") == ["c2", "c3"]
    assert matching("email_activity_parties/any()") == ["c1", "c2"]
    assert matching("not email_activity_parties/any(p: p/participationtypemask eq 1)") == ["c2", "c3"]
    # the lambda body can still see the outer row
    assert matching("email_activity_parties/any(p: p/participationtypemask eq numberofchildren)") == ["c1"]


def test_navigation_without_resolver_is_null() -> None:
    bare = EvalContext(user_id=ME, now=NOW)
    assert matching("parentcustomerid_account/name eq 'Fourth Coffee'", ctx=bare) == []
    with pytest.raises(QueryError):
        matching("email_activity_parties/any(p: p/participationtypemask eq 1)", ctx=bare)


# ---------------------------------------------------------------------------------- query functions


CRM = "Microsoft.Dynamics.CRM."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{CRM}In(PropertyName='statecode',PropertyValues=['1','5'])", ["c2"]),
        (f'{CRM}In(PropertyName=\'firstname\',PropertyValues=["NANCY","susanna"])', ["c1", "c2"]),
        (f"{CRM}NotIn(PropertyName='firstname',PropertyValues=[\"NANCY\"])", ["c1", "c3"]),
        (f'{CRM}Between(PropertyName=\'numberofchildren\',PropertyValues=["0","1"])', ["c2"]),
        (f"{CRM}NotBetween(PropertyName='numberofchildren',PropertyValues=[1,5])", ["c2"]),
        (f"{CRM}EqualUserId(PropertyName='ownerid')", ["c1", "c3"]),
        (f"{CRM}NotEqualUserId(PropertyName='ownerid')", ["c2"]),
        (f"{CRM}EqualBusinessId(PropertyName='owningbusinessunit')", ["c1", "c2"]),
        (f"{CRM}NotEqualBusinessId(PropertyName='owningbusinessunit')", []),
        (f"{CRM}On(PropertyName='createdon',PropertyValue='2026-11-25')", ["c1"]),
        (f"{CRM}OnOrAfter(PropertyName='createdon',PropertyValue='2026-11-25')", ["c1", "c3"]),
        (f"{CRM}OnOrBefore(PropertyName='createdon',PropertyValue=2026-11-25)", ["c1", "c2"]),
        (f"{CRM}Today(PropertyName='createdon')", ["c1"]),
        (f"{CRM}Tomorrow(PropertyName='createdon')", ["c3"]),
        (f"{CRM}Yesterday(PropertyName='createdon')", []),
        (f"{CRM}LastXDays(PropertyName='createdon',PropertyValue=5)", ["c1", "c2"]),
        (f"{CRM}LastXDays(PropertyName='createdon',PropertyValue=4)", ["c1"]),
        (f"{CRM}NextXDays(PropertyName='createdon',PropertyValue=1)", ["c3"]),
        (f"{CRM}LastXHours(PropertyName='createdon',PropertyValue=2)", ["c1"]),
        (f"{CRM}LastXHours(PropertyName='createdon',PropertyValue=1)", []),
        (f"{CRM}NextXHours(PropertyName='createdon',PropertyValue=21)", ["c3"]),
        (f"{CRM}NextXHours(PropertyName='createdon',PropertyValue=20)", []),
        (f"{CRM}Last7Days(PropertyName='createdon')", ["c1", "c2"]),
        (f"{CRM}ThisWeek(PropertyName='createdon')", ["c1", "c3"]),  # Sunday 22nd .. Saturday 28th
        (f"{CRM}LastWeek(PropertyName='createdon')", ["c2"]),
        (f"{CRM}ThisMonth(PropertyName='createdon')", ["c1", "c2", "c3"]),
        (f"{CRM}LastYear(PropertyName='createdon')", []),
        (f"{CRM}OlderThanXDays(PropertyName='createdon',PropertyValue=3)", ["c2"]),
        (f"{CRM}OlderThanXMinutes(PropertyName='createdon',PropertyValue=60)", ["c1", "c2"]),
        (f"{CRM}OlderThanXYears(PropertyName='birthdate',PropertyValue=46)", ["c1", "c3"]),
        (f"{CRM}OlderThanXYears(PropertyName='birthdate',PropertyValue=47)", ["c3"]),
        (f"{CRM}In(PropertyName='statecode',PropertyValues=[0]) and firstname ne 'x'", ["c1", "c3"]),
    ],
)
def test_query_functions(text: str, expected: list[str]) -> None:
    assert matching(text) == expected


def test_query_functions_with_parameter_aliases() -> None:
    text = f"{CRM}LastXHours(PropertyName=@p1,PropertyValue=@p2)"
    assert matching(text, {"@p1": "'createdon'", "@p2": "12"}) == ["c1"]
    text = f"{CRM}Between(PropertyName=@p1,PropertyValues=@p2)"
    assert matching(text, {"p1": "'numberofchildren'", "p2": '["1","2000"]'}) == ["c1"]
    assert matching("firstname eq @name", {"@name": "'nancy'"}) == ["c2"]


def test_team_functions() -> None:
    team = "70000000-0000-4000-8000-000000000070"
    ctx = EvalContext(user_id=OTHER, now=NOW, team_ids=frozenset({ME}))
    assert matching(f"{CRM}EqualUserTeams(PropertyName='ownerid')", ctx=ctx) == ["c1", "c3"]
    assert matching(f"{CRM}EqualUserOrUserTeams(PropertyName='ownerid')", ctx=ctx) == ["c1", "c2", "c3"]
    ctx = EvalContext(user_id=OTHER, now=NOW, team_ids=frozenset({team}))
    assert matching(f"{CRM}EqualUserTeams(PropertyName='ownerid')", ctx=ctx) == []


def test_contain_values_over_multiselect_choices() -> None:
    ctx = EvalContext(user_id=ME, now=NOW)
    expr = parse_filter(f'{CRM}ContainValues(PropertyName=\'hobbies\',PropertyValues=["2","5"])')
    assert expr.evaluate({"hobbies": "1,2"}, ctx)
    assert expr.evaluate({"hobbies": [5]}, ctx)
    assert not expr.evaluate({"hobbies": "1,3"}, ctx)
    assert not expr.evaluate({"hobbies": None}, ctx)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("last-x-days", "0", True),  # today, before now
        ("next-x-days", "0", False),  # 10:00 is already past at 12:00
        ("last-x-weeks", "1", True),
        ("next-x-weeks", "1", False),
        ("last-x-months", "1", True),
        ("next-x-months", "1", False),
        ("last-x-years", "1", True),
        ("next-x-years", "1", False),
        ("this-year", None, True),
        ("next-year", None, False),
        ("next-month", None, False),
        ("last-month", None, False),
        ("next-week", None, False),
        ("next-seven-days", None, False),
        ("olderthan-x-hours", "1", True),
        ("olderthan-x-hours", "2", False),
        ("olderthan-x-weeks", "1", False),
        ("olderthan-x-months", "1", False),
        ("last-x-days", str(10**12), True),  # absurd ranges clamp instead of overflowing
        ("next-x-years", str(10**12), False),
    ],
)
def test_relative_date_operators(op: str, value: str | None, expected: bool) -> None:
    values = [] if value is None else [value]
    assert match_condition(op, "2026-11-25T10:00:00Z", values, CTX) is expected
    assert match_condition(op, None, values, CTX) is False


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name eqq 1", "')' or operator expected at position 5 in 'name eqq 1'."),
        ("(statecode eq 0", "')' or operator expected at position 15 in '(statecode eq 0'."),
        ("statecode eq 0)", "')' or operator expected at position 14 in 'statecode eq 0)'."),
        (
            "firstname eq 'abc",
            "There is an unterminated string literal at position 13 in 'firstname eq 'abc'.",
        ),
        ("", "Expression expected at position 0 in ''."),
        ("statecode eq", "Expression expected at position 12 in 'statecode eq'."),
        ("statecode eq 0 and", "Expression expected at position 18 in 'statecode eq 0 and'."),
        ("statecode # 1", "Syntax error: character '#' is not valid at position 10 in 'statecode # 1'."),
        ("createdon eq 2026-13-45", None),
        ("createdon eq 2026-02-30T10:00:00Z", None),
        ("statecode eq 1e999999", None),
        ("frobnicate(name)", "An unknown function with name 'frobnicate' was found."),
        (
            f"{CRM}Frobnicate(PropertyName='x')",
            "An unknown function with name 'Microsoft.Dynamics.CRM.Frobnicate'",
        ),
        (f"{CRM}InFiscalYear(PropertyName='x',PropertyValue=2026)", "not supported by the sandbox"),
        (f"not {CRM}In(PropertyName='statecode',PropertyValues=[\"1\"])", "'not' operator cannot be used"),
        (f"not ({CRM}Today(PropertyName='createdon'))", "'not' operator cannot be used"),
        (f"{CRM}In(PropertyName='statecode')", "requires the parameter 'PropertyValues'"),
        (f"{CRM}Today(PropertyName='x',PropertyValue=1)", "has no parameter named 'PropertyValue'"),
        (f"{CRM}Between(PropertyName='x',PropertyValues=[\"1\"])", "exactly two values"),
        (f"{CRM}LastXDays(PropertyName='x',PropertyValue='soon')", "not a valid whole number"),
        (f"{CRM}On(PropertyName='x',PropertyValue='someday')", "not a valid date"),
        (f"{CRM}Today(PropertyName=1)", "must be a column name"),
        (f"{CRM}Today(PropertyName=@p9)", "The parameter alias '@p9' has no value"),
        ("contains(name)", "No function signature for the function with name 'contains'"),
        ("x/any(p: p/y eq 1", "')' or operator expected"),
        ("x/all()", "Syntax error at position"),
        ("not 'abc'", "Syntax error at position 0"),
        ("name eq 'a' and or", "Expression expected at position 16"),
        ("EQ eq 1 and name EQ 1", "')' or operator expected"),
        ("name eq 'a' add 1", "')' or operator expected"),
    ],
)
def test_syntax_errors(text: str, message: str | None) -> None:
    with pytest.raises(QueryError) as info:
        parse_filter(text)
    assert (
        info.value.code == "0x80060888"
        or "whole number" in info.value.message
        or "date" in info.value.message
    )
    if message is not None:
        assert message in info.value.message
    assert str(info.value) == info.value.message


def test_depth_and_length_limits() -> None:
    assert matching("(" * 99 + "statecode eq 1" + ")" * 99) == ["c2"]
    with pytest.raises(QueryError, match="Recursion depth exceeded"):
        parse_filter("(" * 101 + "statecode eq 1" + ")" * 101)
    with pytest.raises(QueryError, match="Recursion depth exceeded"):
        parse_filter("not " * 150 + "donotemail")
    with pytest.raises(QueryError, match="longer than"):
        parse_filter("statecode eq 1 or " * (MAX_FILTER_LENGTH // 18) + "statecode eq 0")
    deep_or = " or ".join(f"statecode eq {i}" for i in range(1500))  # long, flat: no recursion problem
    assert matching(deep_or) == ["c1", "c2", "c3"]


# ---------------------------------------------------------------------------------- $select/$orderby/$expand


def test_parse_select() -> None:
    assert parse_select(None) is None
    assert parse_select("") is None
    assert parse_select("*") is None
    assert parse_select("firstname, lastname,_ownerid_value,firstname") == [
        "firstname",
        "lastname",
        "_ownerid_value",
    ]
    with pytest.raises(QueryError):
        parse_select("firstname,,lastname")
    with pytest.raises(QueryError):
        parse_select("first name")


def test_parse_orderby_and_sort_rows() -> None:
    assert parse_orderby(None) == []
    assert parse_orderby("lastname asc, createdon desc,firstname") == [
        ("lastname", False),
        ("createdon", True),
        ("firstname", False),
    ]
    for bad in ("lastname up", "lastname asc desc", ",", "primarycontactid/fullname"):
        with pytest.raises(QueryError):
            parse_orderby(bad)
    rows = [dict(row, key=key) for key, row in CONTACTS.items()]
    assert [r["key"] for r in sort_rows(rows, parse_orderby("lastname"))] == ["c3", "c2", "c1"]  # null first
    assert [r["key"] for r in sort_rows(rows, parse_orderby("lastname desc"))] == ["c1", "c2", "c3"]
    assert [r["key"] for r in sort_rows(rows, parse_orderby("statecode,createdon desc"))] == [
        "c3",
        "c1",
        "c2",
    ]
    assert [r["key"] for r in sort_rows(rows, parse_orderby("createdon"))] == ["c2", "c1", "c3"]
    mixed: list[dict[str, Any]] = [
        {"k": 1, "n": "b"},
        {"k": 2, "n": "A"},
        {"k": 3, "n": "a"},
        {"k": 4, "n": None},
    ]
    assert [r["k"] for r in sort_rows(mixed, [("n", False)])] == [4, 2, 3, 1]  # stable, case-insensitive
    assert [r["k"] for r in sort_rows(mixed, [("n", True)])] == [1, 2, 3, 4]


def test_parse_expand() -> None:
    items = parse_expand(
        "email_activity_parties($select=partyid,participationtypemask;"
        "$filter=participationtypemask eq 1 or addressused eq 'a;b,c';"
        "$orderby=participationtypemask desc;$top=5),"
        "regardingobjectid_account_email($select=name)"
    )
    assert [i.navigation for i in items] == ["email_activity_parties", "regardingobjectid_account_email"]
    first = items[0]
    assert first.select == ["partyid", "participationtypemask"]
    assert first.filter is not None and first.filter.evaluate({"participationtypemask": 1}, CTX)
    assert first.filter.evaluate({"participationtypemask": 2, "addressused": "A;B,C"}, CTX)
    assert first.orderby == [("participationtypemask", True)]
    assert first.top == 5
    assert items[1] == ExpandItem("regardingobjectid_account_email", ["name"], None, [], None)
    assert parse_expand("owninguser") == [ExpandItem("owninguser")]
    assert parse_expand(None) == []
    for bad in (
        "x($top=-1)",
        "x($expand=y)",
        "x($select=a;$select=b)",
        "x(",
        "x)",
        "1x",
        "x($filter=a eqq 1)",
    ):
        with pytest.raises(QueryError):
            parse_expand(bad)


# ---------------------------------------------------------------------------------- properties

COLUMNS = {"name": "str", "num": "int", "flag": "bool", "created": "datetime"}
_CHARS = "abAB xy'"

names = st.one_of(st.none(), st.text(alphabet=_CHARS, max_size=4))
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 1, 3), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0, second=0))
rows_strategy = st.fixed_dictionaries(
    {
        "name": names,
        "num": st.one_of(st.none(), st.integers(-3, 3)),
        "flag": st.one_of(st.none(), st.booleans()),
        "created": st.one_of(st.none(), moments.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))),
    }
)


@dataclass(frozen=True)
class Node:
    """A reference expression: ``text`` is its $filter rendering, ``check`` evaluates a row directly."""

    text: str
    check: Callable[[Mapping[str, Any]], bool]
    top_or: bool = False  # rendered as a bare "x or y": needs parentheses inside a bare "and"


_PY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def _parse_row_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _cmp(op: str, column: str, literal: Any, rendered: str) -> Node:
    def check(row: Mapping[str, Any]) -> bool:
        actual = row[column]
        if literal is None:
            return (actual is None) if op == "eq" else (actual is not None) if op == "ne" else False
        if actual is None:
            return False
        if column == "name":
            return _PY_OPS[op](actual.casefold(), literal.casefold())
        if column == "created":
            return _PY_OPS[op](_parse_row_time(actual), literal)
        return _PY_OPS[op](actual, literal)

    return Node(f"{column} {op} {rendered}", check)


def _literal_for(column: str) -> st.SearchStrategy[tuple[Any, str]]:
    if column == "name":
        return st.text(alphabet=_CHARS, max_size=3).map(lambda s: (s, "'" + s.replace("'", "''") + "'"))
    if column == "num":
        return st.integers(-4, 4).map(lambda n: (n, str(n)))
    if column == "flag":
        return st.booleans().map(lambda b: (b, "true" if b else "false"))
    offsets = st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(hours=-5, minutes=-30)])

    def render(pair: tuple[datetime, timedelta]) -> tuple[Any, str]:
        moment, offset = pair
        local = moment.astimezone(timezone(offset))
        text = local.strftime("%Y-%m-%dT%H:%M:%S") + (
            "Z" if not offset else local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]
        )
        return moment, text

    return st.tuples(moments, offsets).map(render)


@st.composite
def comparisons(draw: st.DrawFn) -> Node:
    column = draw(st.sampled_from(sorted(COLUMNS)))
    op = draw(st.sampled_from(sorted(_PY_OPS) if column != "flag" else ["eq", "ne"]))
    if draw(st.integers(0, 9)) == 0:
        return _cmp(op if op in ("eq", "ne") else "eq", column, None, "null")
    literal, rendered = draw(_literal_for(column))
    return _cmp(op, column, literal, rendered)


@st.composite
def string_calls(draw: st.DrawFn) -> Node:
    fn = draw(st.sampled_from(["contains", "startswith", "endswith"]))
    needle = draw(st.text(alphabet=_CHARS, max_size=3))
    wrap = draw(st.sampled_from(["name", "tolower(name)", "toupper(name)"]))
    rendered = "'" + needle.replace("'", "''") + "'"

    def check(row: Mapping[str, Any]) -> bool:
        value = row["name"]
        if value is None:
            return False
        v, n = value.casefold(), needle.casefold()
        return {"contains": n in v, "startswith": v.startswith(n), "endswith": v.endswith(n)}[fn]

    return Node(f"{fn}({wrap},{rendered})", check)


def _combine(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    def both(op: str) -> st.SearchStrategy[Node]:
        def make(pair: tuple[Node, Node]) -> Node:
            left, right = pair
            if op == "and":
                return Node(f"({left.text}) and ({right.text})", lambda r: left.check(r) and right.check(r))
            return Node(f"({left.text}) or ({right.text})", lambda r: left.check(r) or right.check(r), True)

        return st.tuples(children, children).map(make)

    def negate(child: Node) -> Node:
        return Node(f"not ({child.text})", lambda r: not child.check(r))

    def wrap(node: Node) -> str:
        return f"({node.text})" if node.top_or else node.text

    bare_and = st.tuples(children, children).map(
        lambda p: Node(f"{wrap(p[0])} and {wrap(p[1])}", lambda r: p[0].check(r) and p[1].check(r))
    )
    bare_or = st.tuples(children, children).map(
        lambda p: Node(f"{p[0].text} or {p[1].text}", lambda r: p[0].check(r) or p[1].check(r), True)
    )
    return st.one_of(both("and"), both("or"), children.map(negate), bare_and, bare_or)


trees = st.recursive(st.one_of(comparisons(), string_calls()), _combine, max_leaves=12)

HYPO = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPO
@given(tree=trees, rows=st.lists(rows_strategy, min_size=1, max_size=6))
def test_property_parse_matches_direct_evaluation(tree: Node, rows: list[dict[str, Any]]) -> None:
    ctx = EvalContext(user_id=ME, now=NOW)
    expr = parse_filter(tree.text)
    canonical = str(expr)
    reparsed = parse_filter(canonical)
    assert str(reparsed) == canonical
    assert reparsed == expr
    for row in rows:
        expected = tree.check(row)
        assert expr.evaluate(row, ctx) is expected, (tree.text, row)
        assert reparsed.evaluate(row, ctx) is expected


_FILTER_PIECES = st.sampled_from(
    [
        " ", "(", ")", "eq", "ne", "and", "or", "not", "'", "''", "name", "num", "1", "-2.5", "null", "true",
        ",", "/", "any(", "p:", "p/x", "contains(", "tolower(", "@p1", "[", "]", "\"a\"", "2026-11-25",
        "2026-11-25T10:00:00Z", "00000000-0000-0000-0000-000000000000", "Microsoft.Dynamics.CRM.In(",
        "PropertyName=", "PropertyValues=", "Microsoft.Dynamics.CRM.Today(", "=", "9" * 50, "1e400",
    ]
)  # fmt: skip


@HYPO
@given(text=st.one_of(st.text(max_size=200), st.lists(_FILTER_PIECES, max_size=30).map("".join)))
def test_property_parse_filter_raises_only_query_error(text: str) -> None:
    ctx = EvalContext(user_id=ME, now=NOW, collection=lambda row, name: [row])
    try:
        expr = parse_filter(text, {"@p1": "'name'"})
    except QueryError:
        return
    reparsed = parse_filter(str(expr), {"@p1": "'name'"})
    assert str(reparsed) == str(expr)
    for row in ({"name": "a", "num": 1, "p": None}, {}):
        with contextlib.suppress(QueryError):
            assert expr.evaluate(row, ctx) == reparsed.evaluate(row, ctx)


_VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        ["<a@x>", "<A@X>", "{C0000000-0000-4000-8000-000000000001}", "2026-11-25", "x", "7", "true"]
    ),
    st.integers(0, 9),
    st.booleans(),
)


@given(
    rows=st.lists(
        st.fixed_dictionaries({"messageid": _VALUES, "subject": st.one_of(_VALUES, st.text(max_size=6))}),
        max_size=12,
    ),
    wanted=st.lists(
        st.sampled_from(
            ["<a@x>", "<b@x>", "c0000000-0000-4000-8000-000000000001", "2026-11-25", "7", "true", "x"]
        ),
        min_size=1,
        max_size=14,
    ),
    extra=st.booleans(),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_long_or_chain_of_equalities_answers_as_one_by_one(
    rows: list[dict[str, Any]], wanted: list[str], extra: bool
) -> None:
    """The stand-in looks a long ``eq`` chain up in a set and ``startswith`` chains up in a prefix tuple; every
    row must get the answer the operands give one by one (folding, GUID braces, numbers and booleans compared
    as such, nulls never equal, LIKE wildcards in a needle still wildcards)."""
    parts = [f"messageid eq '{w}'" for w in wanted] + [f"subject eq '{w}'" for w in wanted[:3]]
    parts += [f"startswith(subject,'{w[:2]}')" for w in wanted[3:6]] + ["startswith(subject,'<_')"]
    if extra:
        parts.append("subject eq null")
    expr = parse_filter(" or ".join(parts))
    ctx = EvalContext(now=NOW, user_id=ME)
    for row in rows:
        one_by_one = any(parse_filter(p).evaluate(row, ctx) for p in parts)
        assert expr.evaluate(row, ctx) is one_by_one, (row, parts)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [("ABCdef", True), ("abx", False), ("q_z", True), ("qaz", True), (None, False), ("", False), (42, False)],
)
def test_a_long_startswith_chain_is_case_insensitive_and_keeps_wildcards(
    subject: Any, expected: bool
) -> None:
    needles = [
        "abc",
        "zz1",
        "zz2",
        "zz3",
        "zz4",
        "zz5",
        "zz6",
        "zz7",
        "q_",
    ]  # "_" is LIKE's any-one-character
    text = " or ".join(f"startswith(subject,'{n}')" for n in needles)
    row = {"subject": subject}
    ctx = EvalContext(now=NOW, user_id=ME)
    assert parse_filter(text).evaluate(row, ctx) is expected
    assert any(parse_filter(f"startswith(subject,'{n}')").evaluate(row, ctx) for n in needles) is expected
