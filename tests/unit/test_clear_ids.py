"""What Temporal keeps in clear (the operation id is the workflow id, the code name a search attribute)
names no target: an opening whose id or code name contains a target's name or identifier is refused."""

from __future__ import annotations

import pytest

from domain import commands as cmd
from domain.errors import InvalidInput
from domain.state import OperationState
from tests.unit.builders import COORDINATOR, T0, decided, spec, stamped

TARGETS = [
    {"name": "Иван Петров", "date_of_birth": "1985-03-07", "aliases": ["Vanko"],
     "identifiers": [{"kind": "phone", "value": "0888 123 456", "country": "BG"},
                     {"kind": "iban", "value": "BG80 BNBG 9661 1020 3456 78"}]},
    {"name": "Ιωάννης Παπαδόπουλος", "date_of_birth": "1979"},
]


def opening(operation_id: str, code_name: str = "NORTHWIND") -> cmd.OpenOperation:
    return stamped(cmd.OpenOperation(actor=COORDINATOR, operation_id=operation_id,
                                     spec=spec(targets=TARGETS, code_name=code_name, networks=[])), T0)


@pytest.mark.parametrize(("operation_id", "found"), [
    ("op-petrov", "the name of target TG1"),                # a Cyrillic name, written in Latin
    ("op-Петров-2030", "the name of target TG1"),
    ("OP_VANKO", "the name of target TG1"),                 # an alias
    ("op-papadopoulos", "the name of target TG2"),          # Greek, romanised
    ("op-0888123456", "an identifier (phone) of target TG1"),
    ("op-888-123-456", "an identifier (phone) of target TG1"),
    ("case-bg80bnbg96611020345678", "an identifier (iban) of target TG1"),
])
def test_an_operation_id_naming_a_target_is_refused(operation_id: str, found: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        decided(OperationState(), opening(operation_id))
    assert refusal.value.field == "operation_id" and refusal.value.value == operation_id
    assert f"contains {found}; Temporal keeps the operation_id in clear" in refusal.value.message
    assert "Петров" not in refusal.value.message.replace(operation_id, "")  # the refusal repeats no name


def test_a_code_name_naming_a_target_is_refused() -> None:
    with pytest.raises(InvalidInput, match="code_name: 'PAPADOPOULOS' contains the name of target TG2"):
        decided(OperationState(), opening("op-northwind", code_name="PAPADOPOULOS"))


@pytest.mark.parametrize("operation_id", ["op-northwind", "op-2030-0001", "op-ivo", "op-test-0f3a9c"])
def test_ids_that_name_no_target_open(operation_id: str) -> None:
    [opened] = decided(OperationState(), opening(operation_id))
    assert opened.type == "operation_opened"
