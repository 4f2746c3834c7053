"""Reading Temporal's encrypted payloads through the codec endpoint (the Temporal UI, `temporal
--codec-endpoint`): a short-lived decode token for one operation, issued to a principal who may read all
of it and says why; every decode it opens is a consultation record.

Decoded payloads are the operation as the workflow holds it, unredacted (every target and item, under
every handling code). So a token goes only to those who read every item: coordinators and auditors. A
state's officer reads the operation through the API, which redacts for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload

from domain.actors import Actor
from domain.errors import InvalidInput, NotAuthorised, NotFound
from gateway.codec import EncryptionCodec, PayloadKeyMissing, PayloadUndecryptable
from gateway.decode_tokens import opened, seal
from services.consultations import AUDITORS, ConsultationService
from store.audit_log import AuditLog

TOKEN_LIFETIME = timedelta(minutes=15)
MAX_TOKEN_LIFETIME = timedelta(hours=1)
DECODE_ACTION = "decode Temporal payloads"


class DecodeToken(BaseModel):
    operation_id: str
    token: str
    expires_at: datetime
    codec_endpoint: str  # for the Temporal UI's data encoder setting: the token is in its path
    temporal_cli: str  # the same with the official CLI, the token sent as --codec-auth


class PayloadDecodingService:
    def __init__(self, codec: Callable[[], EncryptionCodec], audit_log: AuditLog,
                 consultations: ConsultationService, namespace: str) -> None:
        self._codec_factory = codec
        self._codec: EncryptionCodec | None = None
        self._audit_log = audit_log
        self._consultations = consultations
        self._namespace = namespace

    def _keys(self) -> EncryptionCodec:
        if self._codec is None:  # on first use: building it reads (or on the embedded default makes) a key
            self._codec = self._codec_factory()
        return self._codec

    async def issue(self, actor: Actor, operation_id: str, justification: str | None, api_url: str,
                    lifetime: timedelta = TOKEN_LIFETIME) -> DecodeToken:
        """A token for one operation's payloads, logged as a consultation with its justification."""
        async def read() -> DecodeToken:
            if actor.role not in AUDITORS:
                raise NotAuthorised(f"{actor.describe()} may not decode Temporal payloads: they hold operation "
                                    f"{operation_id} unredacted, so only a coordinator or an auditor may (read it "
                                    "through the API, which shows what your state may see)",
                                    field="actor", value=actor.id)
            if not timedelta(0) < lifetime <= MAX_TOKEN_LIFETIME:
                raise InvalidInput("minutes", lifetime.total_seconds() / 60,
                                   f"minutes: a decode token lives at most {MAX_TOKEN_LIFETIME}")
            if (await asyncio.to_thread(self._audit_log.head, operation_id)).seq == 0:
                raise NotFound("operation_id", operation_id, f"operation {operation_id} does not exist")
            token, claims = seal(self._keys().keyring, actor, operation_id, (justification or "").strip(), lifetime)
            endpoint = f"{api_url.rstrip('/')}/codec/t/{token}"
            return DecodeToken(operation_id=operation_id, token=token, expires_at=claims.expires_at,
                               codec_endpoint=endpoint,
                               temporal_cli=f"temporal workflow show --workflow-id {operation_id} --codec-endpoint "
                                            f"{api_url.rstrip('/')}/codec --codec-auth 'Bearer {token}'")

        return await self._consultations.reading(actor, justification, "decode token", [operation_id], read)

    async def decode(self, token: str | None, namespace: str | None, payloads: Sequence[Payload]) -> list[Payload]:
        """The payloads of the token's operation in clear; every other one (another operation's, or with no
        valid token at all) still encrypted, as it came."""
        claims = opened(self._keys().keyring, token) if token else None
        if claims is None or (namespace or self._namespace) != self._namespace:
            return list(payloads)
        bound = self._keys().bound_to(claims.operation_id)
        answer, decoded = [], 0
        for payload in payloads:
            try:
                clear = bound.decrypt(payload)
            except (PayloadUndecryptable, PayloadKeyMissing):  # not this operation's: it stays sealed
                clear = payload
            decoded += clear is not payload
            answer.append(clear)
        if decoded:
            await self._consultations.served(claims.actor, claims.justification, DECODE_ACTION, claims.operation_id,
                                             f"{decoded} of {len(payloads)} payloads decoded")
        return answer
