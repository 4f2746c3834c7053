"""The client the CLI's role commands call: one method per use case, over the HTTP API, returning the
view models the services return (services/views.py). Who the caller is comes from its token alone.

Views that carry an operation's state, the chain or checkpoints (services/record_views.py) and the
command models (domain/commands.py) are imported by the methods that need them: a listing never
pays for them (see bench/cli_wall.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.http import Api
from domain.model import HitResolution, Intelligence, Target
from services.views import (
    ApiToken,
    CheckpointReport,
    CommandOutcome,
    Consultation,
    Enrolment,
    Export,
    IssuedToken,
    NotificationView,
    OperationFilter,
    OperationSummary,
    PendingTaskView,
    Precheck,
    Principal,
    PrincipalChange,
    Recovery,
    Registration,
    ReplayOutcome,
    SecurityEntry,
    TimelineEntry,
)

if TYPE_CHECKING:
    from domain import commands as cmd
    from domain.state import OperationState
    from services.record_views import AuditReplay, CheckpointTaken, Opening, Proof, Verification

# Verifying every stream or replaying every history takes as long as the log is long.
LONG_READ_TIMEOUT: float | None = None


def command_path(operation_id: str, request: cmd.Request) -> str:
    """The route of a command, as the API makes it: its kind with hyphens (POST /operations/{id}/add-target)."""
    from domain import commands as cmd

    kind = cmd.COMMAND_OF_REQUEST[type(request)].model_fields["kind"].default
    return f"/operations/{_segment(operation_id)}/{kind.replace('_', '-')}"


def _segment(text: str) -> str:
    """A path segment as typed: an id with a slash or a '?' stays one segment."""
    from urllib.parse import quote

    return quote(text, safe="")


def _json(model: Any) -> Any:
    return model.model_dump(mode="json")


class LiaisonClient:
    def __init__(self, api: Api) -> None:
        self._api = api
        self._me: Principal | None = None

    @property
    def server(self) -> str:
        return self._api.server

    def close(self) -> None:
        self._api.close()

    # --- who I am -----------------------------------------------------------------------------------

    def me(self) -> Principal:
        if self._me is None:
            self._me = self._api.get(Principal, "/me")
        return self._me

    def sign_in(self, principal_id: str, password: str, one_time_code: str | None,
                token_name: str = "cli") -> IssuedToken:
        body = {"principal_id": principal_id, "password": password, "one_time_code": one_time_code or None,
                "token_name": token_name}
        return self._api.parse(IssuedToken, self._api.call("POST", "/auth/token", body=body))

    def sign_out(self) -> None:
        self._api.call("DELETE", "/auth/token")

    def tokens(self) -> list[ApiToken]:
        return self._api.get(list[ApiToken], "/me/tokens")

    def all_tokens(self, principal_id: str | None) -> list[ApiToken]:
        return self._api.get(list[ApiToken], "/tokens", principal_id=principal_id)

    def new_token(self, name: str, expires_in_hours: float | None) -> IssuedToken:
        body = {"name": name, "expires_in_hours": expires_in_hours}
        return self._api.parse(IssuedToken, self._api.call("POST", "/me/tokens", body=body))

    def revoke_token(self, token_id: str) -> ApiToken:
        return self._api.parse(ApiToken, self._api.call("DELETE", f"/tokens/{_segment(token_id)}"))

    def enrol_one_time_code(self, password: str) -> Enrolment:
        return self._api.parse(Enrolment, self._api.call("POST", "/me/one-time-code", body={"password": password}))

    def confirm_one_time_code(self, code: str) -> Principal:
        return self._api.parse(Principal, self._api.call("POST", "/me/one-time-code/confirm", body={"code": code}))

    def change_password(self, current: str, new: str) -> None:
        self._api.call("PUT", "/me/password", body={"current_password": current, "new_password": new})

    # --- principals (administrators), the security log -----------------------------------------------

    def principals(self) -> list[Principal]:
        return self._api.get(list[Principal], "/principals")

    def principal(self, principal_id: str) -> Principal:
        return self._api.get(Principal, f"/principals/{_segment(principal_id)}")

    def register(self, principal_id: str, role: str, member_state: str | None, display_name: str,
                 justification: str) -> Registration:
        body = {"principal_id": principal_id, "role": role, "member_state": member_state,
                "display_name": display_name, "justification": justification}
        return self._api.parse(Registration, self._api.call("POST", "/principals", body=body))

    def change_principal(self, principal_id: str, change: PrincipalChange, justification: str) -> Registration:
        body = _json(change) | {"justification": justification}
        return self._api.parse(Registration, self._api.call("PATCH", f"/principals/{_segment(principal_id)}",
                                                            body=body))

    def security_log(self, kind: str | None, principal_id: str | None, since: datetime | None
                     ) -> list[SecurityEntry]:
        return self._api.get(list[SecurityEntry], "/security-log", kind=kind, principal_id=principal_id,
                             since=since.isoformat() if since else None)

    # --- commands -----------------------------------------------------------------------------------

    def open_operation(self, request: cmd.OpenOperationRequest, key: str) -> Opening:
        from services.record_views import Opening

        return self._api.parse(Opening, self._api.call("POST", "/operations", body=_json(request), key=key))

    def send(self, operation_id: str, request: cmd.Request, key: str, one_time_code: str | None = None
             ) -> CommandOutcome:
        answer = self._api.call("POST", command_path(operation_id, request), body=_json(request), key=key,
                                one_time_code=one_time_code)
        return self._api.parse(CommandOutcome, answer)

    def resolve_hit(self, operation_id: str, hit_id: str, resolution: HitResolution, justification: str,
                    key: str) -> CommandOutcome:
        from domain import commands as cmd

        return self.send(operation_id, cmd.ResolveHitRequest(hit_id=hit_id, resolution=resolution,
                                                             justification=justification), key)

    # --- reads --------------------------------------------------------------------------------------

    def show(self, operation_id: str) -> OperationState:
        from domain.state import OperationState

        return self._api.get(OperationState, f"/operations/{_segment(operation_id)}")

    def timeline(self, operation_id: str) -> list[TimelineEntry]:
        return self._api.get(list[TimelineEntry], f"/operations/{_segment(operation_id)}/timeline")

    def intelligence(self, operation_id: str, item_id: str | None = None) -> list[Intelligence]:
        path = f"/operations/{_segment(operation_id)}/intelligence"
        return self._api.get(list[Intelligence], path + (f"/{_segment(item_id)}" if item_id else ""))

    def operations(self, where: OperationFilter) -> list[OperationSummary]:
        return self._api.get(list[OperationSummary], "/operations", **_json(where))

    def pending_tasks(self, operation_id: str | None = None) -> list[PendingTaskView]:
        return self._api.get(list[PendingTaskView], "/tasks/pending", operation_id=operation_id)

    def notifications(self) -> list[NotificationView]:
        return self._api.get(list[NotificationView], "/notifications")

    def check_targets(self, targets: Sequence[Target], default_state: str | None) -> Precheck:
        body = {"targets": [_json(t) for t in targets], "member_state": default_state}
        return self._api.parse(Precheck, self._api.call("POST", "/deconfliction/checks", body=body))

    # --- audit --------------------------------------------------------------------------------------

    def replay(self, operation_id: str, at: datetime | None, seq: int | None) -> AuditReplay:
        from services.record_views import AuditReplay

        return self._api.get(AuditReplay, f"/audit/operations/{_segment(operation_id)}/replay",
                             at=at.isoformat() if at else None, seq=seq)

    def verify(self, operation_ids: list[str] | None) -> list[Verification]:
        from services.record_views import Verification

        answer = self._api.call("POST", "/audit/verify", body={"operation_ids": operation_ids},
                                timeout=LONG_READ_TIMEOUT)
        return self._api.parse(list[Verification], answer)

    def export(self, operation_id: str, file: Path) -> Export:
        """The bundle, written to the file as it arrives (the file is removed if the download fails)."""
        with self._api.stream(f"/audit/operations/{_segment(operation_id)}/export",
                              timeout=LONG_READ_TIMEOUT) as response:
            try:
                with file.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
            except BaseException:
                with contextlib.suppress(OSError):
                    file.unlink()
                raise
            return Export(operation_id=operation_id, events=int(response.headers.get("X-Events", "0")),
                          manifest_sha256=response.headers.get("X-Manifest-SHA256", ""))

    def prove(self, operation_id: str, seq: int) -> Proof:
        from services.record_views import Proof

        return self._api.get(Proof, f"/audit/operations/{_segment(operation_id)}/proof", seq=seq)

    def server_histories(self, workflow_id: str | None, query: str | None) -> list[ReplayOutcome]:
        answer = self._api.call("POST", "/audit/histories/replay", body={"workflow_id": workflow_id, "query": query},
                                timeout=LONG_READ_TIMEOUT)
        return self._api.parse(list[ReplayOutcome], answer)

    def recover(self, operation_id: str, justification: str) -> Recovery:
        answer = self._api.call("POST", f"/audit/operations/{_segment(operation_id)}/recover",
                                body={"justification": justification})
        return self._api.parse(Recovery, answer)

    def consultations(self, operation_id: str | None, reader: str | None, since: datetime | None
                      ) -> list[Consultation]:
        return self._api.get(list[Consultation], "/audit/consultations", operation_id=operation_id, reader=reader,
                             since=since.isoformat() if since else None)

    def checkpoint(self) -> CheckpointTaken:
        from services.record_views import CheckpointTaken

        return self._api.parse(CheckpointTaken, self._api.call("POST", "/audit/checkpoints"))

    def checkpoints(self) -> CheckpointReport:
        return self._api.get(CheckpointReport, "/audit/checkpoints")
