"""Pure matching rules of deconfliction: person-name scoring, date-of-birth agreement, blocking keys,
and action windows (distance and time overlap). No I/O; the store and the benchmarks call these.

A person is a list of romanised name variants, each a (given names, surname) pair from
``normalise.split_name``, plus a date of birth ("YYYY-MM-DD" or "YYYY"). Two persons match when their
dates of birth agree (``dob_agrees``) and the best-scoring pair of variants reaches ``PERSON_THRESHOLD``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

NameParts = tuple[str, str]
"""(given names, surname), folded Latin tokens separated by spaces."""

SURNAME_WEIGHT = 0.6
GIVEN_WEIGHT = 0.4
PERSON_THRESHOLD = 0.85
UNKNOWN_PART = 0.5  # similarity credited to a name part one side does not have
EARTH_RADIUS_KM = 6371.0088


# --- names ---------------------------------------------------------------------------------------

def surname_similarity(a: str, b: str) -> float:
    """0..1: the mean of normalised Indel similarity (edit-based) and Jaro-Winkler (rewards a shared
    start), tokens sorted first. Jaro-Winkler alone is too generous to a shared prefix ("petar"/"petrov")."""
    if not a or not b:
        return UNKNOWN_PART
    if a == b:
        return 1.0
    return _blend(a, b)


def given_similarity(a: str, b: str) -> float:
    """0..1: like ``surname_similarity``, but a given name contained in the other's (a middle name or
    patronymic added on one side only) counts as agreement."""
    if not a or not b:
        return UNKNOWN_PART
    if a == b:
        return 1.0
    return max(fuzz.token_set_ratio(a, b) / 100, _blend(a, b))


def _blend(a: str, b: str) -> float:
    if " " in a or " " in b:
        a, b = " ".join(sorted(a.split())), " ".join(sorted(b.split()))
    return (fuzz.ratio(a, b) / 100 + JaroWinkler.normalized_similarity(a, b)) / 2


def flipped(parts: NameParts) -> NameParts:
    """The other assignment of tokens: the first given-name token becomes the surname."""
    given, surname = parts
    tokens = given.split()
    if not tokens:
        return parts
    return " ".join([*tokens[1:], surname]), tokens[0]


def parts_score(a: NameParts, b: NameParts) -> float:
    """Weighted similarity of two (given, surname) pairs; the surname weighs most."""
    return SURNAME_WEIGHT * surname_similarity(a[1], b[1]) + GIVEN_WEIGHT * given_similarity(a[0], b[0])


#: Endings that form a surname from a given name (patronymics and their descendants): Slavic and Romanian
#: (Ivanov, Nikolić, Ionescu), Greek (Nikolaou, Georgopoulos).
_SLAVIC_ENDINGS = frozenset(("ov", "ev", "ova", "eva", "ovic", "evic", "ic", "ovich", "evich", "ovski", "evski",
                             "ovska", "evska", "in", "ina", "enko", "uk", "chuk", "ovna", "evna", "ovych", "evych",
                             "escu"))
_GREEK_ENDINGS = frozenset(("ou", "opoulos", "opoulou", "idis", "idou", "akis", "atos"))
_VOWELS = "aeiouy"


def _formed_from(surname: str, given: str) -> bool:
    """Whether ``surname`` is ``given`` with a patronymic ending: Ivan -> Ivanov, Nikola -> Nikolić (the
    final vowel dropped), Petar -> Petrov (the fleeting vowel dropped), Georgios -> Georgiou, Georgopoulos."""
    if surname == given or len(given) < 3 or not surname.startswith(given[:max(2, len(given) - 3)]):
        return False  # the cheap test first: this runs for every candidate pair of a check
    slavic = {given}
    if given[-1] in _VOWELS:
        slavic.add(given[:-1])
    if len(given) > 3 and given[-2] in "ae" and given[-1] not in _VOWELS:
        slavic.add(given[:-2] + given[-1])
    if any(surname.startswith(stem) and surname[len(stem):] in _SLAVIC_ENDINGS for stem in slavic):
        return True
    greek = (given[:-2], given[:-3]) if given[-2:] in ("os", "as", "is", "es") else ()
    return any(surname.startswith(stem) and surname[len(stem):] in _GREEK_ENDINGS for stem in greek)


def derived_names(a: str, b: str) -> bool:
    """Whether a token of one part is a surname formed from a token of the other ("ivanov" from "ivan")
    that its own side does not also have: related names of different people, not the same token written
    differently ("ivan ivanovich" beside "ivan" is a patronymic added on one side)."""
    a_tokens, b_tokens = a.split(), b.split()
    return any((_formed_from(x, y) and y not in a_tokens) or (_formed_from(y, x) and x not in b_tokens)
               for x in a_tokens for y in b_tokens)


def name_score(a: Sequence[NameParts], b: Sequence[NameParts]) -> float:
    """Best score over every pair of variants, each tried with both assignments of ``a``'s tokens
    (so "PETROV Ivan" written without capitals still meets "Ivan Petrov"). No assignment may pair each
    name with a surname formed from the other's: "Georgi Ivanov" and "Ivan Georgiev" are two people. One
    part alone formed that way is a typo more often ("Marco" / "Marcov") and is scored as one."""
    best = 0.0
    for pa in a:
        for candidate in (pa, flipped(pa)):
            for pb in b:
                if candidate == pb:
                    return 1.0
                score = parts_score(candidate, pb)
                if score <= best or (derived_names(candidate[0], pb[0]) and derived_names(candidate[1], pb[1])):
                    continue  # the derivation test only where it could change the answer
                best = score
    return best


# --- dates of birth ------------------------------------------------------------------------------

def dob_agrees(a: str | None, b: str | None) -> bool:
    """Equal, equal with day and month transposed, or equal years where either side knows only the year.
    An unknown date of birth agrees with nothing."""
    if not a or not b or a[:4] != b[:4]:
        return False
    if len(a) == 4 or len(b) == 4:
        return True
    return a == b or (a[5:7] == b[8:10] and a[8:10] == b[5:7])


def transposed(dob: str) -> str | None:
    """YYYY-DD-MM of a YYYY-MM-DD when that is a different, possible date."""
    if len(dob) != 10 or dob[5:7] == dob[8:10] or not 1 <= int(dob[8:10]) <= 12:
        return None
    return f"{dob[:4]}-{dob[8:10]}-{dob[5:7]}"


def stored_dob_forms(dob: str) -> list[str]:
    """Date-of-birth forms an indexed person is filed under ("d" full date, "y" its year, "o" year only)."""
    return [f"d{dob}", f"y{dob[:4]}"] if len(dob) == 10 else [f"o{dob}"]


def probe_dob_forms(dob: str) -> list[str]:
    """Forms a check looks up: exactly the stored forms of every date of birth that agrees with ``dob``
    (so agreement is decided by equality of forms, which is what privacy mode relies on)."""
    if len(dob) != 10:
        return [f"y{dob}", f"o{dob}"]
    forms = [f"d{dob}", f"o{dob[:4]}"]
    swapped = transposed(dob)
    if swapped:
        forms.append(f"d{swapped}")
    return forms


# --- blocking ------------------------------------------------------------------------------------

_SOUNDEX = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"), **dict.fromkeys("dt", "3"),
            "l": "4", "m": "5", "n": "5", "r": "6"}


def soundex(token: str) -> str:
    """American Soundex of a folded Latin token ("petrov" -> "P361")."""
    if not token:
        return ""
    code, last = [token[0].upper()], _SOUNDEX.get(token[0], "")
    for ch in token[1:]:
        digit = _SOUNDEX.get(ch, "")
        if digit and digit != last:
            code.append(digit)
            if len(code) == 4:
                break
        if ch not in "hw":
            last = digit
    return "".join(code).ljust(4, "0")


def name_codes(names: Iterable[NameParts]) -> list[str]:
    """Soundex codes of every token of every variant (given names and surname alike: order is unknown)."""
    return sorted({soundex(t) for given, surname in names for t in f"{given} {surname}".split() if t.isalpha()})


def blocking_keys(names: Iterable[NameParts], dob: str) -> list[str]:
    """Keys an indexed person is filed under: each name code with each stored date-of-birth form."""
    return [f"{c}|{f}" for c in name_codes(names) for f in stored_dob_forms(dob)]


def probe_keys(names: Iterable[NameParts], dob: str) -> list[str]:
    """Keys a check looks up. Every candidate shares a name token code and has an agreeing date of birth,
    so a check reads a handful of rows and never scans the index."""
    return [f"{c}|{f}" for c in name_codes(names) for f in probe_dob_forms(dob)]


def person_score(a_names: Sequence[NameParts], a_dob: str | None,
                 b_names: Sequence[NameParts], b_dob: str | None) -> float:
    """Name score when the dates of birth agree, else 0."""
    return name_score(a_names, b_names) if dob_agrees(a_dob, b_dob) else 0.0


# --- action windows ------------------------------------------------------------------------------

def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float] | None:
    """(min_lat, max_lat, min_lon, max_lon) enclosing the circle, or None near a pole or the antimeridian
    (then filter on latitude alone)."""
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = math.cos(math.radians(lat))
    if cos_lat < 1e-6:
        return None
    dlon = math.degrees(radius_km / (EARTH_RADIUS_KM * cos_lat)) * 1.0001
    if abs(lat) + dlat >= 90 or abs(lon) + dlon >= 180:
        return None
    return lat - dlat * 1.0001, lat + dlat * 1.0001, lon - dlon, lon + dlon


def times_overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open windows [start, end) overlap; touching windows ([a, b) and [b, c)) do not."""
    return a_start < b_end and b_start < a_end
