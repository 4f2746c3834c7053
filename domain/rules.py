"""Authorisation rules: which role, of which member state, may issue which command; and the rules version."""

from __future__ import annotations

from enum import StrEnum

from domain import commands as cmd
from domain.actors import Actor, Role
from domain.errors import NotAuthorised
from domain.registry import Unregistered, entry
from domain.state import OperationState


class RulesVersion(StrEnum):
    """The rules a command is decided by. A rule change adds a version beside the old one; the workflow
    chooses one per run (behind workflow.patched), so a recorded history replays under its own rules."""

    V1 = "v1"
    # Operational partners take no operational task, and never approve: the release of a partner's item
    # is answered by a member state (domain/decider.py, "rules v2").
    V2 = "v2"


# What a caller outside a workflow (a pre-check of a new operation) decides by: what a new run would choose.
LATEST_RULES = RulesVersion.V2

_COORDINATOR = (Role.COORDINATOR,)
_CONTRIBUTORS = (Role.COORDINATOR, Role.LIAISON_OFFICER)
_SYSTEM = (Role.SYSTEM,)

# The roles that may issue each command; member-state checks live with each command's decider.
# Commands of the system role are the workflow's own (timers, deconfliction): no person issues them.
ROLES: dict[type[cmd.CommandBase], tuple[Role, ...]] = {
    cmd.OpenOperation: _COORDINATOR,
    cmd.AddTarget: _CONTRIBUTORS,
    cmd.AddIntelligence: _CONTRIBUTORS,
    cmd.SubmitForPrioritisation: _COORDINATOR,
    cmd.DecidePriority: _COORDINATOR,
    cmd.PlanTask: _COORDINATOR,
    cmd.ApproveTask: (Role.APPROVER,),
    cmd.RejectTask: (Role.APPROVER,),
    cmd.ReplanTask: _COORDINATOR,
    cmd.DropTask: _COORDINATOR,
    cmd.ScheduleActionDay: _COORDINATOR,
    cmd.CancelActionDay: _COORDINATOR,
    cmd.ReportResults: (Role.LIAISON_OFFICER,),
    cmd.RequestRelease: _CONTRIBUTORS,
    cmd.InvitePartner: _COORDINATOR,
    cmd.CancelOperation: _COORDINATOR,
    cmd.ResolveHit: (Role.LIAISON_OFFICER,),
    cmd.RemindApproval: _SYSTEM,
    cmd.EscalateApproval: _SYSTEM,
    cmd.StartActionDay: _SYSTEM,
    cmd.FinishActionDay: _SYSTEM,
    cmd.RecordHit: _SYSTEM,
    cmd.RecordHitResolution: _SYSTEM,
}


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


def roles_for(command_type: type[cmd.CommandBase]) -> tuple[Role, ...]:
    """The roles that may issue a command type; Unregistered when ROLES lacks it."""
    return entry(ROLES, command_type, "ROLES (domain/rules.py)")


def authorise(actor: Actor, command: cmd.Command) -> None:
    """The role check common to every command; member-state checks live with each command."""
    try:
        roles = roles_for(type(command))
    except Unregistered:
        # Refused, not failed: an unlisted command must never be allowed by default.
        raise NotAuthorised(f"unknown command {command.kind!r}") from None
    require_role(actor, command.kind, *roles)
