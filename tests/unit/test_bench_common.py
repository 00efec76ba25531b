"""bench.common.update_section: the in-place section writer that several benchmarks share."""

from __future__ import annotations

from pathlib import Path

import requests

from bench.common import markdown_table, update_section


def test_creates_file_with_intro_and_section(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "PERFORMANCE.md"
    update_section(doc, "Dataverse", "figures A")
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance")
    assert "<!-- bench:Dataverse -->\nfigures A\n<!-- /bench:Dataverse -->\n" in text


def test_replaces_only_its_own_section(tmp_path: Path) -> None:
    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text("# Perf\n\nhand-written\n", encoding="utf-8")
    update_section(doc, "Dataverse", "dv 1")
    update_section(doc, "EWS backend", "ews 1")
    update_section(doc, "Dataverse", "dv 2 with \\1 backslash")
    text = doc.read_text(encoding="utf-8")
    assert text.count("<!-- bench:Dataverse -->") == 1
    assert "dv 1" not in text
    assert "dv 2 with \\1 backslash" in text
    assert "<!-- bench:EWS backend -->\news 1\n<!-- /bench:EWS backend -->" in text
    assert text.startswith("# Perf\n\nhand-written\n")
    # Order is kept: the Dataverse section was first and stays first.
    assert text.index("bench:Dataverse") < text.index("bench:EWS backend")


def test_markdown_table_aligns_columns() -> None:
    table = markdown_table(["a", "bbb"], [[1, 2], ["long", 3]])
    lines = table.splitlines()
    assert len(lines) == 4
    assert len({len(line) for line in lines}) == 1


def test_count_requests_counts_sent_requests() -> None:
    from bench.common import count_requests

    session = requests.Session()

    class _Adapter(requests.adapters.HTTPAdapter):
        """Answers 204 without any network: only the counting around it is under test."""

        def send(
            self, request: requests.PreparedRequest, *args: object, **kwargs: object
        ) -> requests.Response:
            response = requests.Response()
            response.status_code = 204
            response.request = request
            return response

    session.mount("http://x/", _Adapter())
    counter = count_requests(session)
    session.get("http://x/a?q=1")
    session.post("http://x/b")
    assert counter.count == 2
    assert counter.methods == ["GET http://x/a", "POST http://x/b"]
