"""One line of plain language per event, for timelines."""

from __future__ import annotations

from domain import events as ev
from domain.model import Results


def _results(r: Results) -> str:
    return (f"{r.arrests} arrests, {r.searches} searches, {r.seizures} seizures, "
            f"EUR {r.assets_frozen_eur:,.2f} frozen, {r.victims_safeguarded} victims safeguarded")


def _with_step_up(step_up: bool) -> str:
    return " (with step-up)" if step_up else ""


def describe(event: ev.Event) -> str:
    match event:
        case ev.OperationOpened(spec=s):
            return (f"{s.code_name} opened, lead {s.lead_state}, states {', '.join(s.participating_states)}"
                    + (f", partners {', '.join(s.partners)}" if s.partners else "")
                    + f"; {len(s.networks)} networks, {len(s.targets)} targets")
        case ev.TargetAdded(target=t):
            return f"{t.target_id} {t.name} ({t.kind.value}) from {t.contributed_by}, {t.handling_code.value}"
        case ev.IntelligenceAdded(item=i):
            return f"{i.item_id} from {i.contributed_by}, {i.handling_code.value} {i.evaluation}"
        case ev.PrioritisationSubmitted(computed=c):
            return f"computed priority {c.score} (threshold {c.threshold}, confidence {c.confidence.value})"
        case ev.PriorityDecided(score=score, overridden=overridden, computed_score=computed):
            return f"priority {score}" + (f" (override of {computed})" if overridden else " (confirmed)")
        case ev.OperationParked(score=score, threshold=threshold):
            return f"parked: {score} is below the threshold {threshold}"
        case ev.PhaseAdvanced(from_phase=a, to_phase=b):
            return f"{a.value.upper()} → {b.value.upper()}"
        case ev.TaskPlanned(task=t) | ev.TaskReplanned(task=t):
            return (f"{t.task_id} {t.kind.value} for {t.member_state}, due {t.due:%Y-%m-%d %H:%M}"
                    + (", four-eyes" if t.four_eyes else "") + f": {t.description}")
        case ev.TaskApprovalGiven(task_id=task_id, approver=who, step_up=step_up):
            return f"{task_id} approved by {who}" + _with_step_up(step_up)
        case ev.TaskApproved(task_id=task_id, step_up=step_up):
            return f"{task_id} fully approved" + _with_step_up(step_up)
        case ev.TaskRejected(task_id=task_id, approver=who, step_up=step_up):
            return f"{task_id} rejected by {who}" + _with_step_up(step_up)
        case ev.TaskDropped(task_id=task_id):
            return f"{task_id} dropped"
        case ev.ApprovalReminded(task_id=task_id, member_state=state):
            return f"{state} reminded of {task_id}"
        case ev.ApprovalEscalated(task_id=task_id, member_state=state):
            return f"{task_id} of {state} overdue, escalated to the coordinator"
        case ev.ActionDayScheduled(action_day=d):
            return (f"{d.action_day_id} {d.start:%Y-%m-%d %H:%M} → {d.end:%Y-%m-%d %H:%M} at "
                    + "; ".join(f"{p.name} ({p.country})" for p in d.places))
        case ev.ExecutionBlocked(reasons=reasons):
            return "blocked: " + "; ".join(reasons)
        case ev.ActionDayCancelled(action_day_id=day_id):
            return f"{day_id} cancelled"
        case ev.ActionDayFinished(action_day_id=day_id, totals=totals, missing_states=missing):
            return f"{day_id} finished: " + _results(totals) + (f"; missing {', '.join(missing)}" if missing else "")
        case ev.ItemReleased(item_id=item_id, to_state=to_state):
            return f"{item_id} released to {to_state}"
        case ev.DeconflictionHitRaised(hit=h):
            return (f"hit {h.hit_id}: {h.own_ref} matches {h.other_state}'s {h.kind} ({h.matched}); contact "
                    f"{h.other_contact}, {h.other_handling_code.value}")
        case ev.DeconflictionHitResolved(hit_id=hit_id, resolution=resolution, resolved_by=who):
            return f"hit {hit_id} resolved: {resolution.value} by {who}"
        case ev.PartnerInvited(partner=code):
            return f"partner {code} invited"
        case ev.ExecutionStarted(member_states=states):
            return f"action day started for {', '.join(states)}"
        case ev.ResultsReported(member_state=state, results=r, action_day_id=day_id):
            return f"{day_id} {state}: {_results(r)}"
        case ev.OperationClosed(totals=totals, missing_states=missing):
            return "totals: " + _results(totals) + (f"; missing {', '.join(missing)}" if missing else "")
        case ev.OperationCancelled(phase=phase):
            return f"cancelled in {phase.value.upper()}"
    return event.type
