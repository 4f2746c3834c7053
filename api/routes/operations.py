"""Operations: open, one route per command a person may send, and the reads.

No `from __future__ import annotations` here: the command routes are made from the request types at
import time, and FastAPI reads their annotations as objects."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from api.auth import ActorDep, KeyDep, OneTimeCodeDep, PurposeDep, system_of
from domain import commands as cmd
from domain.model import Intelligence, Phase
from domain.state import OperationState
from gateway.audit import TimelineEntry
from services.operations import CommandOutcome, Opening, OperationFilter
from store.read_models import OperationSummary

router = APIRouter(tags=["operations"])


def command_path(request_type: type[cmd.Request]) -> str:
    """The route of a command: its kind with hyphens, e.g. POST /operations/{id}/add-target."""
    return "/operations/{operation_id}/" + cmd.COMMAND_OF_REQUEST[request_type].model_fields["kind"].default \
        .replace("_", "-")


@router.post("/operations", response_model=Opening, status_code=status.HTTP_201_CREATED,
             responses={202: {"description": "accepted; the opening is recorded as soon as a worker runs it",
                              "model": Opening}})
async def open_operation(body: cmd.OpenOperationRequest, actor: ActorDep, request: Request, response: Response,
                         key: KeyDep = None) -> Opening:
    opening = await system_of(request).operations.open(actor, body, key)
    if opening.status == "pending":
        response.status_code = status.HTTP_202_ACCEPTED
    return opening


def _command_route(request_type: type[cmd.Request]) -> None:
    kind = cmd.COMMAND_OF_REQUEST[request_type].model_fields["kind"].default

    async def send(operation_id: str, body: Any, actor: ActorDep, request: Request, key: KeyDep = None,
                   one_time_code: OneTimeCodeDep = None) -> CommandOutcome:
        return await system_of(request).operations.send(actor, operation_id, body, key, one_time_code=one_time_code)

    send.__annotations__["body"] = request_type
    router.add_api_route(command_path(request_type), send, methods=["POST"], response_model=CommandOutcome,
                         name=kind, summary=kind.replace("_", " ").capitalize(),
                         description=(request_type.__doc__ or "").strip() or None)


for _request_type in cmd.COMMAND_OF_REQUEST:
    if _request_type is not cmd.OpenOperationRequest:
        _command_route(_request_type)


@router.get("/operations", response_model=list[OperationSummary])
async def list_operations(actor: ActorDep, request: Request, purpose: PurposeDep = None,
                          phase: Phase | None = None,
                          member_state: Annotated[str | None, Query(max_length=40)] = None,
                          min_priority: Annotated[float | None, Query(ge=0, le=100)] = None,
                          parked: bool | None = None) -> list[OperationSummary]:
    where = OperationFilter(phase=phase, member_state=member_state, min_priority=min_priority, parked=parked)
    return await system_of(request).operations.list(actor, purpose, where)


@router.get("/operations/{operation_id}", response_model=OperationState)
async def show_operation(operation_id: str, actor: ActorDep, request: Request, purpose: PurposeDep = None
                         ) -> OperationState:
    return await system_of(request).operations.show(actor, purpose, operation_id)


@router.get("/operations/{operation_id}/timeline", response_model=list[TimelineEntry])
async def operation_timeline(operation_id: str, actor: ActorDep, request: Request, purpose: PurposeDep = None
                             ) -> list[TimelineEntry]:
    return await system_of(request).operations.timeline(actor, purpose, operation_id)


@router.get("/operations/{operation_id}/intelligence", response_model=list[Intelligence])
async def operation_intelligence(operation_id: str, actor: ActorDep, request: Request, purpose: PurposeDep = None
                                 ) -> list[Intelligence]:
    return await system_of(request).operations.intelligence(actor, purpose, operation_id)


@router.get("/operations/{operation_id}/intelligence/{item_id}", response_model=list[Intelligence])
async def intelligence_item(operation_id: str, item_id: str, actor: ActorDep, request: Request,
                            purpose: PurposeDep = None) -> list[Intelligence]:
    return await system_of(request).operations.intelligence(actor, purpose, operation_id, item_id)
