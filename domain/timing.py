"""Durations the workflow waits for; configurable so tests can run them in seconds."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict


class Timing(BaseModel):
    model_config = ConfigDict(frozen=True)

    reminder_before_due: timedelta = timedelta(days=1)
    escalate_after_due: timedelta = timedelta(0)
    results_grace_after_action_day: timedelta = timedelta(days=2)
    release_answer_within: timedelta = timedelta(days=3)
