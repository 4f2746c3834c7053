"""Signed RFC 6962 checkpoints of the global audit log: taking them, proving consistency between
them and the current log, and proving that an event is included in one."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from domain.merkle import audit_leaf, consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion
from domain.signing import Checkpoint, key_id, load_private_key, verify_checkpoint
from services.record_views import InclusionProof
from services.views import CheckpointReport
from store.audit_log import AuditLog
from store.checkpoints import Checkpoints, global_leaves, iter_global_records, make_checkpoint, settled_position


def generate_key() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as (private PEM PKCS#8 unencrypted, public PEM SubjectPublicKeyInfo);
    here, not in domain/, because it draws on the OS random source."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption())
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem


def signing_key(path: Path, create: bool = False) -> bytes:
    """The Ed25519 private key (PEM) from configuration; created (mode 0600) on first use if asked."""
    if path.exists():
        return path.read_bytes()
    if not create:
        raise FileNotFoundError(f"no checkpoint signing key at {path}")
    private_pem, _ = generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    return private_pem


def public_key_of(private_pem: bytes) -> bytes:
    return load_private_key(private_pem).public_key().public_bytes_raw()


def take_checkpoint(engine: Engine, private_pem: bytes, now: datetime | None = None) -> tuple[Checkpoint, bool]:
    """Sign the root over the settled global log and store it; False when that size was already signed."""
    checkpoint = make_checkpoint(engine, private_pem, now or datetime.now(UTC), settled_position(engine))
    return checkpoint, Checkpoints(engine).add(checkpoint)


def verify_checkpoints(engine: Engine, public_key: bytes) -> CheckpointReport:
    """Every checkpoint is signed by the key and is a prefix of the current log (consistency proofs)."""
    leaves = global_leaves(engine)
    current_root = root(leaves)
    findings: list[str] = []
    checkpoints = [cp for cp in Checkpoints(engine).all() if cp.key_id == key_id(public_key)]
    for cp in checkpoints:
        label = f"checkpoint of size {cp.log_size} ({cp.issued_at:%Y-%m-%d %H:%M:%S})"
        if not verify_checkpoint(public_key, cp):
            findings.append(f"{label}: signature does not verify")
        if cp.log_size > len(leaves):
            findings.append(f"{label}: the log now holds only {len(leaves)} events (truncated)")
            continue
        proof = consistency_proof(cp.log_size, leaves)
        if not verify_consistency(cp.log_size, len(leaves), cp.root, current_root, proof):
            findings.append(f"{label}: not a prefix of the current log (events before position "
                            f"{cp.log_size} were altered, removed or reordered)")
    return CheckpointReport(log_size=len(leaves), checkpoints=len(checkpoints), findings=findings)


def prove_inclusion(engine: Engine, operation_id: str, seq: int, checkpoint: Checkpoint) -> InclusionProof:
    """The audit path from one event to a checkpoint's root, checked."""
    records = AuditLog(engine).read(operation_id, upto_seq=seq)
    if not records or records[-1].seq != seq:
        raise LookupError(f"operation {operation_id} has no event #{seq}")
    target = records[-1]
    index = next(i for i, r in enumerate(iter_global_records(engine)) if r.position == target.position)
    if index >= checkpoint.log_size:
        raise LookupError(f"event #{seq} of {operation_id} came after the checkpoint of size {checkpoint.log_size}; "
                          "take a newer checkpoint")
    leaves = global_leaves(engine)[:checkpoint.log_size]
    path = inclusion_proof(index, leaves)
    ok = verify_inclusion(index, checkpoint.log_size, audit_leaf(target), path, checkpoint.root)
    return InclusionProof(operation_id=operation_id, seq=seq, leaf_index=index, checkpoint=checkpoint,
                          proof=[p.hex() for p in path], verified=ok)
