"""The CLI against the real API, dev server and store: bad input is refused with a precise message and
changes nothing (no workflow started, history and audit log unchanged)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine

from domain.errors import DomainError
from gateway.operations import OperationsGateway
from store.audit_log import AuditLog
from tests.cli.conftest import EXAMPLES, REFUSED, Cli, exit_of, offline


async def _absent(gateway: OperationsGateway, engine: Engine, operation_id: str) -> None:
    with pytest.raises(DomainError, match="does not exist"):
        await gateway.state(operation_id)
    assert AuditLog(engine).read(operation_id) == []


async def test_open_show_and_list_from_the_example_spec(cli: Cli, operation_id: str) -> None:
    opened = await cli("operation", "open", str(EXAMPLES / "operation.yaml"), "--id", operation_id)
    assert opened.exit_code == 0, opened.output
    assert "KORAB" in opened.output and "IDENTIFY" in opened.output
    shown = await cli("operation", "show", operation_id)
    assert "lead BG; states BG, EL, DE; partners RS" in shown.output
    submitted = await cli("operation", "submit", operation_id, str(EXAMPLES / "assessment.yaml"))
    assert submitted.exit_code == 0 and "Harm to migrants' lives" in submitted.output
    timeline = await cli("operation", "timeline", operation_id)
    assert "operation_opened" in timeline.output and "prioritisation_submitted" in timeline.output
    replayed = await cli("audit", "replay", operation_id)
    assert replayed.exit_code == 0 and "PRIORITISE" in replayed.output
    verified = await cli("audit", "verify", operation_id)
    assert verified.exit_code == 0 and "intact" in verified.output, verified.output


async def test_only_the_states_taking_part_read_an_operation(cli: Cli, operation_id: str) -> None:
    assert (await cli("operation", "open", str(EXAMPLES / "operation.yaml"), "--id", operation_id)).exit_code == 0
    for read in (("operation", "show"), ("operation", "timeline"), ("operation", "intel")):
        outsider = await cli(*read, operation_id, actor="lo-fr")
        assert outsider.exit_code == exit_of("not_authorised"), outsider.output
        assert (f"refused: lo-fr (liaison_officer of FR) may not read operation {operation_id}: FR takes no part "
                "in it") in " ".join(outsider.output.split())
        assert "KORAB" not in outsider.output
        partner = await cli(*read, operation_id, actor="lo-rs")
        assert partner.exit_code == 0, partner.output
    for _ in range(50):  # visibility is eventually consistent
        if operation_id in (await cli("operation", "list", actor="lo-bg")).output:
            break
        await asyncio.sleep(0.2)
    else:
        pytest.fail("the operation never appeared in BG's list")
    assert operation_id not in (await cli("operation", "list", actor="lo-fr")).output
    assert operation_id in (await cli("operation", "list", actor="lo-rs")).output  # invited as a partner
    assert operation_id in (await cli("operation", "list", actor="aud-1")).output


BAD_SPECS = {
    "malformed.yaml": ("code_name: [KORAB\nlead_state: BG", "not valid YAML"),
    "malformed.json": ('{"code_name": "KORAB",', "not valid JSON"),
    "incomplete.yaml": ("code_name: KORAB\nparticipating_states: [BG, EL]\ncrime_areas: [migrant_smuggling]",
                        "lead_state: Field required"),
    "unknown_state.yaml": ("code_name: K\nlead_state: BG\nparticipating_states: [XX]\n"
                           "crime_areas: [migrant_smuggling]",
                           "participating_states: 'XX' is not an EU member-state code"),
    "one_state.yaml": ("code_name: K\nlead_state: BG\nparticipating_states: [BG]\n"
                       "crime_areas: [migrant_smuggling]", "a cross-border operation needs at least two member states"),
    "bad_crime_area.yaml": ("code_name: K\nlead_state: BG\nparticipating_states: [EL]\ncrime_areas: [jaywalking]",
                            "crime_areas.0: Input should be"),
    "list.yaml": ("- just\n- a list", "expected a mapping"),
    "impossible_birth_date.yaml": ("code_name: K\nlead_state: BG\nparticipating_states: [EL]\n"
                                   "crime_areas: [migrant_smuggling]\ntargets:\n  - name: Ivan Petrov\n"
                                   "    date_of_birth: 1985-02-31",
                                   "refused: target.date_of_birth: '1985-02-31' is not a date of the calendar"),
}


@pytest.mark.parametrize("name", sorted(BAD_SPECS))
async def test_bad_spec_is_refused_and_starts_nothing(name: str, cli: Cli, tmp_path: Path, operation_id: str,
                                                      gateway: OperationsGateway, session_engine: Engine) -> None:
    text, message = BAD_SPECS[name]
    spec = tmp_path / name
    spec.write_text(text)
    result = await cli("operation", "open", str(spec), "--id", operation_id)
    assert result.exit_code == exit_of("invalid_input"), result.output
    assert message in result.output
    assert "Traceback" not in result.output
    await _absent(gateway, session_engine, operation_id)


async def test_a_spec_that_cannot_be_read_is_named_without_a_traceback(cli: Cli, tmp_path: Path,
                                                                      operation_id: str) -> None:
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("code_name: Sófia\n".encode("latin-1"))
    for path, message in [(latin1, f"{latin1}: not UTF-8 text (byte 12): save the spec as UTF-8"),
                          (tmp_path, f"{tmp_path}: cannot be read: Is a directory")]:
        result = await cli("operation", "open", str(path), "--id", operation_id)
        assert result.exit_code == exit_of("invalid_input"), result.output
        assert message in " ".join(result.output.split()) and "Traceback" not in result.output


@pytest.fixture
async def in_prepare(cli: Cli, operation_id: str) -> str:
    assert (await cli("operation", "open", str(EXAMPLES / "operation.yaml"), "--id", operation_id)).exit_code == 0
    assert (await cli("operation", "submit", operation_id, str(EXAMPLES / "assessment.yaml"))).exit_code == 0
    assert (await cli("operation", "prioritise", operation_id)).exit_code == 0
    planned = await cli("operation", "plan-task", operation_id, "--state", "BG", "--kind", "arrest",
                        "--description", "arrest Petrov", "--due", "+1d", "--four-eyes")
    assert planned.exit_code == 0, planned.output
    return operation_id


REFUSALS = [
    (("task", "approve", "{op}", "TK1"), "ap-el-1", "belongs to BG, and only BG's own officers may act on it"),
    (("task", "approve", "{op}", "TK1"), "coord-1", "only an approver may"),
    (("operation", "plan-task", "{op}", "--state", "EL", "--kind", "search", "--description", "x",
      "--due", "2020-01-01T00:00Z"), "coord-1", "due: 2020-01-01T00:00:00+00:00 is not in the future"),
    (("operation", "plan-task", "{op}", "--state", "XX", "--kind", "search", "--description", "x",
      "--due", "+1d"), "coord-1", "member_state: 'XX' is neither an EU member state nor an operational partner"),
    (("operation", "submit", "{op}", str(EXAMPLES / "assessment.yaml")), "coord-1",
     "submit for prioritisation is allowed in phase IDENTIFY only"),
    (("task", "reject", "{op}", "TK1"), "ap-bg-1", "justification: a rejection needs a reason"),
    (("operation", "cancel", "{op}"), "coord-1", "cancelling an operation needs a reason"),
    (("results", "report", "{op}", "--arrests", "3"), "lo-bg", "report results is allowed in phase EXECUTE only"),
    (("task", "approve", "{op}", "TK9"), "ap-bg-1", "task_id: 'TK9' is not a task of operation"),
    (("operation", "schedule", "{op}", "--start", "+1d", "--end", "+2d", "--place", "Kulata,BG"), "coord-1",
     "--place: 'Kulata,BG' must be NAME,COUNTRY,LATITUDE,LONGITUDE (action windows are deconflicted by distance"),
    (("operation", "schedule", "{op}", "--start", "+1d", "--end", "+2d", "--place", "Kulata,ZZ,41.39,23.36"),
     "coord-1", "places.0.country: 'ZZ' is neither"),
]


@pytest.mark.parametrize(("args", "actor", "message"), REFUSALS)
async def test_refused_command_changes_nothing(args: tuple[str, ...], actor: str, message: str, cli: Cli,
                                               in_prepare: str, gateway: OperationsGateway,
                                               session_engine: Engine) -> None:
    history_before = await gateway.history_length(in_prepare)
    log_before = AuditLog(session_engine).head(in_prepare)
    result = await cli(*[a.format(op=in_prepare) for a in args], actor=actor)
    assert result.exit_code in REFUSED and "refused:" in result.output, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert await gateway.history_length(in_prepare) == history_before
    assert AuditLog(session_engine).head(in_prepare) == log_before


async def test_intelligence_names_identifiers_and_shows_them_to_who_may_see_it(cli: Cli, in_prepare: str) -> None:
    added = await cli("operation", "add-intel", in_prepare, "--summary", "Rent paid from this account",
                      "--handling-code", "H2", "--identifier", "iban:GB82 WEST 1234 5698 7654 32", actor="lo-bg")
    assert added.exit_code == 0, added.output
    shown = await cli("operation", "intel", in_prepare, "IN2", actor="lo-bg")
    assert shown.exit_code == 0, shown.output
    assert "iban GB82 WEST 1234 5698 7654 32" in shown.output and "Rent paid from this account" in shown.output
    unreadable = await cli("operation", "add-intel", in_prepare, "--summary", "x", "--identifier", "iban:GB00 1234",
                           actor="lo-bg")
    assert unreadable.exit_code == exit_of("invalid_input") and "Traceback" not in unreadable.output
    assert "iban 'GB00 1234' is not a valid IBAN" in unreadable.output
    document = await cli("operation", "add-intel", in_prepare, "--summary", "Travels on this passport",
                         "--identifier", "identity_document:passport:381234567:BG", actor="lo-bg")
    assert document.exit_code == 0, document.output
    shown = await cli("operation", "intel", in_prepare, "IN3", actor="lo-bg")
    assert "identity_document passport:381234567 (BG)" in shown.output, shown.output
    malformed = await cli("operation", "add-intel", in_prepare, "--summary", "x", "--identifier", "GB82", actor="lo-bg")
    assert malformed.exit_code == exit_of("invalid_input")
    assert "--identifier: 'GB82' must be KIND:VALUE or KIND:VALUE:COUNTRY" in malformed.output


async def test_same_approver_twice_on_four_eyes(cli: Cli, in_prepare: str, gateway: OperationsGateway,
                                                session_engine: Engine) -> None:
    assert (await cli("task", "approve", in_prepare, "TK1", actor="ap-bg-1")).exit_code == 0
    history_before = await gateway.history_length(in_prepare)
    again = await cli("task", "approve", in_prepare, "TK1", actor="ap-bg-1")
    assert again.exit_code == exit_of("conflict")
    assert "needs two different approvers of BG; ap-bg-1 has already approved it" in again.output
    assert await gateway.history_length(in_prepare) == history_before
    pending = await cli("task", "pending", in_prepare, actor="ap-bg-2")
    assert "TK1" in pending.output and "1/2" in pending.output
    inbox = await _inbox_eventually(cli, in_prepare)
    assert "arrest Petrov" in inbox
    assert (await cli("task", "approve", in_prepare, "TK1", actor="ap-bg-2")).exit_code == 0
    assert "task_approved" in [r.type for r in AuditLog(session_engine).read(in_prepare)]


async def _inbox_eventually(cli: Cli, operation_id: str) -> str:
    """The inbox spans operations through visibility, which is eventually consistent."""
    for _ in range(50):
        output = (await cli("task", "pending", actor="ap-bg-2")).output
        if operation_id in output:
            return output
        await asyncio.sleep(0.1)
    raise AssertionError(f"{operation_id} never appeared in the BG approver's inbox")


async def test_an_unknown_token_and_an_unknown_operation(cli: Cli) -> None:
    nobody = await cli("operation", "show", "op-x", actor=None, env={"LIAISON_TOKEN": "lsn_nobody_x"})
    assert nobody.exit_code == exit_of("not_authenticated"), nobody.output
    assert "not signed in: the token is unknown; sign in again with `liaison login`" in nobody.output
    missing = await cli("task", "approve", "op-does-not-exist", "TK1", actor="ap-bg-1")
    assert missing.exit_code == exit_of("not_found") and "operation op-does-not-exist does not exist" in missing.output


async def test_a_store_that_is_down_or_not_migrated_is_named(tmp_path: Path) -> None:
    unmigrated = offline(LIAISON_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}", LIAISON_DATA_DIR=str(tmp_path))
    result = await unmigrated("admin", "bootstrap", "admin-x", actor=None)
    assert result.exit_code == exit_of("unavailable"), result.output
    assert "cannot be used: no such table: principals" in result.output and "alembic upgrade head" in result.output
    down = offline(LIAISON_DATABASE_URL="postgresql+psycopg://postgres:secret@127.0.0.1:9/test",
                   LIAISON_DATA_DIR=str(tmp_path))
    result = await down("rebuild-read-models", actor=None)
    assert result.exit_code == exit_of("unavailable"), result.output
    assert "postgres:***@127.0.0.1:9/test cannot be used" in result.output
    assert "secret" not in result.output and not (tmp_path / "logs").exists()


async def test_a_principal_is_registered_once_and_cannot_change_role(cli: Cli) -> None:
    again = await cli("principal", "add", "ap-bg-1", "--role", "approver", "--state", "BG", "--name", "Other",
                      "-j", "again", actor="admin-1")
    assert again.exit_code == 0 and "already registered ap-bg-1" in again.output, again.output
    assert "one-time password" not in again.output
    coordinator_of_a_state = await cli("principal", "add", "x-coord", "--role", "coordinator", "--state", "BG",
                                       "-j", "test", actor="admin-1")
    assert coordinator_of_a_state.exit_code == exit_of("invalid_input")
    assert "acts for the task force" in coordinator_of_a_state.output
    changed = await cli("principal", "add", "ap-bg-1", "--role", "approver", "--state", "EL", "-j", "test",
                        actor="admin-1")
    assert changed.exit_code == exit_of("conflict")
    assert "'ap-bg-1' already exists as approver of BG" in changed.output
    assert "Traceback" not in changed.output
    listed = await cli("principal", "list", actor="admin-1")
    assert "ap-bg-1" in listed.output and "EL" not in listed.output.split("ap-bg-1", 1)[1].splitlines()[0]
    not_an_admin = await cli("principal", "add", "ap-bg-9", "--role", "approver", "--state", "BG", "-j", "self",
                             actor="ap-bg-1")
    assert not_an_admin.exit_code == exit_of("not_authorised") and "only an administrator may" in not_an_admin.output


async def test_the_demo_drives_an_operation_through_a_collision_to_its_close(cli: Cli) -> None:
    demo = await cli("demo", actor=None)
    assert demo.exit_code == 0, demo.output
    assert "deconfliction_hit_resolved" in demo.output
    assert "phone:+359888123456" in demo.output and "LKA Bayern desk" in demo.output
    assert "TOTAL │       6 │        6 │        2 │          600,000.50 │                  17" in demo.output
    assert "audit chain: intact" in demo.output


async def test_user_text_is_shown_as_typed_never_read_as_markup(cli: Cli, in_prepare: str) -> None:
    planned = await cli("operation", "plan-task", in_prepare, "--state", "BG", "--kind", "search",
                        "--description", "[bold]search[/bold] the [link=http://x]warehouse[/link]", "--due", "+2d")
    assert planned.exit_code == 0, planned.output
    pending = await cli("task", "pending", in_prepare, actor="ap-bg-1")
    assert "[bold]search[/bold] the [link=http://x]warehouse[/link]" in " ".join(pending.output.split())


async def test_lists_survive_a_rebuild_of_the_read_models(cli: Cli, in_prepare: str) -> None:
    before = await cli("operation", "list", "--phase", "prepare", actor="lo-bg")
    assert in_prepare in before.output, before.output
    rebuilt = await cli("rebuild-read-models", actor=None)  # server-side: the store, no sign-in
    assert rebuilt.exit_code == 0 and "rebuilt" in rebuilt.output, rebuilt.output
    after = await cli("operation", "list", "--phase", "prepare", actor="lo-bg")
    assert in_prepare in after.output
    assert in_prepare not in (await cli("operation", "list", actor="lo-fr")).output  # FR takes no part
    inbox = await cli("task", "pending", actor="ap-bg-1")
    assert in_prepare in inbox.output and "TK1" in inbox.output


async def test_show_lists_the_targets_a_reader_may_see(cli: Cli, in_prepare: str, tmp_path: Path) -> None:
    target = tmp_path / "h2.yaml"
    target.write_text("name: Withheld Person\ncontributed_by: BG\nhandling_code: H2\n", encoding="utf-8")
    assert (await cli("operation", "add-target", in_prepare, str(target), actor="lo-bg")).exit_code == 0
    own = await cli("operation", "show", in_prepare, actor="lo-bg")
    assert "Targets" in own.output and "Withheld Person" in own.output and "Иван Петров" in own.output
    other = await cli("operation", "show", in_prepare, actor="ap-el-1")
    assert other.exit_code == 0 and "Иван Петров" in other.output and "Withheld Person" not in other.output
    timeline = await cli("operation", "timeline", in_prepare, actor="ap-el-1")
    assert "withheld: H2 from BG" in " ".join(timeline.output.split()) and "Withheld Person" not in timeline.output
