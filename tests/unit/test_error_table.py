"""Every error code the code raises belongs to one kind, and every kind has its label, exit code and
HTTP status: a refusal never reaches a user as an unclassified error."""

from __future__ import annotations

import re
from pathlib import Path

from domain.errors import KIND_OF_CODE, ErrorKind
from services.errors import PRESENTATION

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for folder in ("domain", "gateway", "services", "store", "activities", "workflows", "cli")
           for p in (ROOT / folder).rglob("*.py")]
RAISED = re.compile(r'(?:DomainError|LiaisonError)\(\s*"([a-z_]+)"')


def test_every_code_raised_has_a_kind() -> None:
    raised = {code for path in SOURCES for code in RAISED.findall(path.read_text("utf-8"))}
    assert raised, "the pattern found no raise at all"
    assert sorted(raised - set(KIND_OF_CODE)) == []


def test_every_kind_is_presented_once_with_distinct_exit_codes() -> None:
    assert set(PRESENTATION) == set(ErrorKind)
    codes = [p.exit_code for p in PRESENTATION.values()]
    assert len(codes) == len(set(codes)) and not {0, 1, 2} & set(codes)
    refusals = {kind for kind, p in PRESENTATION.items() if p.label == "refused"}
    assert all(PRESENTATION[k].http_status < 500 for k in refusals)
    assert PRESENTATION[ErrorKind.UNAVAILABLE].http_status == 503
