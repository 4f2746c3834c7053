"""Who may read an operation, and who may see an intelligence item in it.

An operation is read by the task force's coordinators and auditors and by the states taking part
in it (lead, participating member states, invited partners); a hit tells another state only that
it collided, never the operation itself.

An intelligence item's (and a target's) visibility follows from its handling code and the viewer's state:

* The task force's coordinators and auditors see every item.
* The providing state always sees its own items, and a state the provider released an item to sees it.
* Other member states of the operation see H0 and H1 items (H1 limits judicial use, not reading);
  H2 (not to be passed on without permission) and H3 (other restrictions) need a release.
* Operational partners see only their own items and those released to them, whatever the code.

Targets follow the same rule (they are never released, so only the code and the provider count):
a target contributed under H2 or H3 is withheld from the other states, with what matched it in hits.
"""

from __future__ import annotations

from domain import events as ev
from domain.actors import Actor, Role
from domain.errors import NotAuthorised
from domain.model import HandlingCode, Intelligence, Target
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
        # An administrator, say: it manages principals, and acts for no state.
        why = f"{viewer.member_state} takes no part in it" if viewer.member_state else "it acts for no state"
        raise NotAuthorised(f"{viewer.describe()} may not read operation {state.operation_id}: {why} (only its "
                            "lead, participating states and invited partners, coordinators and auditors may)")
    return state


def is_visible_to_state(item: Intelligence | Target, code: str | None, state: OperationState) -> bool:
    if code is None:
        return False
    released_to = item.released_to if isinstance(item, Intelligence) else ()
    if code == item.contributed_by or code in released_to:
        return True
    return code in state.participating_states and item.handling_code in OPEN_TO_MEMBER_STATES


def can_see(item: Intelligence | Target, viewer: Actor, state: OperationState) -> bool:
    if viewer.role in READ_ANY_OPERATION:
        return True
    return is_visible_to_state(item, viewer.member_state, state)


def visible_targets(viewer: Actor, state: OperationState) -> list[Target]:
    return [target for target in state.targets if can_see(target, viewer, state)]


def withheld_refs(viewer: Actor, state: OperationState) -> set[str]:
    """Ids of the targets and items the viewer may not see."""
    return ({item.item_id for item in state.intelligence if not can_see(item, viewer, state)}
            | {t.target_id for t in state.targets if t.target_id and not can_see(t, viewer, state)})


def visible_items(viewer: Actor, state: OperationState) -> list[Intelligence]:
    return [item for item in state.intelligence if can_see(item, viewer, state)]


def require_visible(item: Intelligence, viewer: Actor, state: OperationState) -> Intelligence:
    if not can_see(item, viewer, state):
        raise NotAuthorised(f"{viewer.describe()} may not read {item.item_id}: it is {item.handling_code.value} from "
                            f"{item.contributed_by} and not released to {viewer.member_state}; request its release")
    return item


HIDDEN_MATCH = "an identifier in a target or intelligence item you may not see"


def hidden_matches(viewer: Actor, state: OperationState) -> list[str]:
    """What matched in hits on targets and items the viewer may not see: it is their content, and so are
    the names of withheld targets wherever a line mentions them."""
    hidden = withheld_refs(viewer, state)
    names = [t.name for t in state.targets if t.target_id in hidden and t.name]
    return [hit.matched for hit in state.hits.values() if hit.own_ref in hidden and hit.matched] + names


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
        "intelligence": tuple(visible_items(viewer, state)), "targets": tuple(visible_targets(viewer, state)),
        "hits": hits,
        "execution_blocked_reasons": tuple(redact(r, matches) for r in state.execution_blocked_reasons)})


def withheld_line(viewer: Actor, state: OperationState, event: ev.Event) -> str | None:
    """The line a timeline shows instead of an event that added a target or item the viewer may not see."""
    added: Intelligence | Target | None = (event.target if isinstance(event, ev.TargetAdded)
                                           else event.item if isinstance(event, ev.IntelligenceAdded) else None)
    if added is None:
        return None
    ref = added.target_id if isinstance(added, Target) else added.item_id
    if ref not in withheld_refs(viewer, state):
        return None
    return (f"{ref} withheld: {added.handling_code.value} from {added.contributed_by}, "
            f"not released to {viewer.member_state or 'you'}")
