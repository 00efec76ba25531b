"""The mypy section of pyproject.toml says what mypy does: strict for the product, bodies checked in tests and bench.

mypy applies ``strict = true`` globally even where it stands in an override section (python/mypy#11401), so an
override that seems to confine it to ``wizard.*`` makes every checked module strict.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _mypy() -> dict[str, Any]:
    with open(REPO / "pyproject.toml", "rb") as handle:
        section: dict[str, Any] = tomllib.load(handle)["tool"]["mypy"]
    return section


def test_mypy_checks_the_tests_and_benchmarks_with_the_product() -> None:
    assert set(_mypy()["files"]) == {"wizard", "tests", "bench"}


def test_strict_is_set_where_mypy_applies_it() -> None:
    mypy = _mypy()
    assert mypy["strict"] is True
    assert all("strict" not in override for override in mypy.get("overrides", []))


def test_tests_and_benchmarks_need_no_annotations_but_their_bodies_are_checked() -> None:
    (relaxed,) = [o for o in _mypy()["overrides"] if "tests.*" in o["module"]]
    assert set(relaxed["module"]) == {"tests", "tests.*", "bench", "bench.*"}
    assert relaxed["check_untyped_defs"] is True
    assert relaxed["disallow_untyped_defs"] is False and relaxed["disallow_incomplete_defs"] is False
    assert relaxed["disallow_untyped_calls"] is False
