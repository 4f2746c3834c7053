"""RFC 6962 Merkle trees over the global audit log, as pure functions (hashlib only).

The tree is the Merkle Tree Hash of RFC 6962 section 2.1 (restated in RFC 9162 section 2.1.1):

    MTH({})       = SHA-256()
    MTH({d0})     = SHA-256(0x00 || d0)                             -- leaf_hash
    MTH(D[n])     = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))     -- k: largest power of two < n

Every function below that takes ``leaf_hashes`` expects leaf hashes already computed with
``leaf_hash`` (so a caller can cache them), not the raw leaf data. Proofs are lists of 32-byte
hashes in the order of RFC 6962 sections 2.1.1 (audit path) and 2.1.2 (consistency proof), i.e.
from the leaves upwards; the verifiers are the algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2.

The leaf of an audit record is ``audit_leaf(record)``: the leaf hash of the record's chain hash (64
ASCII hex digits, fixed width, so the concatenation is unambiguous) followed by its canonical bytes
(``domain.audit.canonical_bytes``). The leaf thus commits to the record's content and, through its
chain hash, to the whole stream before it; the leaf's index in the tree is its rank in the global
log ordered by position.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from domain.audit import AuditRecord, canonical_bytes

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def audit_leaf(record: AuditRecord) -> bytes:
    """The leaf hash of a chained audit record: leaf_hash(record.hash (ASCII hex) || canonical_bytes)."""
    if len(record.hash) != 2 * HASH_SIZE:
        raise ValueError(f"record {record.stream_id} #{record.seq} is not chained (no 64-hex hash)")
    return leaf_hash(record.hash.encode("ascii") + canonical_bytes(record))


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes. Iterative, level by level: O(n) hashes, no recursion over slices.

    Pairing neighbours level by level and carrying an unpaired last node up unchanged builds exactly
    the RFC 6962 tree: the left subtree at every split is a complete tree of 2^j leaves.
    """
    if not leaves:
        return EMPTY_ROOT
    sha256, prefix = hashlib.sha256, _NODE_PREFIX
    level = leaves
    while len(level) > 1:
        odd = len(level) & 1
        paired = [sha256(prefix + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if odd:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]) of RFC 6962 section 2.1.1: the audit path of one leaf, bottom first."""
    n = len(leaf_hashes)
    if not 0 <= index < n:
        raise IndexError(f"leaf index {index} outside a tree of {n} leaves")
    top_down: list[bytes] = []
    lo, hi = 0, n
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            top_down.append(root(leaf_hashes[lo + k:hi]))
            hi = lo + k
        else:
            top_down.append(root(leaf_hashes[lo:lo + k]))
            lo += k
    return top_down[::-1]


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 section 2.1.2 between the first old_size leaves and all of them.

    Empty when old_size is 0 or n (nothing to prove: every tree extends the empty one).
    """
    n = len(leaf_hashes)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} outside 0..{n}")
    if old_size in (0, n):
        return []
    top_down: list[bytes] = []
    lo, hi, m, complete = 0, n, old_size, True  # SUBPROOF(m, D[lo:hi], complete)
    while True:
        if m == hi - lo:
            if not complete:
                top_down.append(root(leaf_hashes[lo:hi]))
            break
        k = _split(hi - lo)
        if m <= k:
            top_down.append(root(leaf_hashes[lo + k:hi]))
            hi = lo + k
        else:
            top_down.append(root(leaf_hashes[lo:lo + k]))
            lo, m, complete = lo + k, m - k, False
    return top_down[::-1]


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: does the audit path prove leaf (a leaf hash) at index in the tree?"""
    if not (0 <= index < size and _is_hash(leaf) and _is_hash(root_hash) and all(map(_is_hash, proof))):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of new_size an append-only extension of old_size's?

    Beyond the RFC's algorithm (defined for 0 < old_size < new_size): equal sizes need an empty
    proof and equal roots; old_size 0 needs an empty proof and old_root = SHA-256("").
    """
    proof = list(proof)
    if not (0 <= old_size <= new_size and _is_hash(old_root) and _is_hash(new_root)
            and all(map(_is_hash, proof))):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        proof.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
