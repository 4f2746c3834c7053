from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from domain.deconfliction import EntryKind, IndexEntry, entries_for_action_day, entries_for_target
from domain.model import ActionDay, HandlingCode, Identifier, IdentifierKind, Place, Target
from store.index import DeconflictionIndex
from store.tables import (
    deconfliction_identifiers,
    deconfliction_person_keys,
    deconfliction_persons,
    deconfliction_windows,
)

KEY = b"index-test-privacy-key"
T0 = datetime(2030, 3, 5, 6, 0, tzinfo=UTC)


def ivan(state: str = "BG", name: str = "Иван Петров", phone: str = "0888 123 456",
         iban: str = "BG80BNBG96611020345678", dob: str = "1985-03-07", target_id: str = "t-1") -> Target:
    return Target(target_id=target_id, name=name, date_of_birth=dob, contributed_by=state, identifiers=(
        Identifier(kind=IdentifierKind.PHONE, value=phone, country="BG"),
        Identifier(kind=IdentifierKind.IBAN, value=iban),
        Identifier(kind=IdentifierKind.VEHICLE, value="СА 1234 АВ", country="BG")))


def action_day(lat: float = 42.6977, lon: float = 23.3219, start: datetime = T0, hours: int = 4) -> list[IndexEntry]:
    return entries_for_action_day(ActionDay(action_day_id="ad-1", start=start, end=start + timedelta(hours=hours),
                                            places=(Place(name="Sofia", country="BG", latitude=lat, longitude=lon),)))


@pytest.fixture
def index(store_engine: Engine) -> DeconflictionIndex:
    return DeconflictionIndex(store_engine)


def test_register_check_release(index: DeconflictionIndex) -> None:
    index.register("op-bg", entries_for_target(ivan(), "BG") + action_day())
    assert index.count() == 5 and index.count(EntryKind.PERSON) == 1

    other = ivan("EL", name="PETROV Ivan", phone="+359 888 123 456", iban="BG80 BNBG 9661 1020 3456 78")
    hits = index.check(entries_for_target(other, "EL") + action_day(42.70, 23.33, T0 + timedelta(hours=3)),
                       exclude_operation_id="op-el")
    by_kind = {h.kind: h for h in hits}
    assert {h.matched for h in hits if h.kind is EntryKind.IDENTIFIER} == {
        "phone:+359888123456", "iban:BG80BNBG96611020345678", "vehicle:BG:CA1234AB"}
    assert by_kind[EntryKind.PERSON].matched == "person match score 1.00"
    assert by_kind[EntryKind.WINDOW].matched.startswith("action window")
    assert all(h.operation_id == "op-bg" and h.member_state == "BG" for h in hits)
    assert all(h.ref in ("t-1", "ad-1") and h.other_ref == h.ref for h in hits)
    assert "Петров" not in repr(hits) and "ivan" not in repr(hits).lower()

    assert index.check(entries_for_target(other, "EL"), exclude_operation_id="op-bg") == []  # own operation
    assert index.release("op-bg", refs=["ad-1"]) == 1  # one action day released: its window no longer hits
    assert {h.kind for h in index.check(action_day() + entries_for_target(other, "EL"))} == {
        EntryKind.IDENTIFIER, EntryKind.PERSON}
    assert index.release("op-bg") == 4
    assert index.check(entries_for_target(other, "EL") + action_day()) == []
    assert index.count() == 0


@pytest.mark.parametrize("privacy_key", [None, b"index-test-key"])
def test_a_hit_carries_the_handling_code_of_what_it_matched(store_engine: Engine, privacy_key: bytes | None) -> None:
    index = DeconflictionIndex(store_engine, privacy_key=privacy_key)
    restricted = ivan().model_copy(update={"handling_code": HandlingCode.H2})
    index.register("op-bg", entries_for_target(restricted, "BG") + action_day())
    hits = index.check(entries_for_target(ivan("EL", name="PETROV Ivan"), "EL") + action_day())
    assert {(h.kind, h.other_handling_code) for h in hits} == {
        (EntryKind.IDENTIFIER, "H2"), (EntryKind.PERSON, "H2"), (EntryKind.WINDOW, None)}  # a day: the operation's


def test_register_is_idempotent(index: DeconflictionIndex) -> None:
    entries = entries_for_target(ivan(), "BG") + action_day()
    assert index.register("op-bg", entries) == 5
    assert index.register("op-bg", entries) == 0
    assert index.count() == 5
    index.release("op-bg")
    assert index.register("op-bg", entries) == 0  # filed again: live again, nothing added
    assert index.count() == 5
    assert len(index.check(entries_for_target(ivan(), "EL"))) == 4


def test_near_misses_do_not_hit(index: DeconflictionIndex) -> None:
    index.register("op-bg", entries_for_target(ivan(), "BG") + action_day())
    popov = ivan("EL", name="Ivan Popov", phone="0888 123 457", iban="GR1601101250000000012300695")
    popov = popov.model_copy(update={"identifiers": popov.identifiers[:2]})
    assert index.check(entries_for_target(popov, "EL")) == []
    other_day = ivan("EL", dob="1985-03-08").model_copy(update={"identifiers": ()})
    assert index.check(entries_for_target(other_day, "EL")) == []
    assert index.check(action_day(42.6977 + 1.01 / 111.195)) == []  # 1.01 km north
    assert index.check(action_day(start=T0 + timedelta(hours=4))) == []  # touching, not overlapping
    assert len(index.check(action_day(42.6977 + 0.99 / 111.195))) == 1


def test_person_fuzzy_and_transposed_date(index: DeconflictionIndex) -> None:
    index.register("op-bg", entries_for_target(Target(name="Йордан Щерев", date_of_birth="1979-11-04"), "BG"))
    index.register("op-de", entries_for_target(Target(name="Ιωάννης Παπαδόπουλος", date_of_birth="1990"), "DE"))
    hits = index.check(entries_for_target(Target(name="Yordan Shterev", date_of_birth="1979-04-11"), "EL"))
    assert [(h.operation_id, h.kind) for h in hits] == [("op-bg", EntryKind.PERSON)]
    hits = index.check(entries_for_target(Target(name="PAPADOPOULOS Ioannis", date_of_birth="1990-06-01"), "EL"))
    assert [(h.operation_id, h.member_state) for h in hits] == [("op-de", "DE")]


def _raw_rows(engine: Engine) -> str:
    tables = (deconfliction_identifiers, deconfliction_persons, deconfliction_person_keys, deconfliction_windows)
    with engine.connect() as conn:
        return repr([list(conn.execute(select(t)).all()) for t in tables]).lower()


def test_privacy_mode_stores_no_clear_identifier_or_name_yet_hits(store_engine: Engine) -> None:
    index = DeconflictionIndex(store_engine, privacy_key=KEY)
    assert "index-test" not in repr(index)
    index.register("op-bg", entries_for_target(ivan(), "BG"))  # clear entries: the index digests them
    muller = ivan("DE", name="Jürgen Müller", phone="+49 30 901820", iban="DE89370400440532013000", target_id="t-9")
    index.register("op-de", entries_for_target(muller.model_copy(update={"identifiers": muller.identifiers[:2]}),
                                               "DE", KEY))  # entries digested by the caller
    raw = _raw_rows(store_engine)
    for clear in ("иван", "петров", "ivan", "petrov", "jurgen", "muller", "mueller", "1985", "359888123456",
                  "888123456", "bg80bnbg", "de89370400", "ca1234ab", "phone:", "iban:"):
        assert clear not in raw, clear
    assert "op-bg" in raw  # the rows are there, as digests

    hits = index.check(entries_for_target(ivan("EL", name="PETROV Ivan", dob="1985-07-03"), "EL"))
    assert {h.kind for h in hits} == {EntryKind.IDENTIFIER, EntryKind.PERSON}
    assert len([h for h in hits if h.kind is EntryKind.IDENTIFIER]) == 3
    # what matched is named in the checker's own clear value, never as a digest
    assert {h.matched for h in hits if h.kind is EntryKind.IDENTIFIER} == {
        "phone:+359888123456", "iban:BG80BNBG96611020345678", "vehicle:BG:CA1234AB"}
    assert {h.operation_id for h in hits} == {"op-bg"}
    muller = Target(name="MUELLER Juergen", date_of_birth="1985", identifiers=(
        Identifier(kind=IdentifierKind.PHONE, value="030 901820", country="DE"),))
    assert {(h.kind, h.operation_id) for h in index.check(entries_for_target(muller, "EL", KEY))} == {
        (EntryKind.IDENTIFIER, "op-de"), (EntryKind.PERSON, "op-de")}
    # fuzzy matching is unavailable in privacy mode: a typo misses
    typo = Target(name="Ivan Petrof", date_of_birth="1985-03-07")
    assert index.check(entries_for_target(typo, "EL")) == []
    # an index without the key (or with another) finds nothing
    assert DeconflictionIndex(store_engine).check(entries_for_target(ivan(), "EL")) == []
    assert DeconflictionIndex(store_engine, privacy_key=b"other").check(entries_for_target(ivan(), "EL")) == []


def test_bulk_load_then_register_and_check(index: DeconflictionIndex) -> None:
    targets = [ivan(phone=f"0888 123 {i:03d}", iban="BG80BNBG96611020345678", dob=f"19{50 + i % 40}-01-15",
                    name=f"Иван Петров{'а' * (i % 3)}", target_id=f"t-{i}") for i in range(60)]
    pairs = [(f"op-{i % 7}", e) for i, t in enumerate(targets) for e in entries_for_target(t, "BG")
             if not (e.kind is EntryKind.IDENTIFIER and e.key.startswith(("iban", "vehicle")))]
    seen: list[int] = []
    assert index.bulk_load(pairs, progress=seen.append, chunk_size=50) == len(pairs) == 120
    assert sum(seen) == 120 and index.count() == 120
    index.register("op-new", entries_for_target(ivan(dob="2001-02-03", target_id="t-new"), "BG"))
    assert index.count(EntryKind.PERSON) == 61
    hits = index.check(entries_for_target(Target(name="Ivan Petrov", date_of_birth="1955-01-15"), "EL"))
    assert {h.operation_id for h in hits} == {"op-5", "op-3"}  # i = 5 ("Петроваа": fuzzy) and 45
