"""A deconfliction pre-check: a batch of targets against the index, storing nothing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from domain.deconfliction.entries import IndexEntry, entries_for_target
from domain.errors import DomainError
from domain.model import HandlingCode, Target
from services.views import Precheck, PrecheckHit, PrecheckRefusal
from store.contacts import UNKNOWN, Contacts
from store.index import DeconflictionIndex


def precheck(engine: Engine, index: DeconflictionIndex, targets: Sequence[Target], default_state: str) -> Precheck:
    """Hits of each target on the live entries of every operation; a target that cannot be read (an
    invalid phone, an IBAN whose checksum fails) is refused with the reason and the rest still checked."""
    entries: list[IndexEntry] = []
    refused: list[PrecheckRefusal] = []
    for number, target in enumerate(targets, start=1):
        try:
            entries += entries_for_target(target.model_copy(update={"target_id": str(number)}),
                                          target.contributed_by or default_state)
        except DomainError as error:
            refused.append(PrecheckRefusal(target=number, name=target.name, reason=error.message))
    hits = index.check(entries)
    contacts = Contacts(engine).of({h.operation_id for h in hits})
    found = []
    for hit in hits:
        contact, code = contacts.get(hit.operation_id, UNKNOWN)
        number = int(hit.ref)
        found.append(PrecheckHit(target=number, name=targets[number - 1].name, kind=hit.kind.value,
                                 matched=hit.matched, other_state=hit.member_state, other_contact=contact,
                                 other_handling_code=HandlingCode.strictest(code, hit.other_handling_code)))
    return Precheck(checked=len(targets) - len(refused), hits=sorted(found, key=lambda h: h.target),
                    refused=refused)
