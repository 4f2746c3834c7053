"""Who may see an intelligence item: it follows from its handling code and the viewer's state.

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


def is_visible_to_state(item: Intelligence, code: str | None, state: OperationState) -> bool:
    if code is None:
        return False
    if code == item.contributed_by or code in item.released_to:
        return True
    return code in state.participating_states and item.handling_code in OPEN_TO_MEMBER_STATES


def can_see(item: Intelligence, viewer: Actor, state: OperationState) -> bool:
    if viewer.role in (Role.COORDINATOR, Role.AUDITOR, Role.SYSTEM):
        return True
    return is_visible_to_state(item, viewer.member_state, state)


def visible_items(viewer: Actor, state: OperationState) -> list[Intelligence]:
    return [item for item in state.intelligence if can_see(item, viewer, state)]


def require_visible(item: Intelligence, viewer: Actor, state: OperationState) -> Intelligence:
    if not can_see(item, viewer, state):
        raise NotAuthorised(f"{viewer.describe()} may not read {item.item_id}: it is {item.handling_code.value} from "
                            f"{item.contributed_by} and not released to {viewer.member_state}; request its release")
    return item
