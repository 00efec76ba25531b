"""Load the real Microsoft sample payloads and compare shapes with what the stand-in answers."""

from __future__ import annotations

import json
import re
from collections.abc import Set
from pathlib import Path
from typing import Any

# A copy of ../shared/reference/samples/dataverse (Microsoft's documentation samples; each .src names its source).
SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "dataverse"


def sample_dir() -> Path:
    return SAMPLES


def load_json(name: str) -> Any:
    text = (sample_dir() / name).read_text(encoding="utf-8")
    # error-body-with-annotations.json lacks a comma in the doc; repair it as its .src says
    text = re.sub(r'\\r\\n"\s*\n(\s*)"@', '\\\\r\\\\n",\n\\1"@', text)
    return json.loads(text)


def load_http(name: str) -> tuple[int, dict[str, str], str]:
    """Status, headers (names as written) and body of an ``.http`` sample."""
    text = (sample_dir() / name).read_text(encoding="utf-8").replace("\r\n", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    index = 1
    while index < len(lines) and lines[index].strip():
        if lines[index].lstrip().startswith("{"):
            break
        name, _, value = lines[index].partition(":")
        headers[name.strip()] = value.strip()
        index += 1
    body = "\n".join(lines[index:]).strip()
    return status, headers, body


def shape(value: Any) -> Any:
    """The structure of a JSON value: dict keys (recursively), list element shape, scalar type class."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string"


def assert_same_keys(
    actual: dict[str, Any], sample: dict[str, Any], *, allow_extra: Set[str] = frozenset()
) -> None:
    """Same top-level keys, in the sense that matters to a client: nothing missing, nothing unexpected."""
    missing = set(sample) - set(actual)
    extra = set(actual) - set(sample) - set(allow_extra)
    assert not missing, f"missing keys {missing}"
    assert not extra, f"unexpected keys {extra}"


def assert_same_shape(actual: Any, sample: Any, path: str = "$") -> None:
    """Recursive: dicts have the sample's keys (values compared by shape; nulls match anything)."""
    if sample is None or actual is None:
        return
    if isinstance(sample, dict):
        assert isinstance(actual, dict), f"{path}: expected an object"
        assert set(actual) == set(sample), f"{path}: keys {sorted(actual)} != {sorted(sample)}"
        for key in sample:
            assert_same_shape(actual[key], sample[key], f"{path}.{key}")
    elif isinstance(sample, list):
        assert isinstance(actual, list), f"{path}: expected an array"
        for item in actual:
            matches = [s for s in sample if isinstance(s, dict) == isinstance(item, dict)]
            if isinstance(item, dict):
                candidates = [s for s in matches if set(s) == set(item)]
                assert candidates, f"{path}[]: no sample element has keys {sorted(item)}"
                assert_same_shape(item, candidates[0], f"{path}[]")
    else:
        assert shape(actual) == shape(sample), f"{path}: {actual!r} is not like {sample!r}"
