"""Authorisation rules: which role, of which member state, may issue which command."""

from __future__ import annotations

from domain.actors import Actor, Role
from domain.errors import NotAuthorised
from domain.state import OperationState

COORDINATOR_ONLY = frozenset({
    "open_operation", "submit_for_prioritisation", "decide_priority", "plan_task", "replan_task",
    "drop_task", "schedule_action_day", "cancel_action_day", "cancel_operation", "invite_partner",
})
SYSTEM_ONLY = frozenset({"remind_approval", "escalate_approval", "start_action_day", "finish_action_day",
                         "record_hit", "record_hit_resolution"})


def require_role(actor: Actor, command_kind: str, *roles: Role) -> None:
    if actor.role not in roles:
        allowed = " or ".join(r.value.replace("_", " ") for r in roles)
        article = "an" if allowed[:1] in "aeiou" else "a"
        raise NotAuthorised(f"{actor.describe()} may not {command_kind.replace('_', ' ')}: "
                            f"only {article} {allowed} may.")


def require_state_of(actor: Actor, member_state: str, what: str) -> None:
    if actor.member_state != member_state:
        raise NotAuthorised(f"{actor.describe()} may not {what}: it belongs to {member_state}, "
                            f"and only {member_state}'s own officers may act on it.")


def require_participant(actor: Actor, state: OperationState, what: str) -> None:
    if actor.member_state not in (*state.participating_states, *state.partners):
        raise NotAuthorised(f"{actor.describe()} may not {what}: {actor.member_state} does not take "
                            f"part in operation {state.operation_id}.")


def authorise(actor: Actor, command_kind: str) -> None:
    """The role check common to every command; member-state checks live with each command."""
    if command_kind in SYSTEM_ONLY:
        require_role(actor, command_kind, Role.SYSTEM)
    elif command_kind in COORDINATOR_ONLY:
        require_role(actor, command_kind, Role.COORDINATOR)
    elif command_kind in ("add_target", "add_intelligence", "request_release"):
        require_role(actor, command_kind, Role.COORDINATOR, Role.LIAISON_OFFICER)
    elif command_kind in ("approve_task", "reject_task"):
        require_role(actor, command_kind, Role.APPROVER)
    elif command_kind in ("report_results", "resolve_hit"):
        require_role(actor, command_kind, Role.LIAISON_OFFICER)
    else:
        raise NotAuthorised(f"unknown command {command_kind!r}")
