"""Who reads what: every role, own state, other state, partner and non-participant, against every read,
with targets and items under H0-H3; every read is in the consultation log with its outcome."""

from __future__ import annotations

import uuid

import pytest

from bootstrap import System
from domain import commands as cmd
from domain.errors import NotAuthorised, NotFound
from domain.model import Intelligence, OperationSpec, Target
from store.consultations import Consultations
from tests.services.conftest import actor

READERS = ["coord-1", "aud-1", "lo-bg", "ap-bg-1", "lo-el", "ap-el-1", "lo-rs"]
PURPOSE = "matrix review"


def _names(tag: str) -> dict[str, str]:
    return {key: f"{key} {tag}" for key in ("Alpha", "Bravo", "Charlie", "Echo")}


@pytest.fixture(scope="module")
async def matrix(system: System) -> tuple[str, dict[str, str], dict[str, str]]:
    """One operation (lead BG, with EL, partner RS): targets and items of BG and EL under every code."""
    tag, case = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]  # ids apart from the names: ids are kept in clear
    names = _names(tag)
    spec = OperationSpec.model_validate({
        "code_name": f"MATRIX-{case}", "lead_state": "BG", "participating_states": ["BG", "EL"], "partners": ["RS"],
        "crime_areas": ["migrant_smuggling"],
        "targets": [{"name": names["Alpha"], "contributed_by": "BG", "handling_code": "H0"},
                    {"name": names["Bravo"], "contributed_by": "BG", "handling_code": "H2"},
                    {"name": names["Charlie"], "contributed_by": "EL", "handling_code": "H3"}]})
    operation_id = f"op-matrix-{case}"
    opening = await system.operations.open(actor(system, "coord-1"), cmd.OpenOperationRequest(
        operation_id=operation_id, spec=spec, justification="matrix"))
    assert opening.status == "opened"
    summaries = {code: f"item {code} {tag}" for code in ("H0", "H1", "H2", "H3")}
    for code, summary in summaries.items():
        item = Intelligence(summary=summary, handling_code=code, contributed_by="BG",  # type: ignore[arg-type]
                            handling_restriction="judicial authorisation first" if code == "H3" else None)
        await system.operations.send(actor(system, "lo-bg"), operation_id, cmd.AddIntelligenceRequest(
            item=item, justification=f"why {summary}"))
    await system.operations.send(actor(system, "lo-el"), operation_id, cmd.AddTargetRequest(
        target=Target(name=names["Echo"], contributed_by="EL", handling_code="H2"),  # type: ignore[arg-type]
        justification=f"why {names['Echo']}"))
    return operation_id, names, summaries


# What each reader may see: targets by name key, items by handling code (all contributed by BG).
SEES = {
    "coord-1": ({"Alpha", "Bravo", "Charlie", "Echo"}, {"H0", "H1", "H2", "H3"}),
    "aud-1": ({"Alpha", "Bravo", "Charlie", "Echo"}, {"H0", "H1", "H2", "H3"}),
    "lo-bg": ({"Alpha", "Bravo"}, {"H0", "H1", "H2", "H3"}),
    "ap-bg-1": ({"Alpha", "Bravo"}, {"H0", "H1", "H2", "H3"}),
    "lo-el": ({"Alpha", "Charlie", "Echo"}, {"H0", "H1"}),
    "ap-el-1": ({"Alpha", "Charlie", "Echo"}, {"H0", "H1"}),
    "lo-rs": (set(), set()),  # a partner sees only what is its own or released to it
}


@pytest.mark.parametrize("reader", READERS)
async def test_each_reader_sees_exactly_what_its_role_state_and_the_codes_allow(
        system: System, matrix: tuple[str, dict[str, str], dict[str, str]], reader: str) -> None:
    operation_id, names, summaries = matrix
    targets, codes = SEES[reader]
    viewer = actor(system, reader)
    hidden_words = [names[k] for k in names if k not in targets] + [summaries[c] for c in summaries if c not in codes]

    state = await system.operations.show(viewer, PURPOSE, operation_id)
    assert {t.name for t in state.targets} == {names[k] for k in targets}
    assert {i.summary for i in state.intelligence} == {summaries[c] for c in codes}

    items = await system.operations.intelligence(viewer, PURPOSE, operation_id)
    assert {i.summary for i in items} == {summaries[c] for c in codes}

    lines = " ".join(f"{e.summary} {e.justification}" for e in await system.operations.timeline(
        viewer, PURPOSE, operation_id))
    assert [word for word in hidden_words if word in lines] == []
    assert all(names[k] in lines for k in targets & {"Echo"})  # an added target it may see is named


async def test_a_state_that_takes_no_part_is_refused_every_read_and_each_refusal_is_logged(
        system: System, matrix: tuple[str, dict[str, str], dict[str, str]]) -> None:
    operation_id, _, _ = matrix
    for reader in ("lo-fr", "ap-fr-1"):
        viewer = actor(system, reader)
        for read in (system.operations.show, system.operations.timeline, system.operations.intelligence):
            with pytest.raises(NotAuthorised, match="takes no part in it"):
                await read(viewer, PURPOSE, operation_id)
    refused = [c for c in Consultations(system.engine).search(operation_id) if c.actor_id in ("lo-fr", "ap-fr-1")]
    assert len(refused) == 6 and {c.outcome for c in refused} == {"refused"}
    assert all(c.detail and "takes no part in it" in c.detail for c in refused)


async def test_served_and_not_found_reads_are_logged_with_their_outcome(
        system: System, matrix: tuple[str, dict[str, str], dict[str, str]]) -> None:
    operation_id, _, _ = matrix
    viewer = actor(system, "lo-el")
    await system.operations.show(viewer, "served read", operation_id)
    missing = f"op-nowhere-{uuid.uuid4().hex[:6]}"
    with pytest.raises(NotFound, match="does not exist"):
        await system.operations.show(viewer, "missing read", missing)
    served = [c for c in Consultations(system.engine).search(operation_id) if c.justification == "served read"]
    assert [(c.action, c.outcome, c.actor_id) for c in served] == [("operation show", "served", "lo-el")]
    (absent,) = Consultations(system.engine).search(missing)
    assert (absent.outcome, absent.justification) == ("not_found", "missing read")


async def test_a_read_without_a_purpose_is_refused_and_logged(
        system: System, matrix: tuple[str, dict[str, str], dict[str, str]]) -> None:
    operation_id, _, _ = matrix
    with pytest.raises(Exception, match="needs a purpose"):
        await system.operations.show(actor(system, "lo-bg"), "  ", operation_id)
    logged = [c for c in Consultations(system.engine).search(operation_id) if c.justification == ""]
    assert logged and logged[-1].outcome == "refused"


async def test_a_read_refused_for_the_role_is_logged_as_refused(
        system: System, matrix: tuple[str, dict[str, str], dict[str, str]]) -> None:
    operation_id, _, _ = matrix
    officer = actor(system, "lo-bg")
    with pytest.raises(NotAuthorised, match="may not replay an operation"):
        await system.audit.replay(officer, "curious", operation_id)
    with pytest.raises(NotAuthorised, match="may not list pending tasks"):
        await system.tasks.pending(officer, "curious", operation_id)
    with pytest.raises(NotAuthorised, match="a liaison officer checks for BG"):
        await system.deconfliction.check(officer, "curious", [Target(name="Someone")], "DE")
    logged = [c for c in Consultations(system.engine).search(actor_id="lo-bg") if c.justification == "curious"]
    assert [(c.action, c.outcome) for c in logged] == [
        ("audit replay", "refused"), ("task pending", "refused"), ("deconfliction check", "refused")]
