"""Who may read an operation, and who may see an intelligence item in it.

An operation is read by the task force's coordinators and auditors and by the states taking part
in it (lead, participating member states, invited partners); a hit tells another state only that
it collided, never the operation itself.

An intelligence item's visibility follows from its handling code and the viewer's state:

* The task force's coordinators and auditors see every item.
* The providing state always sees its own items, and a state the provider released an item to sees it.
* Other member states of the operation see H0 and H1 items (H1 limits judicial use, not reading);
  H2 (not to be passed on without permission) and H3 (other restrictions) need a release.
* Operational partners see only their own items and those released to them, whatever the code.
"""

from __future__ import annotations

from domain.actors import Actor, Role
from domain.errors import NotAuthorised
from domain.model import HandlingCode, Intelligence
from domain.state import OperationState

OPEN_TO_MEMBER_STATES = (HandlingCode.H0, HandlingCode.H1)


READ_ANY_OPERATION = (Role.COORDINATOR, Role.AUDITOR, Role.SYSTEM)


def may_read(viewer: Actor, state: OperationState) -> bool:
    if viewer.role in READ_ANY_OPERATION:
        return True
    code = viewer.member_state
    return code is not None and (code == state.lead_state or code in state.participants)


def require_reader(viewer: Actor, state: OperationState) -> OperationState:
    if not may_read(viewer, state):
        raise NotAuthorised(f"{viewer.describe()} may not read operation {state.operation_id}: "
                            f"{viewer.member_state or 'no member state'} takes no part in it (only its lead, "
                            "participating states and invited partners, coordinators and auditors may)")
    return state


def is_visible_to_state(item: Intelligence, code: str | None, state: OperationState) -> bool:
    if code is None:
        return False
    if code == item.contributed_by or code in item.released_to:
        return True
    return code in state.participating_states and item.handling_code in OPEN_TO_MEMBER_STATES


def can_see(item: Intelligence, viewer: Actor, state: OperationState) -> bool:
    if viewer.role in READ_ANY_OPERATION:
        return True
    return is_visible_to_state(item, viewer.member_state, state)


def visible_items(viewer: Actor, state: OperationState) -> list[Intelligence]:
    return [item for item in state.intelligence if can_see(item, viewer, state)]


def require_visible(item: Intelligence, viewer: Actor, state: OperationState) -> Intelligence:
    if not can_see(item, viewer, state):
        raise NotAuthorised(f"{viewer.describe()} may not read {item.item_id}: it is {item.handling_code.value} from "
                            f"{item.contributed_by} and not released to {viewer.member_state}; request its release")
    return item


HIDDEN_MATCH = "an identifier in an intelligence item you may not see"


def hidden_matches(viewer: Actor, state: OperationState) -> list[str]:
    """What matched in hits on items the viewer may not see: the identifier is the item's content."""
    hidden = {item.item_id for item in state.intelligence if not can_see(item, viewer, state)}
    return [hit.matched for hit in state.hits.values() if hit.own_ref in hidden]


def redact(text: str, matches: list[str]) -> str:
    for matched in matches:
        text = text.replace(matched, HIDDEN_MATCH)
    return text


def as_seen_by(viewer: Actor, state: OperationState) -> OperationState:
    """The state as one viewer may read it: only the items it may see, and hits on items it may not see
    without what matched, here and in the blocking reasons."""
    matches = hidden_matches(viewer, state)
    hits = {hit_id: hit.model_copy(update={"matched": redact(hit.matched, matches)})
            for hit_id, hit in state.hits.items()}
    return state.model_copy(update={
        "intelligence": tuple(visible_items(viewer, state)), "hits": hits,
        "execution_blocked_reasons": tuple(redact(r, matches) for r in state.execution_blocked_reasons)})
