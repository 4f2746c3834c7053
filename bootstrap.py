"""The composition root: one place that builds, from the settings, the store engine, one Temporal
client with one data converter, and the services. The worker, the CLI, the API and the tests use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.client import Client

from domain.errors import Unavailable
from domain.timing import Timing
from gateway.operations import OperationsGateway
from gateway.payload_keys import data_converter, payload_codec
from services.audit import AuditService
from services.consultations import ConsultationService
from services.deconfliction import DeconflictionService
from services.identity import IdentityService
from services.notifications import NotificationService
from services.operations import OperationService
from services.payload_decoding import PayloadDecodingService
from services.principals import PrincipalService
from services.security import SecurityService
from services.tasks import TaskService
from settings import Settings
from store.audit_log import AuditLog
from store.consultations import Consultations
from store.db import make_engine
from store.index import DeconflictionIndex
from store.notifications import Notifications
from store.principals import Principals
from store.projections import Projector
from store.read_models import ReadModels
from store.security_log import SecurityLog
from store.tokens import Tokens, WebSessions
from workflows.messages import ServerPolicy


def server_policy(settings: Settings) -> ServerPolicy:
    return ServerPolicy(scoring=settings.scoring, timing=Timing(
        reminder_before_due=settings.reminder_before_due, escalate_after_due=settings.escalate_after_due,
        results_grace_after_action_day=settings.results_grace_after_action_day))


def deconfliction_index(settings: Settings, engine: Engine) -> DeconflictionIndex:
    key = settings.deconfliction_privacy_key
    return DeconflictionIndex(engine, privacy_key=key.get_secret_value().encode() if key else None,
                              radius_km=settings.deconfliction_radius_km)


async def connect(settings: Settings) -> Client:
    try:
        return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                    data_converter=data_converter(settings))
    except RuntimeError as error:
        raise Unavailable(f"cannot reach Temporal at {settings.temporal_address} (is `make run` running?): "
                          f"{error}") from None


class TemporalLink:
    """The one Temporal client, connected on first use, so commands that need only the store (principal
    list, migrate) work while Temporal is down."""

    def __init__(self, settings: Settings, engine: Engine, client: Client | None = None,
                 task_queue: str | None = None, continue_as_new_after_events: int | None = None) -> None:
        self._settings = settings
        self._engine = engine
        self._client = client
        self._task_queue = task_queue or settings.task_queue
        self._continue_as_new_after = continue_as_new_after_events
        self._gateway: OperationsGateway | None = None

    @property
    def task_queue(self) -> str:
        return self._task_queue

    async def client(self) -> Client:
        if self._client is None:
            self._client = await connect(self._settings)
        return self._client

    async def gateway(self) -> OperationsGateway:
        if self._gateway is None:
            self._gateway = OperationsGateway(
                await self.client(), self._task_queue, AuditLog(self._engine),
                continue_as_new_after_events=self._continue_as_new_after,
                retry_for=self._settings.command_retry_for, task_timeout=self._settings.workflow_task_timeout)
        return self._gateway


@dataclass
class System:
    settings: Settings
    engine: Engine
    temporal: TemporalLink
    consultations: ConsultationService
    principals: PrincipalService
    identity: IdentityService
    security: SecurityService
    operations: OperationService
    tasks: TaskService
    deconfliction: DeconflictionService
    audit: AuditService
    notifications: NotificationService
    payload_decoding: PayloadDecodingService
    owns_engine: bool = field(default=True, repr=False)

    def close(self) -> None:
        if self.owns_engine:
            self.engine.dispose()


def bootstrap(settings: Settings, *, engine: Engine | None = None, client: Client | None = None,
              task_queue: str | None = None, open_patience: timedelta | None = None) -> System:
    """Everything built once from the settings; engine and client may be given (tests share theirs)."""
    store = engine or make_engine(settings.store_url)
    temporal = TemporalLink(settings, store, client, task_queue)
    consultations = ConsultationService(Consultations(store))
    security = SecurityService(SecurityLog(store))
    principals, tokens, sessions = Principals(store), Tokens(store), WebSessions(store)
    identity = IdentityService(principals, tokens, sessions, security, settings)
    read_models = ReadModels(store)
    operations = OperationService(temporal, AuditLog(store), consultations, read_models, Projector(store), security,
                                  identity, open_patience=open_patience or settings.open_patience)
    return System(
        settings=settings, engine=store, temporal=temporal, consultations=consultations,
        principals=PrincipalService(principals, tokens, sessions, security, settings.sign_in_lock_after,
                                    settings.sign_in_lock_for), identity=identity, security=security,
        operations=operations, tasks=TaskService(operations, read_models, consultations),
        deconfliction=DeconflictionService(store, deconfliction_index(settings, store), operations, consultations),
        audit=AuditService(temporal, store, settings, consultations),
        notifications=NotificationService(Notifications(store), consultations),
        payload_decoding=PayloadDecodingService(lambda: payload_codec(settings, create_default=True), AuditLog(store),
                                                consultations, settings.temporal_namespace),
        owns_engine=engine is None)
