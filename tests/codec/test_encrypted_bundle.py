"""An exported bundle keeps the histories as Temporal holds them (encrypted) and says so; it verifies
against Temporal's witness with the key, and without it from the chain alone, saying that too."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from sqlalchemy import Engine
from temporalio.client import Client

from domain.audit import AuditRecord, chained
from gateway.bundle import Manifest, export_bundle, verify_bundle
from gateway.codec import EncryptionCodec, Keyring, codec_of
from gateway.operations import OperationsGateway
from gateway.witness import histories
from store.audit_log import AuditLog
from tests.workflows.scenario import Scenario


def forged(bundle: Path, target: Path) -> Path:
    """The bundle with its first event's justification rewritten and the chain and manifest recomputed,
    as a forger holding no key would: only Temporal's witness, inside the encrypted histories, tells."""
    with zipfile.ZipFile(bundle) as source:
        contents = {name: source.read(name) for name in source.namelist()}
    records = [AuditRecord.model_validate_json(line) for line in contents["events.jsonl"].decode().splitlines()]
    records[0] = records[0].model_copy(update={"justification": "forged"})
    lines, prev = [], records[0].prev_hash
    for record in records:
        rechained = chained(record, prev)
        lines.append(rechained.model_dump_json())
        prev = rechained.hash
    contents["events.jsonl"] = ("\n".join(lines) + "\n").encode()
    manifest = Manifest.model_validate_json(contents["manifest.json"])
    manifest.files["events.jsonl"] = hashlib.sha256(contents["events.jsonl"]).hexdigest()
    manifest.store_head = manifest.store_head.model_copy(update={"hash": prev})
    contents["manifest.json"] = manifest.model_dump_json().encode()
    with zipfile.ZipFile(target, "w") as out:
        for name, data in contents.items():
            out.writestr(name, data)
    return target


async def test_an_encrypted_bundle_verifies_with_the_key_or_from_the_chain_alone(
        gateway: OperationsGateway, temporal_client: Client, session_engine: Engine, operation_id: str,
        tmp_path: Path) -> None:
    await Scenario(gateway, operation_id).to_prepare()
    codec = codec_of(temporal_client.data_converter)
    assert codec is not None
    bundle = tmp_path / "bundle.zip"
    export_bundle(bundle, operation_id, AuditLog(session_engine).read(operation_id),
                  await histories(temporal_client, operation_id), codec)

    with_key = verify_bundle(bundle, codec)
    assert with_key.manifest.histories_encrypted_under == with_key.encrypted_under == ["tests"]
    assert with_key.intact and with_key.decrypted and with_key.verification.witnesses > 0
    assert with_key.witness_note == ("Temporal histories encrypted under tests, decrypted with the key held here "
                                     "and checked")
    assert verify_bundle(bundle).decrypted  # by default, the keys this machine's settings hold

    keyless = EncryptionCodec(Keyring())
    without = verify_bundle(bundle, keyless)
    assert without.intact and not without.decrypted and without.missing_key == "tests"
    assert without.verification.witnesses == 0
    assert "key tests is not held here, so this is verified from the chain alone" in without.witness_note

    fake = forged(bundle, tmp_path / "forged.zip")
    assert verify_bundle(fake, keyless).intact  # a recomputed chain is consistent in itself ...
    caught = verify_bundle(fake, codec)  # ... but not with what the workflow witnessed
    assert not caught.intact and any("rewritten" in f.problem or "edited" in f.problem
                                     for f in caught.verification.findings), caught.verification.findings
