"""The deconfliction index at scale: N identifiers + N persons, then 1,000 checks, on SQLite and PostgreSQL.

    python -m bench.index_scale [--sizes 1000000] [--quick] [--backends sqlite,postgres]

The index is built with ``DeconflictionIndex.bulk_load`` from synthetic targets (one identifier - phone,
IBAN or plate - and one person each; names from a syllable generator, dates of birth 1940-2005, 3% year
only). Then 1,000 new targets are checked: half copy an indexed target in another form (a phone written
nationally, an IBAN in groups, "SURNAME Given" with the date of birth transposed or year-only, or a
one-letter typo), half are new. Reported: build time, index size, the time of one batched check of the
1,000 identifiers and of the 1,000 persons, the mean latency of single-entry checks, and the hits found.
Targets from the issue: identifiers well under 100 ms and persons under 1 s per 1,000 checks.

PostgreSQL runs in a scratch database liaison_bench_<hex> on LIAISON_BENCH_POSTGRES_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from domain.deconfliction import EntryKind, IndexEntry, person_entry
from store.db import make_engine, upgrade
from store.index import DeconflictionIndex

console = Console(width=None if sys.stdout.isatty() else 120)
ADMIN_URL = os.environ.get("LIAISON_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHECKS = 1_000
SINGLE_CHECKS = 100

_ONSETS = ["b", "d", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "st", "dr", "kr", "pl", "tr", "zh",
           "ch", "sh", "h", "f", "y", "ts", "br", "gr", "sl", "ml"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou", "ia"]
_SURNAME_ENDINGS = ["ov", "ova", "ev", "eva", "ski", "ska", "opoulos", "idis", "akis", "ou", "escu", "ic", "mann",
                    "er", "enko", "yan", "oglu", "ez", "elli", "sen"]
_STATES = ["BG", "GR", "DE", "RO", "IT", "AT"]


def _syllables(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(n))


@dataclass(frozen=True)
class Synthetic:
    given: str
    surname: str
    dob: str
    identifier: str
    state: str


def _iban(rng: random.Random) -> str:
    bban = "BNBG" + "".join(rng.choice("0123456789") for _ in range(14))
    digits = "".join(str(int(c, 36)) for c in bban + "BG00")
    return f"BG{98 - int(digits) % 97:02d}{bban}"


def synthetic(rng: random.Random, i: int) -> Synthetic:
    given = _syllables(rng, rng.choice((2, 2, 3)))
    surname = _syllables(rng, rng.choice((1, 2, 2, 3))) + rng.choice(_SURNAME_ENDINGS)
    year = rng.randint(1940, 2005)
    dob = str(year) if rng.random() < 0.03 else f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    kind = i % 3
    if kind == 0:
        identifier = f"phone:+359{rng.choice('789')}{rng.randint(10_000_000, 99_999_999)}"
    elif kind == 1:
        identifier = f"iban:{_iban(rng)}"
    else:
        identifier = f"vehicle:BG:{rng.choice('ABCEHKMPTX')}{rng.randint(1000, 9999)}{rng.choice('ABCEHKMPTX')}" \
                     f"{rng.choice('ABCEHKMPTX')}{i}"
    return Synthetic(given, surname, dob, identifier, rng.choice(_STATES))


def entries_of(s: Synthetic, ref: str) -> list[IndexEntry]:
    return [IndexEntry(kind=EntryKind.IDENTIFIER, member_state=s.state, ref=ref, key=s.identifier),
            person_entry([(s.given, s.surname)], s.dob, s.state, ref)]


def variant_of(s: Synthetic, rng: random.Random) -> tuple[str, str, str]:
    """Another way the same target is written (the identifier as its normalised key: the normaliser's own
    tests cover the writing forms)."""
    given, surname, dob = s.given, s.surname, s.dob
    choice = rng.random()
    if choice < 0.4:
        given, surname = surname, given  # "SURNAME Given" read without the capitals
    elif choice < 0.7:
        i = rng.randrange(1, len(surname))
        surname = surname[:i] + rng.choice("aeioulnr") + surname[i + 1:]  # one letter off
    if len(dob) == 10:
        form = rng.random()
        if form < 0.3:
            dob = dob[:4]
        elif form < 0.6 and int(dob[8:10]) <= 12:
            dob = f"{dob[:4]}-{dob[8:10]}-{dob[5:7]}"
    return given, surname, dob


@dataclass
class Figures:
    backend: str
    size: int
    build_s: float
    rows: int
    identifiers_ms: float
    persons_ms: float
    single_identifier_ms: float
    single_person_ms: float
    identifier_hits: int
    person_hits: int
    planted: int


def run_backend(backend: str, url: str, n: int, seed: int = 7) -> Figures:
    upgrade(url)
    engine = make_engine(url)
    try:
        return _run(backend, engine, n, seed)
    finally:
        engine.dispose()


def _run(backend: str, engine: Engine, n: int, seed: int) -> Figures:
    index = DeconflictionIndex(engine)
    rng = random.Random(seed)
    indexed: list[Synthetic] = []
    keep_every = max(1, n // (CHECKS // 2))

    def generate() -> Iterator[tuple[str, IndexEntry]]:
        for i in range(n):
            s = synthetic(rng, i)
            if i % keep_every == 0 and len(indexed) < CHECKS // 2:
                indexed.append(s)
            for entry in entries_of(s, f"t-{i}"):
                yield f"op-{i // 50}", entry

    started = time.perf_counter()
    with Progress(TextColumn(f"[bold]{backend}[/] building {n:,} + {n:,}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False) as progress:
        task = progress.add_task("build", total=2 * n)
        index.bulk_load(generate(), progress=lambda k: progress.advance(task, k))
    build_s = time.perf_counter() - started
    rows = _rows(engine)

    check_rng = random.Random(seed + 1)
    queries: list[list[IndexEntry]] = []
    for j, s in enumerate(indexed):
        given, surname, dob = variant_of(s, check_rng)
        queries.append(entries_of(Synthetic(given, surname, dob, s.identifier, "EL"), f"q-{j}"))
    while len(queries) < CHECKS:
        queries.append(entries_of(synthetic(check_rng, len(queries) + 10 * n), f"q-{len(queries)}"))
    identifier_queries = [q[0] for q in queries]
    person_queries = [q[1] for q in queries]

    index.check(identifier_queries[:10] + person_queries[:10], exclude_operation_id="op-check")  # warm up
    started = time.perf_counter()
    identifier_hits = index.check(identifier_queries, exclude_operation_id="op-check")
    identifiers_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    person_hits = index.check(person_queries, exclude_operation_id="op-check")
    persons_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    for entry in identifier_queries[-SINGLE_CHECKS:]:
        index.check([entry])
    single_identifier_ms = (time.perf_counter() - started) * 1000 / SINGLE_CHECKS
    started = time.perf_counter()
    for entry in person_queries[-SINGLE_CHECKS:]:
        index.check([entry])
    single_person_ms = (time.perf_counter() - started) * 1000 / SINGLE_CHECKS
    return Figures(backend, n, build_s, rows, identifiers_ms, persons_ms, single_identifier_ms, single_person_ms,
                   len({h.ref for h in identifier_hits}), len({h.ref for h in person_hits}), len(indexed))


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return sum(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in (
            "deconfliction_identifiers", "deconfliction_persons", "deconfliction_person_keys"))


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="liaison-index-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'index.db'}"


@contextmanager
def postgres_url() -> Iterator[str]:
    name = f"liaison_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000", help="comma-separated N (identifiers = persons = N)")
    parser.add_argument("--quick", action="store_true", help="N = 10,000, for a smoke run")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",")]
    results = []
    for n in sizes:
        for backend in args.backends.split(","):
            with (sqlite_url() if backend == "sqlite" else postgres_url()) as url:
                results.append(run_backend(backend, url, n))
    table = Table(title=f"Deconfliction index: {CHECKS:,} checks against N identifiers + N persons")
    for column in ("backend", "N", "build s", "rows", f"{CHECKS:,} identifiers ms", f"{CHECKS:,} persons ms",
                   "1 identifier ms", "1 person ms", "identifier hits", "person hits", "planted"):
        table.add_column(column, justify="right")
    for f in results:
        table.add_row(f.backend, f"{f.size:,}", f"{f.build_s:.1f}", f"{f.rows:,}", f"{f.identifiers_ms:.1f}",
                      f"{f.persons_ms:.1f}", f"{f.single_identifier_ms:.2f}", f"{f.single_person_ms:.2f}",
                      str(f.identifier_hits), str(f.person_hits), str(f.planted))
    console.print(table)
    console.print("targets: identifiers well under 100 ms and persons under 1,000 ms per 1,000 checks "
                  "(one batched check call each); hits count checked targets with at least one hit.")


if __name__ == "__main__":
    main()
