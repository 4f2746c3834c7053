"""The rules for principals, the people who may act: their ids, their display names, and which roles act
for a member state. Pure; the store keeps principals unique by ``principal_key`` (case-insensitive).
"""

from __future__ import annotations

import unicodedata
from typing import NoReturn

from domain.actors import SYSTEM, Role
from domain.errors import InvalidInput
from domain.reference import EU_MEMBER_STATES, participant
from domain.text import without_format_characters

PRINCIPAL_ID_LENGTH = 64
DISPLAY_NAME_LENGTH = 200
_ID_PUNCTUATION = frozenset("._-@")  # "@" so that e-mail-like ids are ids
# The workflow's own actor: a person registered under its id would pass for it in the audit log.
# The workflow's own actor, and the actor of changes made on the server's shell (services/principals.py).
RESERVED_PRINCIPAL_IDS = frozenset({SYSTEM.id, "server-shell"})

# Roles that act for one member state (or operational partner); the others act for the task force.
STATE_ROLES: tuple[Role, ...] = (Role.LIAISON_OFFICER, Role.APPROVER)
TASK_FORCE_ROLES: tuple[Role, ...] = (Role.COORDINATOR, Role.AUDITOR, Role.ADMINISTRATOR)
# Lines break a log, a table or a timeline; surrogates cannot be stored as UTF-8.
_REFUSED_IN_NAMES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:80] + "…")


def _code_point(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def principal_id(value: str) -> str:
    """The id as given, or InvalidInput naming the rule it breaks: 1 to 64 ASCII letters, digits and
    ``. _ - @``, starting with a letter or a digit, and not the workflow's own id."""

    def refuse(rule: str) -> NoReturn:
        raise InvalidInput("principal_id", value, f"principal_id: {_shown(value)} {rule}")

    if not value:
        refuse(f"is empty: a principal id has 1 to {PRINCIPAL_ID_LENGTH} characters")
    if len(value) > PRINCIPAL_ID_LENGTH:
        refuse(f"has {len(value)} characters: a principal id has at most {PRINCIPAL_ID_LENGTH}")
    for ch in value:
        if ch.isspace():
            refuse(f"contains whitespace ({_code_point(ch)}): a principal id is one word")
        if unicodedata.category(ch).startswith("C"):
            refuse(f"contains the control or invisible character {_code_point(ch)}")
        if not (ch.isascii() and (ch.isalnum() or ch in _ID_PUNCTUATION)):
            refuse(f"contains {ch!r}: a principal id has only ASCII letters, digits and . _ - @")
    if not value[0].isalnum():
        refuse("does not start with a letter or a digit")
    if principal_key(value) in RESERVED_PRINCIPAL_IDS:
        refuse("is reserved for the workflow's own actor")
    return value


def principal_key(value: str) -> str:
    """What two ids must differ in to be two principals: the id casefolded. Total (it never refuses), so
    that the store can key principals registered before principal_id's rule too; NFKC first, so that
    look-alike compatibility forms of such old ids share a key."""
    return unicodedata.normalize("NFKC", value).casefold()


def display_name(value: str) -> str:
    """The name as shown: format characters (zero-width, bidi controls, soft hyphens) removed, NFC,
    trimmed, 1 to 200 characters; InvalidInput for a control character or a line break anywhere."""

    def refuse(rule: str) -> NoReturn:
        raise InvalidInput("display_name", value, f"display_name: {_shown(value)} {rule}")

    for ch in value:
        if unicodedata.category(ch) in _REFUSED_IN_NAMES:
            refuse(f"contains {_code_point(ch)}: a display name is one line without control characters")
    name = unicodedata.normalize("NFC", without_format_characters(value)).strip()
    if not name:
        refuse(f"is empty: a display name has 1 to {DISPLAY_NAME_LENGTH} visible characters")
    if len(name) > DISPLAY_NAME_LENGTH:
        refuse(f"has {len(name)} characters: a display name has at most {DISPLAY_NAME_LENGTH}")
    return name


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def principal_rules(role: Role, member_state: str | None, field: str = "member_state") -> str | None:
    """The member state (or operational partner) a principal of ``role`` acts for, canonical, or None for
    the task force's roles. InvalidInput (naming ``field``) when the system role is asked for, when a
    coordinator, auditor or administrator is given a member state, when a liaison officer or approver is
    given none, when the code is neither a member state nor a partner, and when a partner would hold
    the approver role: partners never approve. A blank member_state counts as none."""
    if role is Role.SYSTEM:
        raise InvalidInput("role", role.value, "role: 'system' is reserved for the workflow itself")
    given = (member_state or "").strip()
    who = f"{_article(role.value)} {role.value.replace('_', ' ')}"
    if role not in STATE_ROLES:
        if given:
            raise InvalidInput(field, member_state, f"{field}: {given!r} given, but {who} acts for the task "
                               "force, not for a member state; leave it out")
        return None
    if not given:
        acts_for = "an EU member state" if role is Role.APPROVER else "a member state or an operational partner"
        raise InvalidInput(field, member_state, f"{field}: {who} acts for {acts_for}; name it")
    code = participant(given, field)
    if role is Role.APPROVER and code not in EU_MEMBER_STATES:
        raise InvalidInput(field, member_state, f"{field}: {code} is an operational partner, and partners never "
                           "approve: an approver acts for an EU member state (a partner takes part through "
                           "its liaison officers)")
    return code
