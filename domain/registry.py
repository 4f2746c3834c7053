"""Tables keyed by type (command -> decider, command -> roles, event -> evolver, identifier kind ->
normaliser) and the unions they must cover.

The tables are written by hand beside the unions; tests/unit/test_registries.py checks that they agree.
A lookup that still misses names the type and the table, instead of a bare KeyError deep in a workflow task.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

K = TypeVar("K")
V = TypeVar("V")


class Unregistered(LookupError):
    """A type or kind with no entry in a table: a programming error, never a refusal of the rules."""

    def __init__(self, table: str, key: object) -> None:
        name = key.__name__ if isinstance(key, type) else repr(key)
        super().__init__(f"{name} has no entry in {table}; add one there "
                         "(tests/unit/test_registries.py checks every table against its union)")
        self.table = table
        self.key = key


def entry(table: Mapping[K, V], key: K, name: str) -> V:
    """table[key], or Unregistered naming the key and the table."""
    try:
        return table[key]
    except KeyError:
        raise Unregistered(name, key) from None


def union_members(union: Any) -> tuple[type, ...]:
    """The classes of a union, also when it is Annotated (Command, Event carry their discriminator)."""
    if get_origin(union) is Annotated:
        union = get_args(union)[0]
    if get_origin(union) in (Union, types.UnionType):
        return tuple(get_args(union))
    return (union,)
