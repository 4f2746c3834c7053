"""What Temporal keeps in clear must name no target.

Payloads are encrypted, but an operation's id (its workflow id) and its code name (a search attribute)
are stored and indexed in clear by Temporal's design, and shown in every list. So neither may contain a
target's name or alias (in any script: compared as romanised tokens) or one of its identifiers.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress

import phonenumbers

from domain.deconfliction.normalise import clean_text, name_tokens
from domain.errors import InvalidInput
from domain.model import IdentifierKind, Target

# Shorter name parts ("Li", "Ana") would refuse ids by chance; shorter identifiers are no identifiers.
MIN_NAME_PART = 4
MIN_IDENTIFIER = 6


def _romanised(text: str) -> set[str]:
    """Letters and digits only, romanised and case-folded, per romanisation: "op-Ivan_PETROV" -> "opivanpetrov"."""
    return {"".join(tokens) for tokens in name_tokens(text)}


def _identifier_forms(kind: IdentifierKind, value: str, country: str | None) -> set[str]:
    forms = {"".join(ch for ch in clean_text(value).casefold() if ch.isalnum())}
    if kind is IdentifierKind.PHONE:  # its national number too: "op-888123456" for +359 888 123 456
        forms.add("".join(ch for ch in value if ch.isdigit()).lstrip("0"))
        with suppress(phonenumbers.NumberParseException):  # no known region: the digits above stand for it
            forms.add(str(phonenumbers.parse(value, country).national_number))
    return {form for form in forms if len(form) >= MIN_IDENTIFIER}


def what_names_a_target(text: str, targets: Iterable[Target]) -> str | None:
    """Which target's name or identifier ``text`` contains (described without repeating it), or None."""
    variants = _romanised(text)
    plain = "".join(ch for ch in clean_text(text).casefold() if ch.isalnum())
    for target in targets:
        for name in (target.name, *target.aliases):
            parts = {part for tokens in name_tokens(name) for part in tokens if len(part) >= MIN_NAME_PART}
            if any(part in variant for part in parts for variant in variants):
                return f"the name of target {target.target_id}"
        for identifier in target.identifiers:
            forms = _identifier_forms(identifier.kind, identifier.value, identifier.country)
            if any(form in plain for form in forms):
                return f"an identifier ({identifier.kind.value}) of target {target.target_id}"
    return None


def require_no_target_in(field: str, text: str, targets: Iterable[Target]) -> None:
    found = what_names_a_target(text, targets)
    if found is not None:
        raise InvalidInput(field, text, f"{field}: {text!r} contains {found}; Temporal keeps the {field} in clear "
                           "(listed, searched, shown), so choose one that names no target")
