"""Blocking store work run in a thread while the activity heartbeats.

A worker that dies mid-activity stops heartbeating, so Temporal hands the activity to another worker
after the heartbeat timeout (seconds) instead of its whole start-to-close timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from temporalio import activity

P = ParamSpec("P")
T = TypeVar("T")
HEARTBEAT_EVERY = 1.0  # seconds; the workflow's heartbeat timeout is a few of these


async def in_thread_heartbeating(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
    while True:
        done, _ = await asyncio.wait({work}, timeout=HEARTBEAT_EVERY)
        if done:
            return work.result()
        if not activity.info().is_local:  # a local activity has no heartbeat of its own
            activity.heartbeat()
