from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.deconfliction import match
from domain.deconfliction.entries import (
    EntryKind,
    IndexEntry,
    digest,
    entries_for_action_day,
    entries_for_target,
    person_entry,
    person_hit,
    privatise,
    window_hit,
)
from domain.deconfliction.normalise import split_name
from domain.model import ActionDay, Identifier, IdentifierKind, Place, Target

KEY = b"test-privacy-key"


def person(name: str, dob: str | None = "1985-03-07", state: str = "BG", **kw: object) -> Target:
    return Target(name=name, date_of_birth=dob, contributed_by=state, **kw)  # type: ignore[arg-type]


def person_of(name: str, dob: str | None = "1985-03-07", state: str = "BG") -> IndexEntry:
    return next(e for e in entries_for_target(person(name, dob), state, None) if e.kind is EntryKind.PERSON)


def hits(a: IndexEntry, b: IndexEntry) -> bool:
    """Whether ``a`` checked against an index holding ``b`` hits: blocking and scoring, as the store does."""
    if not set(a.probe_keys) & set(b.blocking_keys):
        return False
    return person_hit(a, b.names or None, b.date_of_birth, "op-other", "EL") is not None


# --- persons ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "indexed"), [
    ("Иван Петров", "Ivan Petrov"),
    ("Иван Петров", "PETROV Ivan"),
    ("Иван Петров", "petrov ivan"),
    ("Йордан Щерев", "Yordan Shterev"),
    ("Йордан Щерев", "Iordan Shcherev"),
    ("Ιωάννης Παπαδόπουλος", "Ioannis Papadopoulos"),
    ("Ivan Petrov", "Ivan Petrof"),  # a typo
    ("Ivan Georgiev Petrov", "Ivan Petrov"),  # a middle name on one side
    ("Мария Христова", "Maria Hristova"),
    ("Ivan Petrov", "PETROF Ivan"),  # order and spelling both differ
    # Cyrillic of other states by their own systems, also when no letter gives the language away
    ("Душан Шарац", "Dušan Šarac"),  # Serbian
    ("Милош Јовановић", "Milos Jovanovic"),
    ("Ганна Гончаренко", "Hanna Honcharenko"),  # Ukrainian
    ("Ѓорѓи Шишков", "Gjorgji Shishkov"),  # Macedonian
    ("Никола Шишков", "Nikola Shishkov"),
    ("Georgios Nikolaou", "NIKOLAOU Georgios"),
    ("Ivan Ivanovich Petrov", "Ivan Petrov"),  # a patronymic beside the name it comes from
    ("Marco Volpato", "Marcov Volpato"),  # one part looking formed from the other is a typo (FEBRL4)
])
def test_cross_script_and_spelling_variants_hit(query: str, indexed: str) -> None:
    assert hits(person_of(query), person_of(indexed))
    assert hits(person_of(indexed), person_of(query))


@pytest.mark.parametrize(("query", "indexed"), [
    ("Ivan Popov", "Ivan Petrov"),
    ("Petar Ivanov", "Ivan Petrov"),
    ("Georgi Petrov", "Ivan Petrov"),
    ("Ivan Pavlov", "Ivan Petrov"),
    ("Ιωάννης Παπαδάκης", "Ioannis Papadopoulos"),
    # a given name against a surname formed from it, the names crossed: two people, one family's names
    ("Georgi Ivanov", "Ivan Georgiev"),
    ("Todor Ivanov", "Ivan Todorov"),
    ("Dimitar Nikolov", "Nikola Dimitrov"),
    ("Stefan Petrov", "Petar Stefanov"),
    ("Νικόλαος Γεωργίου", "Georgios Nikolaou"),
    ("Konstantin Ivanov", "konstantinov ivan"),  # the same, with the other side written surname first
    ("Hristo Stoyanov", "hristov stoyan"),
])
def test_near_misses_do_not_hit(query: str, indexed: str) -> None:
    assert not hits(person_of(query), person_of(indexed))
    assert not hits(person_of(indexed), person_of(query))


@pytest.mark.parametrize(("a", "b", "agree"), [
    ("1985-03-07", "1985-03-07", True),
    ("1985-03-07", "1985-07-03", True),  # day and month transposed
    ("1985-03-07", "1985", True),  # only the year known on one side
    ("1985", "1985-03-07", True),
    ("1985", "1985", True),
    ("1985-03-07", "1985-03-08", False),
    ("1985-03-07", "1986-03-07", False),
    ("1985-03-07", "1986", False),
    ("1985-03-07", None, False),
])
def test_date_of_birth_agreement(a: str, b: str | None, agree: bool) -> None:
    assert match.dob_agrees(a, b) is agree
    if b is not None:
        assert hits(person_of("Иван Петров", a), person_of("Ivan Petrov", b)) is agree


def test_a_person_without_a_date_of_birth_is_filed_by_identifiers_only() -> None:
    target = person("Ivan Petrov", None, identifiers=(Identifier(kind=IdentifierKind.PHONE, value="0888123456"),))
    assert [e.kind for e in entries_for_target(target, "BG")] == [EntryKind.IDENTIFIER]


@given(st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2020, 12, 31).date()),
       st.dates(min_value=datetime(1900, 1, 1).date(), max_value=datetime(2020, 12, 31).date()))
def test_blocking_finds_exactly_the_agreeing_dates_of_birth(a: object, b: object) -> None:
    for da in (str(a), str(a)[:4]):
        for db in (str(b), str(b)[:4]):
            shared = set(match.probe_dob_forms(da)) & set(match.stored_dob_forms(db))
            assert bool(shared) is match.dob_agrees(da, db)


def test_name_score_is_symmetric_for_order_and_weighs_the_surname_most() -> None:
    a, b = split_name("Ivan Petrov"), split_name("Ivan Popov")
    swapped_given = split_name("Iwan Petrov")
    assert match.name_score(a, split_name("PETROV Ivan")) == 1.0
    assert match.name_score(a, swapped_given) > match.name_score(a, b)


@pytest.mark.parametrize(("surname", "given"), [
    ("ivanov", "ivan"), ("petrov", "petar"), ("dimitrov", "dimitar"), ("nikolic", "nikola"), ("ivanova", "ivan"),
    ("georgiou", "georgios"), ("georgopoulos", "georgios"), ("ioannou", "ioannis"), ("ionescu", "ion")])
def test_surnames_formed_from_given_names_are_recognised(surname: str, given: str) -> None:
    assert match.derived_names(surname, given) and match.derived_names(given, surname)
    assert not match.derived_names(given, given)


def test_soundex() -> None:
    assert [match.soundex(t) for t in ("robert", "rupert", "ashcraft", "tymczak", "pfister")] == \
        ["R163", "R163", "A261", "T522", "P236"]


# --- privacy ------------------------------------------------------------------------------------

def test_privacy_entries_hold_only_digests() -> None:
    target = person("Иван Петров", identifiers=(Identifier(kind=IdentifierKind.PHONE, value="0888 123 456"),),
                    target_id="t-1")
    entries = entries_for_target(target, "BG", KEY)
    identifier, private_person = entries
    assert identifier.key == digest(KEY, "phone:+359888123456")
    assert private_person.names == () and private_person.date_of_birth is None
    dump = repr([e.model_dump() for e in entries]).lower()
    for clear in ("ivan", "petrov", "1985", "359888", "888123456"):
        assert clear not in dump


@pytest.mark.parametrize(("query", "indexed", "expected"), [
    (("Иван Петров", "1985-03-07"), ("PETROV Ivan", "1985-03-07"), True),
    (("Иван Петров", "1985-03-07"), ("Ivan Petrov", "1985-07-03"), True),
    (("Иван Петров", "1985-03-07"), ("Ivan Petrov", "1985"), True),
    (("Иван Петров", "1985"), ("Ivan Petrov", "1985-03-07"), True),
    (("Иван Петров", "1985-03-07"), ("Ivan Petrov", "1985-03-08"), False),
    (("Ivan Petrov", "1985-03-07"), ("Ivan Petrof", "1985-03-07"), False),  # no fuzzy matching in privacy mode
])
def test_privacy_mode_hits_exact_variants_with_agreeing_dates(query: tuple[str, str], indexed: tuple[str, str],
                                                              expected: bool) -> None:
    a = entries_for_target(person(*query), "BG", KEY)[0]
    b = entries_for_target(person(*indexed), "EL", KEY)[0]
    assert hits(a, b) is expected


def test_privatise_equals_building_in_privacy_mode() -> None:
    target = person("Иван Петров", identifiers=(Identifier(kind=IdentifierKind.IBAN,
                                                           value="BG80BNBG96611020345678"),))
    assert [privatise(e, KEY) for e in entries_for_target(target, "BG")] == entries_for_target(target, "BG", KEY)
    other_key = entries_for_target(target, "BG", b"another key")
    assert other_key != entries_for_target(target, "BG", KEY)


def test_person_entry_from_separate_fields() -> None:
    entry = person_entry([("ivan", "petrov")], "1985-03-07", "BG")
    assert hits(entry, person_of("PETROV Ivan"))


# --- action windows -----------------------------------------------------------------------------

T0 = datetime(2030, 3, 5, 6, 0, tzinfo=UTC)
SOFIA = (42.6977, 23.3219)


def window(lat: float, lon: float, start: datetime, hours: float, ref: str = "ad-1") -> IndexEntry:
    day = ActionDay(action_day_id=ref, start=start, end=start + timedelta(hours=hours),
                    places=(Place(name="x", country="BG", latitude=lat, longitude=lon),))
    return entries_for_action_day(day)[0]


def window_hits(a: IndexEntry, b: IndexEntry, radius_km: float = 1.0) -> bool:
    assert b.latitude is not None and b.longitude is not None and b.start and b.end
    return window_hit(a, b.latitude, b.longitude, b.start, b.end, "op-2", "EL", radius_km) is not None


def _north(km: float) -> tuple[float, float]:
    return SOFIA[0] + km / 111.195, SOFIA[1]  # 1 degree of latitude = 111.195 km on the mean sphere


def test_haversine() -> None:
    assert match.haversine_km(*SOFIA, *_north(1.0)) == pytest.approx(1.0, abs=1e-3)
    assert match.haversine_km(42.6977, 23.3219, 37.9838, 23.7275) == pytest.approx(524.6, abs=1)  # Sofia-Athens


def test_window_just_inside_and_just_outside_the_radius() -> None:
    here = window(*SOFIA, T0, 4)
    assert window_hits(here, window(*_north(0.99), T0, 4))
    assert not window_hits(here, window(*_north(1.01), T0, 4))
    assert window_hits(here, window(*_north(1.01), T0, 4), radius_km=2.0)


def test_touching_windows_do_not_overlap_but_overlapping_ones_do() -> None:
    here = window(*SOFIA, T0, 4)
    assert not window_hits(here, window(*SOFIA, T0 + timedelta(hours=4), 2))  # [6,10) and [10,12)
    assert not window_hits(here, window(*SOFIA, T0 - timedelta(hours=2), 2))  # [4,6) and [6,10)
    assert window_hits(here, window(*SOFIA, T0 + timedelta(hours=3, minutes=59), 2))
    assert window_hits(here, window(*SOFIA, T0 + timedelta(hours=1), 1))  # contained


def test_places_without_coordinates_give_no_window() -> None:
    day = ActionDay(action_day_id="ad", start=T0, end=T0 + timedelta(hours=1),
                    places=(Place(name="somewhere", country="EL"),))
    assert entries_for_action_day(day) == []


def test_bounding_box_encloses_the_circle() -> None:
    box = match.bounding_box(*SOFIA, 1.0)
    assert box is not None
    lat, lon = _north(0.999)
    assert box[0] <= lat <= box[1] and box[2] <= lon <= box[3]
    assert match.bounding_box(89.999, 0, 1.0) is None
