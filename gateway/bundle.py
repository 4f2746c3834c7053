"""Self-contained audit bundles: events, witnessed chain heads, the workflow's Temporal histories and
a manifest of digests, checkable offline with neither store nor server."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf import json_format
from pydantic import BaseModel, ValidationError
from temporalio.client import WorkflowHistory

from domain.audit import AuditRecord, ChainFinding, ChainHead
from gateway.audit import Verification, verify_records
from gateway.codec import EncryptionCodec, PayloadKeyMissing, PayloadUndecryptable, decrypted_history, key_ids_in
from gateway.payload_keys import local_codec
from gateway.witness import heads_in_history, states_in_history

FORMAT = "liaison-audit-bundle/1"


class Manifest(BaseModel):
    format: str = FORMAT
    operation_id: str
    created_at: datetime
    events: int
    store_head: ChainHead
    files: dict[str, str]
    # The payload keys the bundled histories are encrypted under (AES-256-GCM); empty: in clear.
    histories_encrypted_under: list[str] = []


class BundleReport(BaseModel):
    manifest: Manifest
    manifest_sha256: str
    verification: Verification
    histories: int
    encrypted_under: list[str] = []  # the keys the histories' payloads are encrypted under, as found
    decrypted: bool = False  # they were, with keys held here, and so checked against the chain
    missing_key: str | None = None  # the key not held here: verified from the chain alone

    @property
    def intact(self) -> bool:
        return self.verification.intact

    @property
    def witness_note(self) -> str:
        """Whether Temporal's witness could be read: say so beside the verdict."""
        if not self.encrypted_under:
            return "Temporal histories in clear, checked against the chain"
        keys = ", ".join(self.encrypted_under)
        if self.decrypted:
            return f"Temporal histories encrypted under {keys}, decrypted with the key held here and checked"
        return (f"Temporal histories encrypted under {keys}; key {self.missing_key} is not held here, so this is "
                "verified from the chain alone (no witnessed head or state was compared)")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_bundle(path: Path, operation_id: str, records: Sequence[AuditRecord],
                  histories: Sequence[WorkflowHistory], codec: EncryptionCodec | None = None) -> str:
    """Write the bundle; returns the manifest's SHA-256 for the recipient to compare out of band. The
    histories go as Temporal holds them (encrypted); the witnessed heads are read through the codec (by
    default the keys this machine's settings hold)."""
    codec = codec or local_codec()
    files = {"events.jsonl": "".join(r.model_dump_json() + "\n" for r in records).encode()}
    witnesses = [h.model_dump() for history in histories
                 for h in heads_in_history(decrypted_history(history, codec))]
    files["witnesses.json"] = json.dumps(witnesses, indent=1).encode()
    for n, history in enumerate(histories, start=1):
        files[f"history/run-{n}.json"] = history.to_json().encode()
    head = ChainHead(seq=records[-1].seq, hash=records[-1].hash) if records else ChainHead()
    manifest = Manifest(operation_id=operation_id, created_at=datetime.now(UTC), events=len(records),
                        store_head=head, files={name: _digest(data) for name, data in files.items()},
                        histories_encrypted_under=sorted(set().union(*(key_ids_in(h) for h in histories))))
    manifest_bytes = manifest.model_dump_json(indent=1).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("manifest.json", manifest_bytes)
        for name, data in files.items():
            bundle.writestr(name, data)
    return _digest(manifest_bytes)


def _finding(operation_id: str, problem: str) -> ChainFinding:
    return ChainFinding(stream_id=operation_id, seq=0, problem=problem)


class BundleUnreadable(ValueError):
    """The file is not an audit bundle at all: nothing in it can be checked."""


def _read_bundle(path: Path) -> tuple[dict[str, bytes], bytes, Manifest]:
    if not path.is_file():
        raise BundleUnreadable(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as bundle:
            contents = {name: bundle.read(name) for name in bundle.namelist()}
    except zipfile.BadZipFile:
        raise BundleUnreadable(f"{path}: not an audit bundle (not a zip file); "
                               "write one with `liaison audit export`") from None
    if "manifest.json" not in contents:
        raise BundleUnreadable(f"{path}: not an audit bundle: it has no manifest.json")
    manifest_bytes = contents.pop("manifest.json")
    try:
        manifest = Manifest.model_validate_json(manifest_bytes)
    except ValidationError as error:
        raise BundleUnreadable(f"{path}: manifest.json is not a {FORMAT} manifest: "
                               f"{error.errors()[0]['msg']} at {_where(error)}") from None
    return contents, manifest_bytes, manifest


def _where(error: ValidationError) -> str:
    return ".".join(str(part) for part in error.errors()[0]["loc"]) or "(top level)"


def _records(contents: dict[str, bytes], problems: list[str]) -> list[AuditRecord]:
    records = []
    for number, line in enumerate(contents.get("events.jsonl", b"").decode(errors="replace").splitlines(), 1):
        if not line:
            continue
        try:
            records.append(AuditRecord.model_validate_json(line))
        except ValidationError as error:
            problems.append(f"events.jsonl line {number}: not an audit record ({_where(error)})")
    return records


def _histories(contents: dict[str, bytes], operation_id: str, problems: list[str]) -> list[WorkflowHistory]:
    histories = []
    for name, data in sorted(contents.items()):
        if not name.startswith("history/"):
            continue
        try:
            histories.append(WorkflowHistory.from_json(operation_id, json.loads(data)))
        except (ValueError, TypeError, KeyError, json_format.Error) as error:
            problems.append(f"{name}: not a Temporal history ({str(error).splitlines()[0]})")
    return histories


def _readable(histories: list[WorkflowHistory], codec: EncryptionCodec,
              problems: list[str]) -> tuple[list[WorkflowHistory], str | None]:
    """The histories decrypted, or none and the key not held (then the chain is checked alone)."""
    readable = []
    for n, history in enumerate(histories, start=1):
        try:
            readable.append(decrypted_history(history, codec))
        except PayloadKeyMissing:
            return [], min(key_ids_in(history) - set(codec.keyring.keys))
        except PayloadUndecryptable as error:  # altered, or moved here from another operation
            problems.append(f"history run {n}: {error}")
    return readable, None


def verify_bundle(path: Path, codec: EncryptionCodec | None = None) -> BundleReport:
    """Check digests, the chain, and the chain against the heads in the bundled Temporal histories, which
    are decrypted with the codec (by default the keys this machine's settings hold); without the key the
    chain is checked alone, and the report says so.

    A damaged part becomes a finding; only a file that is no bundle at all raises BundleUnreadable.
    """
    contents, manifest_bytes, manifest = _read_bundle(path)
    problems = [f"{name}: digest differs from the manifest" for name, digest in manifest.files.items()
                if name not in contents or _digest(contents[name]) != digest]
    problems += [f"{name}: not listed in the manifest" for name in contents if name not in manifest.files]
    records = _records(contents, problems)
    histories = _histories(contents, manifest.operation_id, problems)
    encrypted_under = sorted(set().union(*(key_ids_in(h) for h in histories)))
    readable, missing_key = _readable(histories, codec or local_codec(), problems)
    witnesses = [h for history in readable for h in heads_in_history(history)]
    states = [s for history in readable for s in states_in_history(history)]
    verification = verify_records(manifest.operation_id, records, witnesses, states=states)
    verification.findings[:0] = [_finding(manifest.operation_id, p) for p in problems]
    if not histories:
        verification.findings.append(_finding(manifest.operation_id, "the bundle holds no Temporal history"))
    return BundleReport(manifest=manifest, manifest_sha256=_digest(manifest_bytes), verification=verification,
                        histories=len(histories), encrypted_under=encrypted_under,
                        decrypted=bool(encrypted_under) and missing_key is None, missing_key=missing_key)
