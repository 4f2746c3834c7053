"""The payload codec on its own: AES-256-GCM over whole payloads, bound to the workflow the SDK names,
key rotation, keys from the settings, failures with encoded attributes, and whole histories."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    HistoryEvent,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
    WorkflowExecutionStartedEventAttributes,
)
from temporalio.client import WorkflowHistory
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext
from temporalio.exceptions import ApplicationError

from gateway.codec import (
    BINDING,
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    Keyring,
    PayloadKeyMissing,
    PayloadUndecryptable,
    decrypted_history,
    encrypted_data_converter,
    key_ids_in,
)
from gateway.payload_keys import (
    CURRENT_FILE,
    EMBEDDED_KEY_ID,
    PayloadKeysMisconfigured,
    keyring_from_settings,
    payload_codec,
    rotate_payload_key,
)
from settings import Settings

K1, K2 = os.urandom(32), os.urandom(32)
CLEAR = Payload(metadata={"encoding": b"json/plain"}, data='{"name": "Иван Петров"}'.encode())


def codec(keys: dict[str, bytes], current: str | None, workflow_id: str | None = "op-a") -> EncryptionCodec:
    return EncryptionCodec(Keyring(keys, current)).bound_to(workflow_id)


def test_a_payload_is_sealed_whole_under_the_current_key_and_opens_for_its_workflow() -> None:
    sealed = codec({"k1": K1}, "k1").encrypt(CLEAR)
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"k1"
    assert sealed.metadata[BINDING] == b"workflow" and set(sealed.metadata) == {"encoding", KEY_ID, BINDING}
    assert "Петров".encode() not in sealed.data and b"json/plain" not in sealed.data
    assert codec({"k1": K1}, "k1").decrypt(sealed) == CLEAR
    assert codec({"k1": K1}, "k1").encrypt(CLEAR).data != sealed.data  # a fresh nonce every time


def test_a_ciphertext_moved_to_another_operation_or_altered_does_not_decrypt() -> None:
    sealed = codec({"k1": K1}, "k1", "op-a").encrypt(CLEAR)
    with pytest.raises(PayloadUndecryptable, match="does not decrypt for workflow 'op-b'"):
        codec({"k1": K1}, "k1", "op-b").decrypt(sealed)
    unbound = Payload(metadata={**sealed.metadata, BINDING: b"none"}, data=sealed.data)
    with pytest.raises(PayloadUndecryptable):  # claiming it unbound does not help: the binding is authenticated
        codec({"k1": K1}, "k1", "op-b").decrypt(unbound)
    flipped = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(PayloadUndecryptable):
        codec({"k1": K1}, "k1", "op-a").decrypt(flipped)
    with pytest.raises(PayloadUndecryptable, match="bound to its workflow"):
        codec({"k1": K1}, "k1", None).decrypt(sealed)


def test_the_sdk_context_names_the_workflow() -> None:
    base = EncryptionCodec(Keyring({"k1": K1}, "k1"))
    activity = ActivitySerializationContext(namespace="default", activity_id="1", activity_type="append_events",
                                            activity_task_queue="q", workflow_id="op-a", workflow_type="W",
                                            is_local=False)
    workflow = WorkflowSerializationContext(namespace="default", workflow_id="op-a")
    assert base.with_context(workflow).workflow_id == "op-a"
    sealed = base.with_context(activity).encrypt(CLEAR)  # an activity's payloads are its workflow's
    assert codec({"k1": K1}, None, "op-a").decrypt(sealed) == CLEAR


def test_clear_payloads_recorded_before_encryption_decode_as_they_are() -> None:
    assert codec({}, None).decrypt(CLEAR) == CLEAR


def test_rotation_new_payloads_under_the_newest_key_old_ones_readable_a_missing_key_named() -> None:
    old = codec({"k1": K1}, "k1").encrypt(CLEAR)
    rotated = codec({"k1": K1, "k2": K2}, "k2")
    assert rotated.encrypt(CLEAR).metadata[KEY_ID] == b"k2" and rotated.decrypt(old) == CLEAR
    with pytest.raises(PayloadKeyMissing, match=r"under key 'k1', which this process does not hold \(held: k2\); "
                                                "add it as LIAISON_PAYLOAD_KEYS__K1"):
        codec({"k2": K2}, "k2").decrypt(old)


def test_a_missing_key_is_looked_for_again_before_it_is_reported() -> None:
    sealed = codec({"k2": K2}, "k2").encrypt(CLEAR)
    reloaded = EncryptionCodec(Keyring({"k1": K1}, "k1"), reload=lambda: Keyring({"k1": K1, "k2": K2}, "k2"))
    assert reloaded.bound_to("op-a").decrypt(sealed) == CLEAR


def test_a_keyring_refuses_short_keys_and_an_unknown_current_one() -> None:
    with pytest.raises(ValueError, match="16 bytes; AES-256 needs 32"):
        Keyring({"k1": os.urandom(16)}, "k1")
    with pytest.raises(ValueError, match="current payload key 'k9' is not among"):
        Keyring({"k1": K1}, "k9")


async def test_a_refusal_message_travels_encrypted_in_its_failure() -> None:
    converter = encrypted_data_converter(EncryptionCodec(Keyring({"k1": K1}, "k1")))
    bound = converter.with_context(WorkflowSerializationContext(namespace="default", workflow_id="op-a"))
    failure = Failure()
    await bound.encode_failure(ApplicationError("target 'Иван Петров' is already listed", type="conflict"), failure)
    assert "Петров" not in str(failure) and failure.message == "Encoded failure"
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    error = await bound.decode_failure(failure)
    assert isinstance(error, ApplicationError) and error.message == "target 'Иван Петров' is already listed"


def test_a_history_is_decrypted_event_by_event_a_signal_for_the_other_operation_under_its_id() -> None:
    keys = {"k1": K1}
    own, other = codec(keys, "k1", "op-a"), codec(keys, "k1", "op-b")
    started = HistoryEvent(event_id=1, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
                           workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes(
                               input=Payloads(payloads=[own.encrypt(CLEAR)])))
    signal = HistoryEvent(
        event_id=2, event_type=EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
        signal_external_workflow_execution_initiated_event_attributes=(
            SignalExternalWorkflowExecutionInitiatedEventAttributes(
                workflow_execution=WorkflowExecution(workflow_id="op-b"),
                input=Payloads(payloads=[other.encrypt(CLEAR)]))))
    history = WorkflowHistory("op-a", [started, signal])
    assert key_ids_in(history) == {"k1"}
    clear = decrypted_history(history, EncryptionCodec(Keyring(keys)))
    assert clear.events[0].workflow_execution_started_event_attributes.input.payloads[0] == CLEAR
    assert clear.events[1].signal_external_workflow_execution_initiated_event_attributes.input.payloads[0] == CLEAR
    assert key_ids_in(clear) == set() and history.events[0] == started  # the original is left as it was


# --- keys from the settings -------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def no_session_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys only from what each test configures (the session's key lives in the environment)."""
    for name in [n for n in os.environ if n.startswith("LIAISON_PAYLOAD_KEY")]:
        monkeypatch.delenv(name)


def _key_text() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def test_keys_from_a_directory_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "a1.key").write_text(_key_text())
    settings = Settings(payload_keys_dir=tmp_path, payload_keys={"b2": _key_text()}, payload_key_current="B2")
    keyring = keyring_from_settings(settings)
    assert set(keyring.keys) == {"a1", "b2"} and keyring.current == "b2"
    with pytest.raises(PayloadKeysMisconfigured, match=r"several payload keys \(a1, b2\) and none named current"):
        keyring_from_settings(Settings(payload_keys_dir=tmp_path, payload_keys={"b2": _key_text()}))
    with pytest.raises(PayloadKeysMisconfigured, match="LIAISON_PAYLOAD_KEYS__C3: 3 bytes"):
        keyring_from_settings(Settings(payload_keys_dir=tmp_path, payload_keys={"c3": "YWJj"}))
    with pytest.raises(PayloadKeysMisconfigured, match="no payload key"):  # a configured, empty directory
        payload_codec(Settings(payload_keys_dir=tmp_path / "empty"), create_default=True)


def test_the_embedded_default_generates_its_key_once_with_a_warning(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert keyring_from_settings(settings).keys == {}  # a verifier never generates one
    with structlog.testing.capture_logs() as logs:
        first = payload_codec(settings, create_default=True)
        again = payload_codec(settings, create_default=True)
    assert first.keyring == again.keyring and first.keyring.current == EMBEDDED_KEY_ID
    assert (tmp_path / "payload-keys" / "embedded.key").stat().st_mode & 0o077 == 0
    events = [entry["event"] for entry in logs]
    assert events.count("payload_key_generated") == 1 and "payload_key_embedded" in events
    assert "not for production" in next(e["note"] for e in logs if e["event"] == "payload_key_generated")


def test_rotate_adds_a_key_and_makes_it_current_old_payloads_stay_readable(tmp_path: Path) -> None:
    settings = Settings(payload_keys_dir=tmp_path)
    first = rotate_payload_key(settings, now=datetime(2030, 1, 1, tzinfo=UTC))
    sealed = payload_codec(settings).bound_to("op-a").encrypt(CLEAR)
    second = rotate_payload_key(settings, now=datetime(2030, 1, 1, tzinfo=UTC))  # the same second: its own id
    assert (first, second) == ("k20300101000000", "k20300101000000-2")
    assert (tmp_path / CURRENT_FILE).read_text().strip() == second
    rotated = payload_codec(settings).bound_to("op-a")
    assert rotated.keyring.current == second and rotated.decrypt(sealed) == CLEAR
    assert rotated.encrypt(CLEAR).metadata[KEY_ID] == second.encode()
