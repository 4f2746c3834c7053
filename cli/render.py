"""Rich renderings of operations, tasks and timelines."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from domain.model import Intelligence, Results, Task
from services.views import ApiToken, Created, OperationSummary, PendingTaskView, Principal, SecurityEntry, TimelineEntry

if TYPE_CHECKING:
    from domain.state import OperationState


def text(value: object) -> str:
    """User text for a markup string: shown as typed, never read as Rich markup."""
    return escape(str(value))


def texts(*values: object) -> list[Text]:
    """Table cells of user text: shown as typed."""
    return [Text(str(value)) for value in values]


def _when(moment: object) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if hasattr(moment, "strftime") else "-"


def tasks_table(tasks: list[Task], title: str = "Tasks") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("task", "state", "kind", "description", "due (UTC)", "4-eyes", "status", "approvals"):
        table.add_column(column)
    for t in tasks:
        table.add_row(*texts(t.task_id, t.member_state, t.kind.value, t.description, _when(t.due),
                             "yes" if t.four_eyes else "", t.status.value
                             + (f" ({t.rejection_reason})" if t.rejection_reason else ""),
                             ", ".join(t.approvals)))
    return table


def inbox_table(inbox: list[PendingTaskView], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("operation", "task", "state", "kind", "description", "due (UTC)", "4-eyes", "approvals"):
        table.add_column(column)
    for t in inbox:
        due = _when(t.due) + (" (escalated)" if t.escalated else " (reminded)" if t.reminded else "")
        table.add_row(*texts(t.operation_id, t.task_id, t.member_state, t.kind, t.description, due,
                             "yes" if t.four_eyes else "", f"{len(t.approvals)}/{t.approvals_needed}"))
    if not inbox:
        table.caption = "nothing awaits approval"
    return table


def results_table(state: OperationState) -> Table:
    table = Table(title="Results", title_justify="left")
    for column in ("day", "state", "arrests", "searches", "seizures", "assets frozen (EUR)", "victims safeguarded"):
        table.add_column(column, justify="right")

    def row(day: str, label: str, r: Results) -> None:
        table.add_row(day, label, str(r.arrests), str(r.searches), str(r.seizures),
                      f"{r.assets_frozen_eur:,.2f}", str(r.victims_safeguarded))

    for day_id, per_state in sorted(state.results.items()):
        for code, results in per_state.items():
            row(day_id, code, results)
    for code, results in state.totals_by_state.items():
        row("all days", code, results)
    if state.totals is not None:
        row("", "TOTAL", state.totals)
    return table


def action_days_table(state: OperationState) -> Table:
    table = Table(title="Action days", title_justify="left")
    for column in ("day", "start (UTC)", "end (UTC)", "places", "states", "status"):
        table.add_column(column)
    for d in state.days():
        status = d.status.value + (f" ({d.cancelled_reason})" if d.cancelled_reason else "")
        status += f", no results from {', '.join(d.missing_states)}" if d.missing_states else ""
        table.add_row(*texts(d.action_day_id, _when(d.start), _when(d.end),
                             "; ".join(f"{p.name} ({p.country})" for p in d.places), ", ".join(d.member_states),
                             status))
    return table


def intelligence_table(items: list[Intelligence], title: str = "Intelligence") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("item", "from", "handling", "evaluation", "linked targets", "identifiers", "released to",
                   "summary"):
        table.add_column(column, overflow="fold")
    for i in items:
        handling = i.handling_code.value + (f" ({i.handling_restriction})" if i.handling_restriction else "")
        named = ", ".join(f"{n.kind.value} {n.value}" + (f" ({n.country})" if n.country else "") for n in i.identifiers)
        table.add_row(*texts(i.item_id, i.contributed_by, handling, i.evaluation, ", ".join(i.linked_targets), named,
                             ", ".join(i.released_to), i.summary))
    return table


def targets_table(state: OperationState) -> Table:
    """The targets the reader may see (a withheld one is not in the state it is given)."""
    table = Table(title="Targets", title_justify="left")
    for column in ("target", "kind", "name", "born", "from", "handling", "identifiers"):
        table.add_column(column, overflow="fold")
    for t in state.targets:
        named = ", ".join(f"{n.kind.value} {n.value}" for n in t.identifiers)
        table.add_row(*texts(t.target_id, t.kind.value, t.name, t.date_of_birth or "", t.contributed_by,
                             t.handling_code.value, named))
    return table


def hits_table(state: OperationState) -> Table:
    table = Table(title="Deconfliction hits", title_justify="left")
    for column in ("hit", "ours", "matched", "other state", "point of contact", "handling", "resolution"):
        table.add_column(column, overflow="fold")
    for h in state.hits.values():
        resolution = (Text(f"{h.resolution.value} by {h.resolved_by}") if h.resolution
                      else Text("open: blocks execution", style="red"))
        table.add_row(*texts(h.hit_id, h.own_ref, f"{h.kind}: {h.matched}", h.other_state, h.other_contact,
                             h.other_handling_code.value), resolution)
    return table


def operation_panel(state: OperationState) -> Group:
    lines = [
        f"[bold]{text(state.code_name)}[/] ({text(state.operation_id)})  "
        f"phase [bold]{state.phase.value.upper() if state.phase else '-'}[/]"
        + ("  [yellow]PARKED[/]" if state.parked else ""),
        f"lead {state.lead_state}; states {', '.join(state.participating_states)}"
        + (f"; partners {', '.join(state.partners)}" if state.partners else ""),
        f"crime areas {', '.join(a.value for a in state.crime_areas)}; handling {state.handling_code.value}",
        f"networks {len(state.networks)}, targets {len(state.targets)}, intelligence items {len(state.intelligence)}",
    ]
    if state.computed_priority is not None:
        p = state.computed_priority
        lines.append(f"priority computed {p.score} (impact {p.impact}, capability {p.capability}, "
                     f"confidence {p.confidence.value}, threshold {p.threshold})"
                     + (f"; decided {state.priority}" + (" (override)" if state.priority_overridden else "")
                        if state.priority is not None else ""))
    if state.execution_blocked_reasons:
        lines.append("[red]execution blocked:[/] " + text("; ".join(state.execution_blocked_reasons)))
    if state.cancelled_reason:
        lines.append(f"[red]cancelled:[/] {text(state.cancelled_reason)}")
    if state.missing_states:
        lines.append(f"[yellow]no results from:[/] {', '.join(state.missing_states)}")
    parts: list[object] = [Panel("\n".join(lines), title="Operation", title_align="left")]
    if state.targets:
        parts.append(targets_table(state))
    if state.hits:
        parts.append(hits_table(state))
    if state.tasks:
        parts.append(tasks_table(list(state.tasks.values())))
    if state.action_days:
        parts.append(action_days_table(state))
    if state.results or state.totals:
        parts.append(results_table(state))
    return Group(*parts)  # type: ignore[arg-type]


def priority_table(state: OperationState) -> Table:
    table = Table(title="Priority breakdown", title_justify="left")
    for column in ("criterion", "group", "grade", "weight"):
        table.add_column(column)
    assert state.computed_priority is not None
    for row in state.computed_priority.breakdown:
        table.add_row(row.label, row.group, str(row.grade), f"{row.weight:g}")
    return table


def timeline_table(entries: list[TimelineEntry], title: str = "Timeline") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("#", "when (UTC)", "event", "who", "role", "state", "justification", "details"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(*texts(e.seq, _when(e.at), e.type, e.actor, e.role, e.member_state or "",
                             e.justification, e.summary))
    return table


def operations_table(rows: list[OperationSummary], now: datetime) -> Table:
    table = Table(title="Operations", title_justify="left")
    for column in ("operation", "code name", "phase", "lead", "states", "partners", "priority", "parked",
                   "blocked", "open hits", "pending tasks"):
        table.add_column(column, overflow="fold")
    for r in rows:
        pending = str(r.pending_tasks) + (" (overdue)" if r.overdue(now) else "") if r.pending_tasks else ""
        table.add_row(*texts(r.operation_id, r.code_name, r.phase.value, r.lead_state, ",".join(r.member_states),
                             ",".join(r.partners), "" if r.priority is None else f"{r.priority:g}",
                             "yes" if r.parked else "", "yes" if r.blocked else "", r.open_hits or "", pending))
    if not rows:
        table.caption = "no operation you may read matches"
    return table


CREATED_LABELS = {"target": "target", "intelligence_item": "item", "task": "task", "action_day": "action day"}


def created(made: list[Created]) -> str:
    """What a command made, for the next command to name: ' -> task TK1'."""
    return "".join(f" -> {CREATED_LABELS.get(m.kind, m.kind)} [bold]{text(m.id)}[/]" for m in made)


def who(principal: Principal) -> str:
    """As the services describe an actor: lo-bg (liaison_officer of BG)."""
    state = f" of {principal.member_state}" if principal.member_state else ""
    return f"{principal.id} ({principal.role}{state})"


def principals_table(principals: list[Principal]) -> Table:
    table = Table(title="Principals", title_justify="left")
    for column in ("id", "name", "role", "state", "one-time code", "status"):
        table.add_column(column, overflow="fold")
    for p in principals:
        table.add_row(*texts(p.id, p.display_name, p.role, p.member_state or "", "enrolled" if p.one_time_code else "",
                             "disabled" if p.disabled else "active"))
    return table


def tokens_table(tokens: list[ApiToken], now: datetime) -> Table:
    table = Table(title="API tokens", title_justify="left")
    for column in ("token", "principal", "name", "created (UTC)", "expires (UTC)", "last used (UTC)", "from",
                   "status"):
        table.add_column(column, overflow="fold")
    for t in tokens:
        status = "revoked" if t.revoked_at else "expired" if t.expires_at <= now else "active"
        table.add_row(*texts(t.id, t.principal_id, t.name, _when(t.created_at), _when(t.expires_at),
                             _when(t.last_used_at), t.last_address or "", status))
    if not tokens:
        table.caption = "no tokens"
    return table


def security_table(entries: list[SecurityEntry]) -> Table:
    table = Table(title="Security log", title_justify="left")
    for column in ("when (UTC)", "kind", "who", "role", "state", "from", "operation", "action", "detail"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(*texts(_when(e.at), e.kind, e.principal_id or "", e.role or "", e.member_state or "",
                             e.address or "", e.operation_id or "", e.action or "", e.detail))
    if not entries:
        table.caption = "nothing recorded matches"
    return table
