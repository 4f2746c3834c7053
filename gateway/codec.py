"""Payload encryption: every payload Liaison sends through Temporal (workflow and activity inputs and
results, updates, queries, signals, failures) leaves the client or worker encrypted with AES-256-GCM.

A payload is replaced by one whose metadata says ``binary/encrypted`` and names the key id; its data is
a fresh 96-bit nonce followed by the ciphertext of the whole original payload (metadata included, so
even the encoding and message type are hidden). The associated data binds the key id and the workflow
id the SDK passes as serialization context (the operation id), so a ciphertext copied into another
operation's history fails to decrypt. Payloads without the encrypted encoding are clear ones written
before encryption (the recorded histories): they decode as they are.

The SDK (temporalio >= 1.18) gives the codec a WorkflowSerializationContext or an
ActivitySerializationContext naming the workflow for every workflow, activity, update, query and signal
payload (a signal to another workflow, or a child's input, is bound to that other workflow). A payload
encoded without a workflow id (a client call outside any workflow) is still encrypted, marked unbound.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"  # the metadata name Temporal's samples and codec servers use
BINDING = "liaison-binding"
BOUND_TO_WORKFLOW = b"workflow"
UNBOUND = b"none"
KEY_BYTES = 32  # AES-256
_NONCE_BYTES = 12
_ASSOCIATED_DATA_PREFIX = b"liaison-payload/1\x00"


class PayloadKeyMissing(Exception):
    """A payload is encrypted under a key this process does not hold."""


class PayloadUndecryptable(Exception):
    """A payload does not authenticate: altered, or encrypted for another operation."""


@dataclass(frozen=True)
class Keyring:
    """Key id -> 32-byte key; new payloads go under ``current`` (None: this process only decrypts)."""

    keys: Mapping[str, bytes] = field(default_factory=dict)
    current: str | None = None

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise ValueError(f"payload key {key_id!r} has {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        if self.current is not None and self.current not in self.keys:
            raise ValueError(f"the current payload key {self.current!r} is not among the keys held "
                             f"({', '.join(sorted(self.keys)) or 'none'})")


class _Ciphers:
    """One AESGCM per key id, shared by every contextual copy of a codec; refreshed from the key source
    when a payload names a key not held yet (another process rotated)."""

    def __init__(self, keyring: Keyring, reload: Callable[[], Keyring] | None) -> None:
        self._reload = reload
        self._install(keyring)

    def _install(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._by_id = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    def current(self) -> tuple[str, AESGCM]:
        key_id = self.keyring.current
        if key_id is None:
            raise PayloadKeyMissing("this process holds no current payload key to encrypt with "
                                    "(set LIAISON_PAYLOAD_KEY_CURRENT, or rotate to make one)")
        return key_id, self._by_id[key_id]

    def of(self, key_id: str) -> AESGCM:
        cipher = self._by_id.get(key_id)
        if cipher is None and self._reload is not None:
            self._install(self._reload())
            cipher = self._by_id.get(key_id)
        if cipher is None:
            held = ", ".join(sorted(self._by_id)) or "none"
            raise PayloadKeyMissing(f"a payload is encrypted under key {key_id!r}, which this process does not "
                                    f"hold (held: {held}); add it as LIAISON_PAYLOAD_KEYS__{key_id.upper()} or "
                                    f"as {key_id}.key in the payload keys directory")
        return cipher


def _associated_data(key_id: str, workflow_id: str | None) -> bytes:
    return _ASSOCIATED_DATA_PREFIX + key_id.encode() + b"\x00" + (workflow_id or "").encode()


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


class EncryptionCodec(PayloadCodec, WithSerializationContext):
    """AES-256-GCM over whole payloads, bound to the workflow the SDK names in the serialization context."""

    def __init__(self, keyring: Keyring, *, reload: Callable[[], Keyring] | None = None) -> None:
        self._ciphers = _Ciphers(keyring, reload)
        self._workflow_id: str | None = None

    @property
    def keyring(self) -> Keyring:
        return self._ciphers.keyring

    @property
    def workflow_id(self) -> str | None:
        return self._workflow_id

    def bound_to(self, workflow_id: str | None) -> EncryptionCodec:
        """This codec for the payloads of one workflow (the same keys)."""
        bound = object.__new__(type(self))
        bound._ciphers = self._ciphers
        bound._workflow_id = workflow_id
        return bound

    def with_context(self, context: SerializationContext) -> EncryptionCodec:
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            return self.bound_to(context.workflow_id)
        return self.bound_to(None)

    def encrypt(self, payload: Payload) -> Payload:
        if is_encrypted(payload):  # already sealed (a payload passed through as it was): never twice
            return payload
        key_id, cipher = self._ciphers.current()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = cipher.encrypt(nonce, payload.SerializeToString(), _associated_data(key_id, self._workflow_id))
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id.encode(),
                                 BINDING: BOUND_TO_WORKFLOW if self._workflow_id else UNBOUND},
                       data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if not is_encrypted(payload):  # clear: recorded before encryption, or never encoded by a codec
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        bound = payload.metadata.get(BINDING) != UNBOUND
        if bound and not self._workflow_id:
            raise PayloadUndecryptable(f"a payload under key {key_id!r} is bound to its workflow; decode it "
                                       "with that workflow's id")
        workflow_id = self._workflow_id if bound else None
        nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
        try:
            clear = self._ciphers.of(key_id).decrypt(nonce, sealed, _associated_data(key_id, workflow_id))
        except InvalidTag:
            raise PayloadUndecryptable(
                f"a payload under key {key_id!r} does not decrypt for workflow {workflow_id!r}: it was "
                "encrypted for another operation, or altered") from None
        return Payload.FromString(clear)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]


class ReplayCodec(EncryptionCodec):
    """Decrypts as the worker does; what a Replayer encodes (its commands) never leaves the process, so it
    is not encrypted, and a verifier that holds only old keys (no current one) can replay."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


_CONTEXTUAL_PARTS = ("payload_converter", "payload_codec", "failure_converter", "external_storage")


@dataclass(frozen=True)
class ContextualDataConverter(DataConverter):
    """The SDK's DataConverter, with a cheaper ``with_context``: the SDK's rebuilds the payload and failure
    converters (``dataclasses.replace`` runs ``__post_init__``, ~20 µs) for every activation and every
    activity command once a codec takes the context; here the parts are swapped in a shallow copy."""

    def with_context(self, context: SerializationContext) -> Self:
        parts = {name: getattr(self, name) for name in _CONTEXTUAL_PARTS}
        changed = {name: part.with_context(context) for name, part in parts.items()
                   if isinstance(part, WithSerializationContext)}
        if all(changed[name] is parts[name] for name in changed):
            return self
        clone = copy.copy(self)
        for name, part in changed.items():
            object.__setattr__(clone, name, part)
        return clone


def encrypted_data_converter(codec: EncryptionCodec) -> DataConverter:
    """Pydantic payloads, encrypted; failures carry their message and stack trace as an encoded (so
    encrypted) attribute, since a refusal's message names the values it refused."""
    return ContextualDataConverter(payload_converter_class=pydantic_data_converter.payload_converter_class,
                                   payload_codec=codec,
                                   failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


def replay_data_converter(keyring: Keyring) -> DataConverter:
    """What a Replayer needs: it decrypts as the worker does, and its own failures (a replay that fails
    with a decoding error, say) keep their message in clear, since they never leave the process."""
    return ContextualDataConverter(payload_converter_class=pydantic_data_converter.payload_converter_class,
                                   payload_codec=ReplayCodec(keyring))


def codec_of(converter: DataConverter) -> EncryptionCodec | None:
    codec = converter.payload_codec
    return codec if isinstance(codec, EncryptionCodec) else None


def replay_converter_of(converter: DataConverter) -> DataConverter:
    """The Replayer's converter for histories a client with this converter reads: the same keys."""
    codec = codec_of(converter)
    return converter if codec is None else replay_data_converter(codec.keyring)


# --- whole histories (the witness, bundles) ---------------------------------------------------------

_PAYLOAD = Payload.DESCRIPTOR.full_name


def payloads_in(message: Message) -> Iterable[Payload]:
    """Every Payload anywhere in a protobuf message (fields, repeated fields, map values)."""
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            items: Iterable[object] = value.values() if descriptor.message_type.fields_by_name[
                "value"].message_type is not None else ()
        elif descriptor.is_repeated:
            items = value
        else:
            items = (value,)
        for item in items:
            assert isinstance(item, Message)
            if item.DESCRIPTOR.full_name == _PAYLOAD:
                assert isinstance(item, Payload)
                yield item
            else:
                yield from payloads_in(item)


def _bound_workflow(event: HistoryEvent, own: str) -> str:
    """Whose payloads an event holds: a signal sent to another workflow, and a child's input and outcome,
    are encrypted for that other workflow."""
    kind = event.WhichOneof("attributes") or ""
    if not kind:
        return own
    attributes: Any = getattr(event, kind)
    if kind == "signal_external_workflow_execution_initiated_event_attributes":
        return str(attributes.workflow_execution.workflow_id)
    if kind == "start_child_workflow_execution_initiated_event_attributes":
        return str(attributes.workflow_id)
    if kind.startswith("child_workflow_execution_"):
        return str(attributes.workflow_execution.workflow_id)
    return own


def key_ids_in(history: WorkflowHistory) -> set[str]:
    """The keys a history's payloads are encrypted under (empty: a clear history)."""
    return {p.metadata[KEY_ID].decode() for event in history.events for p in payloads_in(event)
            if is_encrypted(p)}


def decrypted_history(history: WorkflowHistory, codec: EncryptionCodec) -> WorkflowHistory:
    """A copy of the history with every payload in clear, as the worker saw it."""
    events = []
    for event in history.events:
        clear = HistoryEvent()
        clear.CopyFrom(event)
        bound = codec.bound_to(_bound_workflow(clear, history.workflow_id))
        for payload in payloads_in(clear):
            if is_encrypted(payload):
                payload.CopyFrom(bound.decrypt(payload))
        events.append(clear)
    return WorkflowHistory(history.workflow_id, events)
