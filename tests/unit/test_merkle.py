"""RFC 6962 Merkle trees and signed checkpoints: reference vectors, the RFC's worked example, and
properties against a literal transcription of the RFC's recursive definitions."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.audit import GENESIS_HASH, AuditRecord, canonical_bytes, chained
from domain.merkle import (
    EMPTY_ROOT,
    audit_leaf,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from domain.signing import (
    Checkpoint,
    checkpoint_message,
    key_id,
    raw_public_key,
    sign_checkpoint,
    verify_checkpoint,
)
from gateway.checkpoints import generate_key

# --- the certificate-transparency / transparency-dev reference vectors ---------------------------

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
HASHES = [leaf_hash(leaf) for leaf in LEAVES]
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # size 0: SHA-256("")
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]


def hx(*values: str) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


INCLUSION_VECTORS = [  # (index, size, audit path), 0-based indices
    (0, 1, []),
    (0, 2, hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7")),
    (1, 2, hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")),
    (2, 3, hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (1, 5, hx("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
    (0, 8, hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (5, 8, hx("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
]

CONSISTENCY_VECTORS = [  # (old size, new size, proof)
    (1, 1, []),
    (1, 8, hx("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (2, 5, hx("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
    (6, 8, hx("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
]


def test_empty_tree_is_sha256_of_nothing() -> None:
    assert root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest() == ROOTS[0]


@pytest.mark.parametrize("size", range(9))
def test_reference_roots(size: int) -> None:
    assert root(HASHES[:size]) == ROOTS[size]


def test_leaf_and_node_prefixes() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest() == ROOTS[1]
    assert node_hash(HASHES[0], HASHES[1]) == hashlib.sha256(b"\x01" + HASHES[0] + HASHES[1]).digest() == ROOTS[2]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_reference_inclusion_proofs(index: int, size: int, path: list[bytes]) -> None:
    assert inclusion_proof(index, HASHES[:size]) == path
    assert verify_inclusion(index, size, HASHES[index], path, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_reference_consistency_proofs(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, HASHES[:new]) == proof
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def test_every_proof_of_the_reference_leaves_verifies() -> None:
    for size in range(1, 9):
        for index in range(size):
            proof = inclusion_proof(index, HASHES[:size])
            assert verify_inclusion(index, size, HASHES[index], proof, ROOTS[size])
        for old in range(size + 1):
            proof = consistency_proof(old, HASHES[:size])
            assert verify_consistency(old, size, ROOTS[old], ROOTS[size], proof)


# --- RFC 6962 section 2.1.3, the worked example with seven leaves d0..d6 -------------------------
#
#             hash                       hash0 (size 3)   hash1 (size 4)   hash2 (size 6)
#           /      \                       /  \             /  \              /  \
#          k        l                     g    c           g    h            k    i
#        /   \     /  \                  / \   |          / \  / \         /   \  / \
#       g     h   i    j                a   b  d2        a  b c   d       g     h e  f
#      / \   / \ / \   |                                                  ...
#      a b   c d e f   d6


def _rfc_example() -> dict[str, bytes]:
    a, b, c, d, e, f, d6 = (leaf_hash(f"d{i}".encode()) for i in range(7))
    g, h, i, j = node_hash(a, b), node_hash(c, d), node_hash(e, f), d6
    k, lnode = node_hash(g, h), node_hash(i, j)
    return dict(a=a, b=b, c=c, d=d, e=e, f=f, d6=d6, g=g, h=h, i=i, j=j, k=k, l=lnode,
                hash=node_hash(k, lnode), hash0=node_hash(g, c), hash1=k, hash2=node_hash(k, i))


def test_rfc_example_roots() -> None:
    n = _rfc_example()
    leaves = [n[x] for x in ("a", "b", "c", "d", "e", "f", "d6")]
    assert root(leaves) == n["hash"]
    assert root(leaves[:3]) == n["hash0"]
    assert root(leaves[:4]) == n["hash1"]
    assert root(leaves[:6]) == n["hash2"]


@pytest.mark.parametrize(("index", "path"), [(0, "b h l"), (3, "c g l"), (4, "f j k"), (6, "i k")])
def test_rfc_example_audit_paths(index: int, path: str) -> None:
    n = _rfc_example()
    leaves = [n[x] for x in ("a", "b", "c", "d", "e", "f", "d6")]
    expected = [n[x] for x in path.split()]
    assert inclusion_proof(index, leaves) == expected
    assert verify_inclusion(index, 7, leaves[index], expected, n["hash"])


@pytest.mark.parametrize(("old", "old_root", "proof"), [
    (3, "hash0", "c d g l"), (4, "hash1", "l"), (6, "hash2", "i j k")])
def test_rfc_example_consistency_proofs(old: int, old_root: str, proof: str) -> None:
    n = _rfc_example()
    leaves = [n[x] for x in ("a", "b", "c", "d", "e", "f", "d6")]
    expected = [n[x] for x in proof.split()]
    assert consistency_proof(old, leaves) == expected
    assert verify_consistency(old, 7, n[old_root], n["hash"], expected)


# --- edge cases ----------------------------------------------------------------------------------

def test_out_of_range_requests_are_refused() -> None:
    with pytest.raises(IndexError):
        inclusion_proof(0, [])
    with pytest.raises(IndexError):
        inclusion_proof(3, HASHES[:3])
    with pytest.raises(ValueError):
        consistency_proof(4, HASHES[:3])
    with pytest.raises(ValueError):
        consistency_proof(-1, HASHES[:3])


def test_verifiers_reject_malformed_input() -> None:
    path = inclusion_proof(2, HASHES[:5])
    assert not verify_inclusion(5, 5, HASHES[2], path, ROOTS[5])
    assert not verify_inclusion(-1, 5, HASHES[2], path, ROOTS[5])
    assert not verify_inclusion(2, 0, HASHES[2], path, ROOTS[5])
    assert not verify_inclusion(2, 5, HASHES[2][:31], path, ROOTS[5])
    assert not verify_inclusion(2, 5, HASHES[2], [*path[:-1], path[-1] + b"x"], ROOTS[5])
    assert not verify_inclusion(0, 1, HASHES[0], [HASHES[1]], ROOTS[1])  # a path longer than the tree
    assert not verify_consistency(5, 3, ROOTS[5], ROOTS[3], [])  # shrinking
    assert not verify_consistency(3, 5, ROOTS[3], ROOTS[5], [])  # empty proof for a real extension
    assert not verify_consistency(3, 3, ROOTS[3], ROOTS[3], [HASHES[0]])
    assert not verify_consistency(3, 3, ROOTS[3], ROOTS[4], [])
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert not verify_consistency(0, 5, ROOTS[1], ROOTS[5], [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [HASHES[0]])


# --- properties, against the RFC's recursive definitions transcribed literally -------------------

def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], complete: bool) -> list[bytes]:
    if m == len(d):
        return [] if complete else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], complete), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def leaves_of(n: int, salt: int) -> list[bytes]:
    return [leaf_hash(f"{salt}:{i}".encode()) for i in range(n)]


def flip(value: bytes, at: int = 0) -> bytes:
    at %= len(value)
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1:]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300), st.integers(0, 2**32))
def test_root_matches_the_recursive_definition(n: int, salt: int) -> None:
    assert root(leaves_of(n, salt)) == ref_mth(leaves_of(n, salt))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 130), st.integers(0, 2**32), st.data())
def test_every_inclusion_proof_verifies_and_tampering_fails(n: int, salt: int, data: st.DataObject) -> None:
    leaves = leaves_of(n, salt)
    tree_root = root(leaves)
    for index in range(n):
        proof = inclusion_proof(index, leaves)
        assert proof == ref_path(index, leaves)
        assert verify_inclusion(index, n, leaves[index], proof, tree_root)
        assert not verify_inclusion(index, n, flip(leaves[index], index), proof, tree_root)
        assert not verify_inclusion(index, n, leaves[index], proof, flip(tree_root))
        assert not verify_inclusion(index, n, leaves[index], [*proof, leaves[0]], tree_root)
        if proof:
            at = data.draw(st.integers(0, len(proof) - 1), label="tampered element")
            tampered = [flip(p, index) if i == at else p for i, p in enumerate(proof)]
            assert not verify_inclusion(index, n, leaves[index], tampered, tree_root)
            assert not verify_inclusion(index, n, leaves[index], proof[:-1], tree_root)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 300), st.integers(0, 2**32), st.data())
def test_consistency_proofs_verify_and_fail_for_another_old_root(n: int, salt: int, data: st.DataObject) -> None:
    m = data.draw(st.integers(0, n), label="old size")
    leaves = leaves_of(n, salt)
    old_root, new_root = root(leaves[:m]), root(leaves)
    proof = consistency_proof(m, leaves)
    if 0 < m < n:
        assert proof == ref_subproof(m, leaves, True)
    assert verify_consistency(m, n, old_root, new_root, proof)
    assert not verify_consistency(m, n, flip(old_root), new_root, proof)
    if m > 0:  # every tree extends the empty one, whatever its root
        assert not verify_consistency(m, n, old_root, flip(new_root), proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="tampered element")
        tampered = [flip(p, at) if i == at else p for i, p in enumerate(proof)]
        assert not verify_consistency(m, n, old_root, new_root, tampered)
    if 0 < m < n:  # a rewritten history: the same old size but one old leaf changed
        forked = [*leaves[:m - 1], flip(leaves[m - 1]), *leaves[m:]]
        assert not verify_consistency(m, n, root(forked[:m]), new_root, proof)
        assert not verify_consistency(m, n, old_root, root(forked), consistency_proof(m, forked))


# --- audit leaves ---------------------------------------------------------------------------------

def _record(n: int = 1) -> AuditRecord:
    return AuditRecord(stream_id="op-1", seq=n, event_id=f"e{n}", type="target_added",
                       payload={"target": {"name": "Иван Петров"}}, actor_id="lo-bg",
                       actor_role="liaison_officer", member_state="BG", justification="lead",
                       occurred_at=datetime(2030, 3, 1, 8, tzinfo=UTC))


def test_audit_leaf_commits_to_chain_hash_and_content() -> None:
    first = chained(_record(), GENESIS_HASH)
    assert audit_leaf(first) == leaf_hash(first.hash.encode("ascii") + canonical_bytes(first))
    assert audit_leaf(first) != audit_leaf(first.model_copy(update={"justification": "other"}))
    assert audit_leaf(first) != audit_leaf(first.model_copy(update={"hash": "f" * 64}))
    with pytest.raises(ValueError, match="not chained"):
        audit_leaf(_record())


# --- signed checkpoints ---------------------------------------------------------------------------

T = datetime(2030, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return generate_key()


def test_sign_and_verify_round_trip(keys: tuple[bytes, bytes]) -> None:
    private_pem, public_pem = keys
    checkpoint = sign_checkpoint(private_pem, 8, ROOTS[8], T)
    assert checkpoint.log_size == 8 and checkpoint.root == ROOTS[8] and checkpoint.issued_at == T
    assert checkpoint.key_id == hashlib.sha256(raw_public_key(public_pem)).hexdigest()[:16] == key_id(public_pem)
    assert verify_checkpoint(public_pem, checkpoint)
    assert verify_checkpoint(public_pem.decode(), checkpoint)
    assert verify_checkpoint(raw_public_key(public_pem), checkpoint)
    assert verify_checkpoint(public_pem, Checkpoint.model_validate_json(checkpoint.model_dump_json()))
    assert sign_checkpoint(private_pem.decode(), 8, ROOTS[8], T) == checkpoint  # Ed25519 is deterministic


def test_message_is_a_fixed_text() -> None:
    odd_zone = timezone(timedelta(hours=2))
    assert checkpoint_message(8, ROOTS[8], T.astimezone(odd_zone)) == (
        b"liaison/audit-log checkpoint v1\n8\n"
        b"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\n"
        b"2030-03-01T08:00:00.123456Z\n")
    with pytest.raises(ValueError):
        checkpoint_message(-1, ROOTS[8], T)
    with pytest.raises(ValueError):
        checkpoint_message(1, ROOTS[8][:31], T)


@pytest.mark.parametrize("change", [
    {"log_size": 9}, {"log_size": 7}, {"root_hex": ROOTS[7].hex()},
    {"issued_at": T + timedelta(microseconds=1)}])
def test_a_changed_field_fails_verification(keys: tuple[bytes, bytes], change: dict[str, object]) -> None:
    private_pem, public_pem = keys
    checkpoint = sign_checkpoint(private_pem, 8, ROOTS[8], T)
    assert not verify_checkpoint(public_pem, checkpoint.model_copy(update=change))


def test_another_key_or_a_bad_signature_fails(keys: tuple[bytes, bytes]) -> None:
    private_pem, public_pem = keys
    checkpoint = sign_checkpoint(private_pem, 8, ROOTS[8], T)
    other_private, other_public = generate_key()
    assert not verify_checkpoint(other_public, checkpoint)
    # claiming the other key's id does not help: the signature is still the first key's
    assert not verify_checkpoint(other_public, checkpoint.model_copy(update={"key_id": key_id(other_public)}))
    forged = sign_checkpoint(other_private, 8, ROOTS[8], T)
    assert not verify_checkpoint(public_pem, forged.model_copy(update={"key_id": checkpoint.key_id}))
    bad = bytes.fromhex(checkpoint.signature_hex)
    assert not verify_checkpoint(public_pem, checkpoint.model_copy(update={"signature_hex": flip(bad, 5).hex()}))


def test_raw_private_keys_and_model_validation() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    checkpoint = sign_checkpoint(raw, 0, EMPTY_ROOT, T)
    assert verify_checkpoint(key.public_key(), checkpoint)
    naive = Checkpoint.model_validate({**checkpoint.model_dump(), "issued_at": T.replace(tzinfo=None)})
    assert naive.issued_at == T and verify_checkpoint(key.public_key(), naive)
    with pytest.raises(ValidationError):
        Checkpoint.model_validate({**checkpoint.model_dump(), "root_hex": "AB" * 32})
    with pytest.raises(ValidationError):
        Checkpoint.model_validate({**checkpoint.model_dump(), "log_size": -1})
