"""What crosses the workflow boundary stays readable across versions: runs continued and signals
sent before the other operation's id moved out of hits keep their way back to that operation."""

from __future__ import annotations

from domain.model import DeconflictionHit, HandlingCode
from domain.state import OperationState
from tests.unit.builders import driven_to
from workflows.messages import HitNotice, OperationInput

HIT = DeconflictionHit(hit_id="HA1", kind="identifier", matched="phone:+359899765432", own_ref="TG1",
                       other_state="DE", other_contact="BKA desk", other_handling_code=HandlingCode.H2)


def test_a_run_continued_with_routes_inside_its_hits_keeps_them() -> None:
    state = driven_to("prepare").state.model_copy(update={"hits": {"HA1": HIT}})
    dumped = state.model_dump(mode="json")
    dumped["hits"]["HA1"]["other_operation_id"] = "op-rhein"
    legacy = {"operation_id": "op-a", "state": dumped, "head": {"seq": 3, "hash": "h"}}
    read = OperationInput.model_validate(legacy)
    assert read.routes == {"HA1": "op-rhein"}
    assert isinstance(read.state, OperationState) and read.state.hits["HA1"] == HIT


def test_routes_given_explicitly_win_and_new_inputs_are_untouched() -> None:
    state = driven_to("prepare").state.model_copy(update={"hits": {"HA1": HIT}})
    current = OperationInput(operation_id="op-a", state=state, routes={"HA1": "op-elbe"})
    assert OperationInput.model_validate(current.model_dump(mode="json")) == current
    legacy = current.model_dump(mode="json")
    legacy["state"]["hits"]["HA1"]["other_operation_id"] = "op-old"
    assert OperationInput.model_validate(legacy).routes == {"HA1": "op-elbe"}


def test_a_signal_of_the_bare_hit_is_read_as_a_notice_from_its_sender() -> None:
    legacy = HIT.model_dump(mode="json") | {"other_operation_id": "op-rhein"}
    assert HitNotice.model_validate(legacy) == HitNotice(hit=HIT, from_operation_id="op-rhein")
    notice = HitNotice(hit=HIT, from_operation_id="op-elbe")
    assert HitNotice.model_validate(notice.model_dump(mode="json")) == notice
