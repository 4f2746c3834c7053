"""The server's policy, read by the workflow when an operation opens: the worker's own settings."""

from __future__ import annotations

from temporalio import activity

from workflows.messages import ServerPolicy


class PolicyActivities:
    def __init__(self, policy: ServerPolicy) -> None:
        self._policy = policy

    @activity.defn(name="server_policy")
    async def server_policy(self) -> ServerPolicy:
        return self._policy
