"""What deconfliction files and checks: index entries built from targets and action days, and hits.

Three kinds of entry:

- identifier: the canonical key of one identifier (``normalise.identifier_key``), matched exactly;
- person: a person's romanised name variants and date of birth, with the blocking keys it is filed under
  and the probe keys a check of it looks up; matched by ``match.person_score``;
- window: one place (latitude, longitude) and time window of an action day, matched by distance and overlap.

Privacy mode (a ``privacy_key``): identifier keys are replaced by keyed HMAC-SHA-256 digests, and a
person carries no name and no date of birth, only digests of each normalised name variant combined with
each date-of-birth form (``match.stored_dob_forms`` / ``match.probe_dob_forms``), so an index still
answers hit/no-hit for the same identifier, or the same normalised name variant with an agreeing date of
birth (equal, transposed, or year-only) - by exact digest equality. Fuzzy name matching is not available
in privacy mode: a typo or a transliteration no variant produces is a miss there. Action windows hold no
personal data and stay in clear. The key is a parameter, never logged or stored.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.deconfliction import match
from domain.deconfliction.normalise import identifier_key, iso_country, split_name, unique
from domain.model import ActionDay, Identifier, Intelligence, Target, TargetKind
from domain.reference import PARTNER_BODIES, canonical_code
from domain.utc import as_utc


class EntryKind(StrEnum):
    IDENTIFIER = "identifier"
    PERSON = "person"
    WINDOW = "window"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IndexEntry(_Frozen):
    """One thing an operation files in (or checks against) the deconfliction index.

    ``key`` is the identifier key (or its digest) for identifiers, and a fingerprint of the content for
    persons and windows (what makes registering the same entry twice a no-op)."""

    kind: EntryKind
    member_state: str
    ref: str = ""  # the operation's own target or action day it came from; never shown to others
    key: str
    names: tuple[tuple[str, str], ...] = ()  # persons, clear mode: (given, surname) variants
    date_of_birth: str | None = None  # persons, clear mode
    blocking_keys: tuple[str, ...] = ()  # persons: filed under (clear keys, or digests in privacy mode)
    probe_keys: tuple[str, ...] = ()  # persons: looked up when this entry is checked
    latitude: float | None = None  # windows
    longitude: float | None = None
    start: datetime | None = None
    end: datetime | None = None
    handling_code: str | None = None  # of the target or item it came from; windows: the operation's

    @property
    def private(self) -> bool:
        return self.kind is EntryKind.PERSON and not self.names


class Hit(_Frozen):
    """A match against another operation: what matched, whose, and how well. It carries the checking
    operation's own key or ref and a score, never the other operation's clear data."""

    kind: EntryKind
    matched: str  # the normalised identifier key (or digest), "person match score 0.97", "window 0.42 km ..."
    ref: str  # the checked entry's ref (own target or action day)
    operation_id: str  # the other operation
    member_state: str  # the other operation's contributing member state
    score: float
    other_ref: str = ""  # the other operation's target or action-day id (an opaque id, so both sides name the hit)
    other_handling_code: str | None = None  # of the other side's target or item, when it has its own


def digest(privacy_key: bytes, text: str) -> str:
    """Keyed HMAC-SHA-256 of ``text`` as 64 hex digits."""
    return hmac.new(privacy_key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()


def contributor_code(code: str) -> str:
    """The EU code of a member or third state ("GR" -> "EL"), or a partner body as it is ("EUROPOL")."""
    canonical = canonical_code(code)
    if canonical in PARTNER_BODIES:
        return canonical
    return canonical_code(iso_country(canonical, "contributing_state"))


def identifier_entries(target: Target, contributing_state: str, privacy_key: bytes | None = None) -> list[IndexEntry]:
    return _identifier_entries(target.identifiers, target.target_id, contributing_state, privacy_key)


def entries_for_item(item: Intelligence, privacy_key: bytes | None = None) -> list[IndexEntry]:
    """The identifier entries of an intelligence item, filed under the item's id and contributor."""
    entries = _identifier_entries(item.identifiers, item.item_id, item.contributed_by, privacy_key)
    return _under(item.handling_code.value, entries)


def _under(handling_code: str, entries: list[IndexEntry]) -> list[IndexEntry]:
    return [e.model_copy(update={"handling_code": handling_code}) for e in entries]


def _identifier_entries(identifiers: Sequence[Identifier], ref: str, contributing_state: str,
                        privacy_key: bytes | None) -> list[IndexEntry]:
    state = contributor_code(contributing_state)
    keys = unique(identifier_key(i, contributing_state) for i in identifiers)
    return [IndexEntry(kind=EntryKind.IDENTIFIER, member_state=state, ref=ref,
                       key=digest(privacy_key, k) if privacy_key is not None else k) for k in keys]


def person_names(target: Target) -> tuple[tuple[str, str], ...]:
    """Every (given, surname) variant of the target's name and aliases."""
    return tuple(dict.fromkeys(p for name in (target.name, *target.aliases) for p in split_name(name)))


def person_entry(names: Sequence[tuple[str, str]], date_of_birth: str, member_state: str, ref: str = "",
                 privacy_key: bytes | None = None) -> IndexEntry:
    """A person entry from already-normalised name variants (``split_name``) and a date of birth."""
    names = tuple(names)
    if privacy_key is None:
        return IndexEntry(kind=EntryKind.PERSON, member_state=member_state, ref=ref,
                          key=_fingerprint("person", sorted(names), date_of_birth), names=names,
                          date_of_birth=date_of_birth,
                          blocking_keys=tuple(match.blocking_keys(names, date_of_birth)),
                          probe_keys=tuple(match.probe_keys(names, date_of_birth)))
    variants = sorted({" ".join(sorted(f"{given} {surname}".split())) for given, surname in names})

    def digests(forms: list[str]) -> tuple[str, ...]:
        return tuple(digest(privacy_key, f"person|{v}|{f}") for v in variants for f in forms)

    return IndexEntry(kind=EntryKind.PERSON, member_state=member_state, ref=ref,
                      key=digest(privacy_key, f"person|{'|'.join(variants)}|{date_of_birth}"),
                      blocking_keys=digests(match.stored_dob_forms(date_of_birth)),
                      probe_keys=digests(match.probe_dob_forms(date_of_birth)))


def entries_for_target(target: Target, contributing_state: str,
                       privacy_key: bytes | None = None) -> list[IndexEntry]:
    """The identifier entries of a target and, for a person with a date of birth, its person entry.
    A person without a date of birth is filed by identifiers only: names match only with an agreeing date
    of birth. Raises InvalidInput for an identifier that cannot be normalised."""
    state = contributor_code(contributing_state)
    entries = identifier_entries(target, contributing_state, privacy_key)
    if target.kind is TargetKind.PERSON and target.date_of_birth:
        names = person_names(target)
        if names:
            entries.append(person_entry(names, target.date_of_birth, state, target.target_id, privacy_key))
    return _under(target.handling_code.value, entries)


def privatise(entry: IndexEntry, privacy_key: bytes) -> IndexEntry:
    """The privacy-mode form of a clear entry (an entry already in privacy form, or a window, unchanged)."""
    if entry.kind is EntryKind.IDENTIFIER and ":" in entry.key:
        return entry.model_copy(update={"key": digest(privacy_key, entry.key)})
    if entry.kind is EntryKind.PERSON and entry.names and entry.date_of_birth:
        return person_entry(entry.names, entry.date_of_birth, entry.member_state, entry.ref,
                            privacy_key).model_copy(update={"handling_code": entry.handling_code})
    return entry


def entries_for_action_day(action_day: ActionDay, member_state: str | None = None) -> list[IndexEntry]:
    """One window entry per place with coordinates (places without them cannot be compared by distance).
    ``member_state`` defaults to each place's country."""
    entries = []
    start, end = as_utc(action_day.start), as_utc(action_day.end)
    for place in action_day.places:
        if place.latitude is None or place.longitude is None:
            continue
        state = contributor_code(member_state or place.country)
        entries.append(IndexEntry(
            kind=EntryKind.WINDOW, member_state=state, ref=action_day.action_day_id,
            key=_fingerprint("window", action_day.action_day_id, place.latitude, place.longitude,
                             start.isoformat(), end.isoformat()),
            latitude=place.latitude, longitude=place.longitude, start=start, end=end))
    return entries


# --- matching an entry against candidates the index found ---------------------------------------

def person_hit(query: IndexEntry, names: Sequence[tuple[str, str]] | None, date_of_birth: str | None,
               operation_id: str, member_state: str, other_ref: str = "") -> Hit | None:
    """The hit of a clear-mode person ``query`` on an indexed person (its names and date of birth), or None.
    In privacy mode (no names) a candidate found by digest is an exact hit."""
    if query.private or not names:
        score = 1.0 if query.private and not names else 0.0
    else:
        score = match.person_score(query.names, query.date_of_birth, names, date_of_birth)
    if score < match.PERSON_THRESHOLD:
        return None
    return Hit(kind=EntryKind.PERSON, matched=f"person match score {score:.2f}", ref=query.ref,
               operation_id=operation_id, member_state=member_state, score=round(score, 4), other_ref=other_ref)


def window_hit(query: IndexEntry, latitude: float, longitude: float, start: datetime, end: datetime,
               operation_id: str, member_state: str, radius_km: float = 1.0, other_ref: str = "") -> Hit | None:
    """The hit of a window ``query`` on an indexed window, or None: within ``radius_km`` and overlapping."""
    assert query.latitude is not None and query.longitude is not None
    assert query.start is not None and query.end is not None
    if not match.times_overlap(as_utc(query.start), as_utc(query.end), as_utc(start), as_utc(end)):
        return None
    distance = match.haversine_km(query.latitude, query.longitude, latitude, longitude)
    if distance > radius_km:
        return None
    return Hit(kind=EntryKind.WINDOW, matched=f"action window {distance:.2f} km away, times overlap",
               ref=query.ref, operation_id=operation_id, member_state=member_state,
               score=round(1 - distance / radius_km if radius_km else 1.0, 4), other_ref=other_ref)
