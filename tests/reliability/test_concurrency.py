"""Many commands at once on one operation: more than Temporal's 10 updates in flight per workflow."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from gateway.operations import OperationsGateway
from store.audit_log import AuditLog
from tests.reliability.commands import add_intel, add_target, approve, open_in_prepare, plan, tracked
from tests.reliability.conftest import TASK_QUEUE, running_system
from tests.reliability.harness import Tally, check_operation


@pytest.mark.parametrize("concurrent", [10, 30, 100])
async def test_concurrent_commands_are_recorded_exactly_once(concurrent: int, tmp_path: Path, tally: Tally) -> None:
    async with running_system(tmp_path) as system:
        operation_id = f"op-many-{concurrent}-{uuid.uuid4().hex[:6]}"
        await open_in_prepare(system.gateway, operation_id)
        single = await plan(system.gateway, operation_id)
        four_eyes = await plan(system.gateway, operation_id, four_eyes=True)
        tally.operations = 1
        makers = []
        for n in range(concurrent):
            match n % 6:
                case 0 | 1:
                    makers.append(("target", add_target(n)))
                case 2 | 3:
                    makers.append(("intel", add_intel(n)))
                case 4:
                    makers.append((f"approve {single}", approve(single, n)))
                case _:
                    makers.append((f"approve {four_eyes}", approve(four_eyes, n)))
        # Four client processes' worth of gateways, each keeping its own few in flight: together past
        # Temporal's ten, so the in-flight limit is met and retried with back-off.
        gateways = [OperationsGateway(system.client, TASK_QUEUE, AuditLog(system.engine)) for _ in range(4)]
        sent = await asyncio.gather(*(tracked(gateways[n % 4], operation_id, what, make)
                                      for n, (what, make) in enumerate(makers)))
        tally.sent.extend(sent)
        by_kind: dict[str, list[str]] = {}
        for (what, _), outcome in zip(makers, sent, strict=True):
            by_kind.setdefault(what.split(" ")[0] if what in ("target", "intel") else what, []).append(outcome.outcome)
        assert set(by_kind["target"]) == {"accepted"} and set(by_kind["intel"]) == {"accepted"}, by_kind
        assert by_kind[f"approve {single}"].count("accepted") == 1, by_kind  # competing: one wins
        if len(by_kind.get(f"approve {four_eyes}", [])) >= 2:
            assert by_kind[f"approve {four_eyes}"].count("accepted") == 2, by_kind  # four eyes: two sign
        assert all(s.reason for s in sent if s.outcome == "refused")
        await check_operation(system.client, system.engine, operation_id, list(sent), tally)
        tally.completed = 1
