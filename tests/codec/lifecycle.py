"""An operation full of personal data driven through its whole lifecycle, and the search for any of that
data (in clear or base64) in what Temporal shows or stores."""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass

from stdnum import iban

from domain import commands as cmd
from domain.model import Intelligence, OperationSpec, Phase, Place, Results, TaskKind
from domain.state import OperationState
from gateway.operations import OperationsGateway
from tests.workflows.scenario import ASSESSMENT, COORDINATOR, Scenario, approver, later, officer, wait_for

# The same two names in every operation here: a year of birth of their own keeps them apart in the index.
_BIRTH_YEARS = itertools.count(1901)


@dataclass(frozen=True)
class PersonalData:
    latin_name: str
    cyrillic_name: str
    iban: str  # as written, in groups of four
    phone: str  # as written, national
    place: Place

    @property
    def strings(self) -> list[str]:
        """Every form the data could take on its way: as written, normalised, romanised, by part."""
        compact_iban = self.iban.replace(" ", "")
        e164 = "+359" + self.phone.replace(" ", "")[1:]
        parts = [*self.latin_name.split(), *self.cyrillic_name.split()]
        return [self.latin_name, self.cyrillic_name, self.latin_name.upper(), self.cyrillic_name.upper(),
                self.latin_name.lower(), "svetoslav draganov", *parts, self.iban, compact_iban, e164, self.phone,
                self.phone.replace(" ", ""), self.place.name]


def personal_data() -> PersonalData:
    """Names, an account and a phone no other operation of the session has (the index is shared)."""
    n = random.randrange(10**6, 10**7)
    account = f"BG00BNBG9661{n:07d}{random.randrange(1000):03d}"[:22]
    written = iban.calc_check_digits(account)
    number = f"BG{written}{account[4:]}"
    return PersonalData(latin_name="Radoslav Zlatkov", cyrillic_name="Светослав Драганов",
                        iban=" ".join(number[i:i + 4] for i in range(0, len(number), 4)),
                        phone=f"088 {n // 10000:03d} {n % 10000:04d}",
                        place=Place(name=f"Kyustendil Zlatkov yard {n}", country="BG",
                                    latitude=10 + (n % 1000) * 0.01, longitude=-(n % 997) * 0.05))


def spec_of(data: PersonalData, birth_year: int) -> OperationSpec:
    return OperationSpec.model_validate({
        "code_name": "EMBER", "lead_state": "BG", "participating_states": ["EL"],
        "crime_areas": ["migrant_smuggling"], "handling_code": "H1",
        "targets": [
            {"name": data.latin_name, "date_of_birth": f"{birth_year}-11-23", "contributed_by": "BG",
             "identifiers": [{"kind": "phone", "value": data.phone, "country": "BG"}]},
            {"name": data.cyrillic_name, "date_of_birth": f"{birth_year}-10-29", "contributed_by": "BG",
             "identifiers": [{"kind": "iban", "value": data.iban}]},
        ]})


async def full_lifecycle(gateway: OperationsGateway, operation_id: str, data: PersonalData) -> OperationState:
    op = Scenario(gateway, operation_id)
    op.spec, op.place = spec_of(data, next(_BIRTH_YEARS)), data.place
    await op.open()
    await op.send(cmd.AddIntelligence(actor=officer("BG"), item=Intelligence(
        summary=f"{data.cyrillic_name} pays the drivers; account {data.iban}", linked_targets=(data.cyrillic_name,))))
    await op.send(cmd.SubmitForPrioritisation(actor=COORDINATOR, assessment=ASSESSMENT))
    await op.send(cmd.DecidePriority(actor=COORDINATOR))
    await op.send(cmd.PlanTask(actor=COORDINATOR, member_state="BG", task_kind=TaskKind.ARREST,
                               description=f"arrest {data.latin_name} at {data.place.name}", due=later(3600)))
    await op.send(cmd.RejectTask(actor=approver("BG"), task_id="TK1",
                                 justification=f"the warrant names {data.cyrillic_name}, not {data.latin_name}"))
    await op.send(cmd.ReplanTask(actor=COORDINATOR, task_id="TK1", description=f"arrest {data.cyrillic_name}"))
    await op.send(cmd.ApproveTask(actor=approver("BG"), task_id="TK1"))
    await op.schedule(start_in=1.0)
    await wait_for(gateway, operation_id, lambda s: s.phase is Phase.EXECUTE)
    await op.report("BG", Results(arrests=2, searches=1))
    await op.report("EL", Results(searches=1))
    return await wait_for(gateway, operation_id, lambda s: s.phase is Phase.CLOSED)


def _base64_forms(data: bytes) -> list[bytes]:
    """The base64 text ``data`` leaves wherever it sits in a base64-encoded blob: at each of the three
    alignments, the characters that depend on ``data`` alone."""
    forms = []
    for skip in range(3):
        whole = data[skip:][: (len(data) - skip) // 3 * 3]
        if len(whole) >= 6:
            forms.append(base64.b64encode(whole))
    return forms


def forms_of(strings: Iterable[str]) -> dict[bytes, str]:
    """Each byte form a string could be found in -> the string: UTF-8, JSON-escaped, base64."""
    forms: dict[bytes, str] = {}
    for text in strings:
        for encoded in {text.encode(), json.dumps(text)[1:-1].encode()}:
            forms[encoded] = text
            forms.update(dict.fromkeys(_base64_forms(encoded), text))
    return forms


def found_in(blob: bytes, forms: dict[bytes, str]) -> set[str]:
    return {text for form, text in forms.items() if form in blob}


def decoded_base64_fields(document: object) -> bytes:
    """Every string of a JSON document that is base64, decoded, joined (payload data, in JSON output)."""
    found = []
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and len(value) >= 8:
            try:
                found.append(base64.b64decode(value, validate=True))
            except (binascii.Error, ValueError):
                continue
    return b"\n".join(found)
