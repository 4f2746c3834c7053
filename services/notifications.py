"""Notifications a principal was sent: what is addressed to its role (and its member state)."""

from __future__ import annotations

import asyncio

from domain.actors import Actor
from services.consultations import ConsultationService
from services.views import NotificationView
from store.notifications import Notifications


class NotificationService:
    def __init__(self, notifications: Notifications, consultations: ConsultationService) -> None:
        self._notifications = notifications
        self._consultations = consultations

    async def inbox(self, actor: Actor, purpose: str | None) -> list[NotificationView]:
        """Newest first. A notice names an operation and what happened in it, so reading them is logged
        against each operation shown."""
        async def read() -> list[NotificationView]:
            rows = await asyncio.to_thread(self._notifications.for_recipient, actor.role.value, actor.member_state)
            return [NotificationView.model_validate(row) for row in rows]

        return await self._consultations.reading(actor, purpose, "notifications", [], read,
                                                 served=lambda shown: sorted({n.operation_id for n in shown}))
