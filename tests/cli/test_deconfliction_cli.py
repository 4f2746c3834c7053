"""`liaison deconfliction check` and `resolve` against the real dev server, worker and store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from store.audit_log import AuditLog
from store.index import DeconflictionIndex
from tests.cli.conftest import REFUSED, Cli, exit_of

SPEC = """
code_name: {code_name}
point_of_contact: "BG desk Varna, +359 52 000 111"
lead_state: BG
participating_states: [EL]
crime_areas: [migrant_smuggling]
handling_code: H2
targets:
  - name: Николай Георгиев
    date_of_birth: "1971-10-23"
    identifiers:
      - {{kind: phone, value: "0899 555 010"}}
"""

CHECK = """
- name: Nikolay Georgiev
  date_of_birth: "1971-10-23"
- name: N. Georgiev
  contributed_by: EL
  identifiers:
    - {kind: phone, value: "+359899555010"}
- name: Maria Ivanova
  identifiers:
    - {kind: phone, value: "0899 12"}
"""


async def test_precheck_finds_hits_without_storing_anything(cli: Cli, tmp_path: Path, operation_id: str,
                                                            session_engine: Engine) -> None:
    batch = tmp_path / "batch.yaml"
    batch.write_text(CHECK, encoding="utf-8")
    before = await cli("deconfliction", "check", str(batch), "--state", "BG")
    assert before.exit_code == exit_of("invalid_input")  # one target cannot be read
    assert "2 targets checked, 0 hits" in before.output
    assert "refused: target 3 (Maria Ivanova): phone '0899 12' is not a valid number" in before.output

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(code_name="VARNA"), encoding="utf-8")
    assert (await cli("operation", "open", str(spec), "--id", operation_id)).exit_code == 0
    index = DeconflictionIndex(session_engine)
    entries = index.count()

    after = await cli("deconfliction", "check", str(batch), "--state", "BG")
    assert "2 targets checked, 2 hits" in after.output, after.output
    assert "person: person match score" in after.output and "identifier: phone:+359899555010" in after.output
    assert "BG desk Varna, +359 52 000 111" in after.output and "H2" in after.output
    assert "VARNA" not in after.output and operation_id not in after.output
    assert index.count() == entries  # a pre-check files nothing

    # A spec's intelligence names identifiers too: opening it would collide, so the pre-check says so.
    other_spec = tmp_path / "other.yaml"
    other_spec.write_text("""
code_name: DANUBE
lead_state: RO
participating_states: [BG]
crime_areas: [migrant_smuggling]
intelligence:
  - summary: Calls to the Varna number
    identifiers: [{kind: phone, value: "+359 899 555 010"}]
""", encoding="utf-8")
    from_items = await cli("deconfliction", "check", str(other_spec), "--state", "RO")
    assert from_items.exit_code == 0, from_items.output
    assert "1 targets checked, 1 hits" in from_items.output
    assert "intelligence: Calls to the Varna number" in from_items.output
    assert "identifier: phone:+359899555010" in from_items.output

    unexplained = await cli("deconfliction", "check", str(batch), "--state", "BG", purpose=None)
    assert unexplained.exit_code == exit_of("invalid_input") and "needs a purpose" in unexplained.output


async def test_resolve_a_hit_from_the_cli(cli: Cli, tmp_path: Path, operation_id: str,
                                          session_engine: Engine) -> None:
    spec = tmp_path / "spec.yaml"
    text = SPEC.format(code_name="DANUBE").replace("0899 555 010", "0899 555 020").replace("1971", "1972")
    spec.write_text(text, encoding="utf-8")
    first, second = f"{operation_id}-a", f"{operation_id}-b"
    assert (await cli("operation", "open", str(spec), "--id", first)).exit_code == 0
    opened = await cli("operation", "open", str(spec), "--id", second)
    assert "Deconfliction hits" in opened.output and "open: blocks execution" in opened.output
    hit_id = next(word for word in opened.output.split() if word.startswith("H") and len(word) == 11)

    refused = await cli("deconfliction", "resolve", second, hit_id, "--resolution", "proceed", actor="lo-bg")
    assert refused.exit_code in REFUSED and "justification" in refused.output
    wrong_role = await cli("deconfliction", "resolve", second, hit_id, "--resolution", "proceed", "-j", "x")
    assert wrong_role.exit_code == exit_of("not_authorised") and "only a liaison officer may" in wrong_role.output

    resolved = await cli("deconfliction", "resolve", second, hit_id, "--resolution", "proceed",
                         "-j", "different suspects after a call", actor="lo-bg")
    assert resolved.exit_code == 0, resolved.output
    shown = await cli("operation", "show", second)
    assert "proceed by lo-bg (BG)" in shown.output
    assert "deconfliction_hit_resolved" in [r.type for r in AuditLog(session_engine).read(second)]
