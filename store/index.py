"""The deconfliction index: every live operation's identifiers, persons and action windows, and the
checks against them. Matching is the pure code of domain.deconfliction; this module only files entries
and fetches candidates through indexes (a check never scans a table):

- identifiers: exact lookup of the key (or digest) in an index;
- persons: lookup of the probe keys in deconfliction_person_keys (a name-token code with an agreeing
  date-of-birth form, or privacy digests), then the fuzzy scorer on those few candidates;
- windows: a latitude/longitude bounding box and time overlap in SQL, then haversine.

With a ``privacy_key`` clear entries are turned into digests before they are filed or checked, so the
tables hold no clear identifier, name or date of birth (see domain.deconfliction.entries).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, and_, any_, bindparam, false, func, select, text, true, update
from sqlalchemy import cast as sa_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from domain.deconfliction import match
from domain.deconfliction.entries import EntryKind, Hit, IndexEntry, person_hit, privatise, window_hit
from domain.utc import as_utc
from store.db import write_transaction
from store.tables import (
    deconfliction_identifiers as identifiers_t,
)
from store.tables import (
    deconfliction_person_keys as person_keys_t,
)
from store.tables import (
    deconfliction_persons as persons_t,
)
from store.tables import (
    deconfliction_windows as windows_t,
)

T = TypeVar("T")
_LOOKUP_CHUNK = 900  # bound parameters per IN (...) lookup
_TABLES = {EntryKind.IDENTIFIER: identifiers_t, EntryKind.PERSON: persons_t, EntryKind.WINDOW: windows_t}


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _member_of(conn: Connection, column: Any, values: list[Any]) -> Any:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``: one parameter instead of hundreds."""
    if conn.dialect.name == "postgresql":
        return column == any_(sa_cast(bindparam(None, values, type_=ARRAY(column.type)), ARRAY(column.type)))
    return column.in_(values)


def _lookup_chunk(conn: Connection) -> int:
    return 50_000 if conn.dialect.name == "postgresql" else _LOOKUP_CHUNK


def encode_names(names: Sequence[tuple[str, str]]) -> str:
    return ";".join(f"{given}|{surname}" for given, surname in names)


def decode_names(encoded: str | None) -> tuple[tuple[str, str], ...]:
    if not encoded:
        return ()
    return tuple((given, surname) for given, _, surname in (p.partition("|") for p in encoded.split(";")))


class DeconflictionIndex:
    """The shared deconfliction index over the store's engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, privacy_key: bytes | None = None, radius_km: float = 1.0) -> None:
        self._engine = engine
        self._privacy_key = privacy_key
        self.radius_km = radius_km

    def __repr__(self) -> str:  # never shows the key
        return f"DeconflictionIndex(privacy={self._privacy_key is not None}, radius_km={self.radius_km})"

    @property
    def privacy(self) -> bool:
        return self._privacy_key is not None

    def _prepare(self, entries: Iterable[IndexEntry]) -> list[IndexEntry]:
        key = self._privacy_key
        return [privatise(e, key) for e in entries] if key is not None else list(entries)

    def _insert(self, conn: Connection) -> Any:
        return (sqlite if conn.dialect.name == "sqlite" else postgresql).insert

    # --- filing -------------------------------------------------------------------------------------

    def register(self, operation_id: str, entries: Iterable[IndexEntry]) -> int:
        """File an operation's entries; returns how many were new. Registering the same entries again adds
        nothing (an entry released earlier becomes live again)."""
        added = 0
        with write_transaction(self._engine) as conn:
            insert = self._insert(conn)
            for entry in self._prepare(entries):
                table = _TABLES[entry.kind]
                values = self._row(operation_id, entry)
                row_id = conn.execute(insert(table).values(values).on_conflict_do_nothing()
                                      .returning(table.c.id)).scalar()
                if row_id is None:  # filed before: make it live again if it was released
                    unique = table.c.key if entry.kind is EntryKind.IDENTIFIER else table.c.fingerprint
                    conn.execute(update(table).where(table.c.operation_id == operation_id,
                                                     unique == values[unique.name], table.c.released == true())
                                 .values(released=False))
                    continue
                added += 1
                if entry.kind is EntryKind.PERSON and entry.blocking_keys:
                    conn.execute(insert(person_keys_t).on_conflict_do_nothing(),
                                 [{"key": k, "person_id": row_id} for k in entry.blocking_keys])
        return added

    @staticmethod
    def _row(operation_id: str, entry: IndexEntry) -> dict[str, Any]:
        row: dict[str, Any] = {"operation_id": operation_id, "member_state": entry.member_state,
                               "ref": entry.ref, "released": False}
        if entry.kind is not EntryKind.WINDOW:
            row["handling_code"] = entry.handling_code
        if entry.kind is EntryKind.IDENTIFIER:
            row["key"] = entry.key
        elif entry.kind is EntryKind.PERSON:
            row |= {"fingerprint": entry.key, "names": encode_names(entry.names) or None,
                    "date_of_birth": entry.date_of_birth if entry.names else None}
        else:
            assert entry.start is not None and entry.end is not None
            row |= {"fingerprint": entry.key, "latitude": entry.latitude, "longitude": entry.longitude,
                    "starts_at": as_utc(entry.start), "ends_at": as_utc(entry.end)}
        return row

    def release(self, operation_id: str, refs: Sequence[str] | None = None) -> int:
        """Release an operation's entries (all, or those of the given target / action-day refs): they no
        longer hit. Returns how many were released."""
        released = 0
        with write_transaction(self._engine) as conn:
            for table in _TABLES.values():
                condition = and_(table.c.operation_id == operation_id, table.c.released == false())
                if refs is not None:
                    condition = and_(condition, table.c.ref.in_(list(refs)))
                result = conn.execute(update(table).where(condition).values(released=True))
                released += result.rowcount
        return released

    def bulk_load(self, entries: Iterable[tuple[str, IndexEntry]],
                  progress: Callable[[int], None] | None = None, chunk_size: int = 20_000) -> int:
        """Fast filing of many (operation id, entry) pairs not yet in the index (benchmarks, migrations):
        executemany in chunks, one transaction per chunk. Not for concurrent use with ``register``.
        ``progress`` is called with the number of entries filed by each chunk."""
        total = 0
        with self._engine.connect() as conn:
            next_id = (conn.execute(select(func.max(persons_t.c.id))).scalar() or 0) + 1
        for chunk in _chunks(entries, chunk_size):
            rows: dict[EntryKind, list[dict[str, Any]]] = defaultdict(list)
            key_rows: list[dict[str, Any]] = []
            for operation_id, entry in chunk:
                prepared = privatise(entry, self._privacy_key) if self._privacy_key is not None else entry
                row = self._row(operation_id, prepared)
                if prepared.kind is EntryKind.PERSON:
                    row["id"] = next_id
                    key_rows += [{"key": k, "person_id": next_id} for k in prepared.blocking_keys]
                    next_id += 1
                rows[prepared.kind].append(row)
            with write_transaction(self._engine) as conn:
                insert = self._insert(conn)
                for kind, kind_rows in rows.items():
                    conn.execute(insert(_TABLES[kind]), kind_rows)
                if key_rows:
                    conn.execute(insert(person_keys_t), key_rows)
            total += len(chunk)
            if progress is not None:
                progress(len(chunk))
        if self._engine.dialect.name == "postgresql":
            with write_transaction(self._engine) as conn:
                conn.execute(text("SELECT setval(pg_get_serial_sequence('deconfliction_persons', 'id'), "
                                  "(SELECT COALESCE(MAX(id), 1) FROM deconfliction_persons))"))
            with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in (*_TABLES.values(), person_keys_t):
                    conn.execute(text(f"ANALYZE {table.name}"))
        else:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        return total

    # --- checking -----------------------------------------------------------------------------------

    def check(self, entries: Iterable[IndexEntry], exclude_operation_id: str | None = None) -> list[Hit]:
        """Hits of ``entries`` on the live entries of other operations (``exclude_operation_id`` is
        usually the checking operation itself). One hit per checked entry and other operation's entry (the
        best-scoring, for persons and windows)."""
        clear = list(entries)
        prepared = self._prepare(clear)
        # In privacy mode the index answers in digests; the checker names what matched in its own clear
        # value, which it already holds, so nothing of the other side is revealed.
        own_value = {p.key: c.key for p, c in zip(prepared, clear, strict=True) if p.kind is EntryKind.IDENTIFIER}
        by_kind: dict[EntryKind, list[IndexEntry]] = defaultdict(list)
        for entry in prepared:
            by_kind[entry.kind].append(entry)
        hits: list[Hit] = []
        with self._engine.connect() as conn:
            hits += [h.model_copy(update={"matched": own_value.get(h.matched, h.matched)})
                     for h in self._check_identifiers(conn, by_kind[EntryKind.IDENTIFIER], exclude_operation_id)]
            hits += self._check_persons(conn, by_kind[EntryKind.PERSON], exclude_operation_id)
            hits += self._check_windows(conn, by_kind[EntryKind.WINDOW], exclude_operation_id)
        return hits

    @staticmethod
    def _live(table: Any, exclude_operation_id: str | None) -> Any:
        condition = table.c.released == false()
        if exclude_operation_id is not None:
            condition = and_(condition, table.c.operation_id != exclude_operation_id)
        return condition

    def _check_identifiers(self, conn: Connection, entries: list[IndexEntry],
                           exclude: str | None) -> list[Hit]:
        refs: dict[str, list[str]] = defaultdict(list)
        for entry in entries:
            refs[entry.key].append(entry.ref)
        hits: dict[tuple[str, str, str], Hit] = {}
        t = identifiers_t
        for keys in _chunks(refs, _lookup_chunk(conn)):
            rows = conn.execute(select(t.c.key, t.c.operation_id, t.c.member_state, t.c.ref, t.c.handling_code)
                                .where(_member_of(conn, t.c.key, keys), self._live(t, exclude)))
            for key, operation_id, member_state, other_ref, handling_code in rows:
                for ref in refs[key]:
                    hits.setdefault((key, ref, operation_id), Hit(
                        kind=EntryKind.IDENTIFIER, matched=key, ref=ref, operation_id=operation_id,
                        member_state=member_state, score=1.0, other_ref=other_ref,
                        other_handling_code=handling_code))
        return list(hits.values())

    def _check_persons(self, conn: Connection, entries: list[IndexEntry], exclude: str | None) -> list[Hit]:
        wanted: dict[str, list[int]] = defaultdict(list)
        for i, entry in enumerate(entries):
            for key in entry.probe_keys:
                wanted[key].append(i)
        candidates: dict[int, set[int]] = defaultdict(set)  # query entry -> person ids
        p, k = persons_t, person_keys_t
        # Two index lookups rather than one join: on a large table PostgreSQL's planner misjudges the join
        # of a long IN list and scans the persons table (measured: 60 ms against 3 ms per 900 keys).
        for keys in _chunks(wanted, _lookup_chunk(conn)):
            for key, person_id in conn.execute(select(k.c.key, k.c.person_id).where(_member_of(conn, k.c.key, keys))):
                for i in wanted[key]:
                    candidates[i].add(person_id)
        persons: dict[int, Any] = {}
        all_ids = set().union(*candidates.values()) if candidates else set()
        for ids in _chunks(sorted(all_ids), _lookup_chunk(conn)):
            rows = conn.execute(select(p.c.id, p.c.operation_id, p.c.member_state, p.c.ref, p.c.names,
                                       p.c.date_of_birth, p.c.handling_code)
                                .where(_member_of(conn, p.c.id, ids), self._live(p, exclude)))
            persons.update((row.id, row) for row in rows)
        best: dict[tuple[int, str, str], Hit] = {}
        decoded: dict[int, tuple[tuple[str, str], ...]] = {}
        for i, person_ids in candidates.items():
            query = entries[i]
            for person_id in person_ids:
                row = persons.get(person_id)
                if row is None:  # released, or the excluded operation's
                    continue
                names = decoded.get(person_id)
                if names is None:
                    names = decoded[person_id] = decode_names(row.names)
                hit = person_hit(query, names, row.date_of_birth, row.operation_id, row.member_state, row.ref)
                if hit is not None:
                    hit = hit.model_copy(update={"other_handling_code": row.handling_code})
                    slot = (i, row.operation_id, row.ref)
                    if slot not in best or best[slot].score < hit.score:
                        best[slot] = hit
        return list(best.values())

    def _check_windows(self, conn: Connection, entries: list[IndexEntry], exclude: str | None) -> list[Hit]:
        best: dict[tuple[int, str, str], Hit] = {}
        w = windows_t
        for i, entry in enumerate(entries):
            assert entry.latitude is not None and entry.longitude is not None
            assert entry.start is not None and entry.end is not None
            condition = and_(self._live(w, exclude), w.c.starts_at < as_utc(entry.end),
                             w.c.ends_at > as_utc(entry.start))
            box = match.bounding_box(entry.latitude, entry.longitude, self.radius_km)
            if box is not None:
                condition = and_(condition, w.c.latitude.between(box[0], box[1]),
                                 w.c.longitude.between(box[2], box[3]))
            rows = conn.execute(select(w.c.operation_id, w.c.member_state, w.c.ref, w.c.latitude, w.c.longitude,
                                       w.c.starts_at, w.c.ends_at).where(condition))
            for row in rows:
                hit = window_hit(entry, row.latitude, row.longitude, as_utc(row.starts_at), as_utc(row.ends_at),
                                 row.operation_id, row.member_state, self.radius_km, row.ref)
                slot = (i, row.operation_id, row.ref)
                if hit is not None and (slot not in best or best[slot].score < hit.score):
                    best[slot] = hit
        return list(best.values())

    # --- size ---------------------------------------------------------------------------------------

    def count(self, kind: EntryKind | None = None) -> int:
        """Live (unreleased) entries, of one kind or all."""
        kinds = [kind] if kind is not None else list(_TABLES)
        with self._engine.connect() as conn:
            return sum(conn.execute(select(func.count()).select_from(_TABLES[k])
                                    .where(_TABLES[k].c.released == false())).scalar_one() for k in kinds)
