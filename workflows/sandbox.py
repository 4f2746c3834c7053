"""The one sandbox configuration the worker, the auditor's replay and the replay tests share."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.workflow import SandboxImportNotificationPolicy

# The decider normalises identifiers with these; they are deterministic but load their data lazily
# (phonenumbers imports a region's metadata under a threading.Lock on first use), which the
# sandbox would refuse if the first use happened inside a workflow.
DETERMINISTIC_LIBRARIES = ("phonenumbers", "stdnum", "anyascii", "rapidfuzz")


def workflow_runner(*, strict: bool = False) -> SandboxedWorkflowRunner:
    """strict makes an import that slips past the sandbox unintentionally an error (tests, CI)."""
    restrictions = SandboxRestrictions.default.with_passthrough_modules(*DETERMINISTIC_LIBRARIES)
    if strict:
        restrictions = restrictions.with_import_notification_policy(
            SandboxImportNotificationPolicy.RAISE_ON_UNINTENTIONAL_PASSTHROUGH)
    return SandboxedWorkflowRunner(restrictions=restrictions)
