"""The audit append: idempotent by event id, hash-chained per operation; returns the new chain head."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import in_thread_heartbeating
from domain.audit import AuditRecord, ChainHead
from store.audit_log import AuditLog, ChainConflict
from store.notifications import Notifications
from store.projections import Projector
from workflows.messages import AppendRequest, NotificationRequest

log = structlog.get_logger(__name__)


class StoreActivities:
    def __init__(self, audit_log: AuditLog, notifications: Notifications, projector: Projector | None = None) -> None:
        self._audit_log = audit_log
        self._notifications = notifications
        self._projector = projector

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendRequest) -> ChainHead:
        info = activity.info()
        bound = log.bind(operation_id=request.stream_id, workflow_id=info.workflow_id,
                         actor=request.records[0].actor_id if request.records else None)
        try:
            head = await in_thread_heartbeating(self._audit_log.append, request.stream_id, request.records,
                                                request.expected_head)
        except ChainConflict as conflict:
            bound.error("audit_append_conflict", error=str(conflict))
            raise ApplicationError(str(conflict), type="ChainConflict", non_retryable=True) from None
        bound.info("audit_appended", events=[r.type for r in request.records], seq=head.seq)
        await self._project(request.stream_id, bound)
        return head

    async def _project(self, stream_id: str, bound: structlog.typing.FilteringBoundLogger) -> None:
        """Bring the read models up to the append, so the command's reply is readable there. Best effort:
        the append is the record, and the next catch-up (or the worker's at start) projects what this missed."""
        if self._projector is None:
            return
        try:
            await in_thread_heartbeating(self._projector.catch_up, stream_id)
        except Exception as error:
            bound.warning("projection_behind", error=str(error), exc_info=True)

    @activity.defn(name="stored_tail")
    async def stored_tail(self, request: AppendRequest) -> list[AuditRecord]:
        """The events stored past the workflow's head, provided they continue its chain."""
        try:
            records = await in_thread_heartbeating(self._audit_log.read_after, request.stream_id,
                                                   request.expected_head)
        except ChainConflict as conflict:  # the tail is not this chain's: nothing to adopt, and no retry mends it
            log.error("audit_tail_conflict", operation_id=request.stream_id, error=str(conflict))
            raise ApplicationError(str(conflict), type="ChainConflict", non_retryable=True) from None
        log.warning("audit_tail_read", operation_id=request.stream_id, after=request.expected_head.seq,
                    events=len(records))
        return records

    @activity.defn(name="notify")
    async def notify(self, request: NotificationRequest) -> bool:
        created = await in_thread_heartbeating(
            self._notifications.record, request.notification_id, request.operation_id, request.kind,
            request.recipient_role, request.recipient_state, request.message, datetime.now(UTC))
        log.info("notification", operation_id=request.operation_id, kind=request.kind,
                 recipient_role=request.recipient_role, recipient_state=request.recipient_state,
                 new=created, message=request.message)
        return created
