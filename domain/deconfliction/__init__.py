"""Deconfliction: normalising identifiers and names, and matching them (pure; the index is store/index.py)."""

from domain.deconfliction.entries import (
    EntryKind,
    Hit,
    IndexEntry,
    digest,
    entries_for_action_day,
    entries_for_target,
    person_entry,
    privatise,
)
from domain.deconfliction.normalise import identifier_key, name_variants, split_name

__all__ = ["EntryKind", "Hit", "IndexEntry", "digest", "entries_for_action_day", "entries_for_target",
           "identifier_key", "name_variants", "person_entry", "privatise", "split_name"]
