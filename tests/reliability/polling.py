"""A client that keeps reading operations while faults happen: through the product's read path (the
audit log) and, as a raw `temporal workflow query` would, straight from the workflow."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

from temporalio.client import Client

from gateway.operations import OperationsGateway


async def _poll(gateway: OperationsGateway, client: Client, operation_ids: Sequence[str], stop: asyncio.Event) -> int:
    reads = 0
    while not stop.is_set():
        for operation_id in operation_ids:
            with contextlib.suppress(Exception):  # unavailable while the store or server is down
                await gateway.state(operation_id)
            with contextlib.suppress(Exception):
                await client.get_workflow_handle(operation_id).query("state", rpc_timeout=_TIMEOUT)
            reads += 1
        await asyncio.sleep(0.2)
    return reads


@contextlib.asynccontextmanager
async def polling(gateway: OperationsGateway, client: Client, operation_ids: Sequence[str]) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(_poll(gateway, client, operation_ids, stop))
    try:
        yield
    finally:
        stop.set()
        await task


from datetime import timedelta  # noqa: E402

_TIMEOUT = timedelta(seconds=2)
