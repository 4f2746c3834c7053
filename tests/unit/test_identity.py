"""Principals: the rules for their ids, display names and roles (domain/identity.py), and the administrator,
who manages principals and neither issues operation commands nor reads operations."""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import commands as cmd
from domain.actors import Actor, Role
from domain.decider import decide
from domain.errors import InvalidInput, NotAuthorised
from domain.identity import (
    DISPLAY_NAME_LENGTH,
    PRINCIPAL_ID_LENGTH,
    STATE_ROLES,
    TASK_FORCE_ROLES,
    display_name,
    principal_id,
    principal_key,
    principal_rules,
)
from domain.reference import EU_MEMBER_STATES
from domain.rules import ROLES, RulesVersion, authorise
from domain.visibility import READ_ANY_OPERATION, can_see, may_read, require_reader, visible_items
from tests.unit.builders import COORDINATOR, Driver, spec

ADMINISTRATOR = Actor(id="admin-1", role=Role.ADMINISTRATOR)
ID_ALPHABET = string.ascii_letters + string.digits + "._-@"
VALID_IDS = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=PRINCIPAL_ID_LENGTH).filter(
    lambda v: v[0].isalnum() and v.casefold() != "liaison")


# --- principal ids --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["lo-bg", "ap.el.2", "coord_1", "Anna.Papadopoulou@police.gr", "7", "a" * 64])
def test_good_ids_are_kept_as_given(value: str) -> None:
    assert principal_id(value) == value


@pytest.mark.parametrize(("value", "rule"), [
    ("", "is empty: a principal id has 1 to 64 characters"),
    ("a" * 65, "has 65 characters: a principal id has at most 64"),
    ("lo bg", "contains whitespace (U+0020 SPACE): a principal id is one word"),
    ("lo-bg\n", "contains whitespace (U+000A)"),
    ("lo\u00a0bg", "contains whitespace (U+00A0 NO-BREAK SPACE)"),
    ("lo\u200bbg", "contains the control or invisible character U+200B ZERO WIDTH SPACE"),
    ("lo\x00bg", "contains the control or invisible character U+0000"),
    ("lo\u202ebg", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("l\u043e-bg", "contains '\u043e': a principal id has only ASCII letters, digits and . _ - @"),  # Cyrillic o
    ("lo/bg", "contains '/'"),
    ("lo+bg", "contains '+'"),
    ("-lo-bg", "does not start with a letter or a digit"),
    ("@lo", "does not start with a letter or a digit"),
    ("liaison", "is reserved for the workflow's own actor"),
    ("LIAISON", "is reserved for the workflow's own actor"),
])
def test_bad_ids_are_refused_naming_the_rule(value: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        principal_id(value)
    assert (caught.value.field, caught.value.value) == ("principal_id", value)
    assert caught.value.message.startswith("principal_id: ") and rule in caught.value.message, caught.value.message


def test_a_long_value_is_shown_shortened() -> None:
    with pytest.raises(InvalidInput) as caught:
        principal_id("x" * 10_000)
    assert len(caught.value.message) < 200 and "x" * 80 + "…" in caught.value.message


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_any_text_is_a_clean_id_or_refused(value: str) -> None:
    try:
        accepted = principal_id(value)
    except InvalidInput as error:
        assert error.field == "principal_id" and error.message.startswith("principal_id: ")
        return
    assert accepted == value and 1 <= len(value) <= PRINCIPAL_ID_LENGTH
    assert all(ch in ID_ALPHABET for ch in value) and value[0].isalnum()


@settings(max_examples=300, deadline=None)
@given(VALID_IDS)
def test_every_id_of_the_alphabet_is_accepted_and_keyed_by_its_lower_case(value: str) -> None:
    assert principal_id(value) == value
    assert principal_key(value) == value.lower() == principal_key(value.upper())


@given(st.text())
def test_the_key_is_total_and_stable(value: str) -> None:
    key = principal_key(value)
    assert principal_key(key) == key


def test_ids_that_differ_only_in_case_share_a_key() -> None:
    assert principal_key("Lo-BG") == principal_key("lo-bg") == "lo-bg"
    assert principal_key("ﬁona") == principal_key("FIONA")  # an id registered before the rule, with a ligature


# --- display names --------------------------------------------------------------------------------

def test_display_names_are_trimmed_composed_and_cleaned_of_invisible_characters() -> None:
    assert display_name("  Anna Papadopoulou ") == "Anna Papadopoulou"
    assert display_name("Ελένη Παπαδοπούλου") == "Ελένη Παπαδοπούλου"
    assert display_name("Jose\u0301") == "José"  # composed (NFC) ...
    assert display_name("ﬁona") == "ﬁona"  # ... but not folded (not NFKC): a name is shown as written
    assert display_name("Ivan\u200b Petrov\u00ad\u202e") == "Ivan Petrov"
    assert display_name("\u200b Ivan \u2060") == "Ivan"


@pytest.mark.parametrize(("value", "rule"), [
    ("", "is empty: a display name has 1 to 200 visible characters"),
    ("   ", "is empty"),
    ("\u200b\u200d", "is empty"),
    ("x" * 201, "has 201 characters: a display name has at most 200"),
    ("Ivan\nPetrov", "contains U+000A: a display name is one line without control characters"),
    ("Ivan\tPetrov", "contains U+0009"),
    ("Ivan\x1bPetrov", "contains U+001B"),
    ("Ivan\u2028Petrov", "contains U+2028 LINE SEPARATOR"),
    ("Ivan\ud800", "contains U+D800"),
])
def test_bad_display_names_are_refused_naming_the_rule(value: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        display_name(value)
    assert (caught.value.field, caught.value.value) == ("display_name", value)
    assert rule in caught.value.message, caught.value.message


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=250))
def test_any_text_is_a_clean_display_name_or_refused(value: str) -> None:
    try:
        name = display_name(value)
    except InvalidInput as error:
        assert error.field == "display_name" and error.message.startswith("display_name: ")
        return
    assert 1 <= len(name) <= DISPLAY_NAME_LENGTH and name == name.strip()
    assert unicodedata.is_normalized("NFC", name)
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in name)
    assert display_name(name) == name


# --- roles and member states ----------------------------------------------------------------------

def test_every_role_but_the_systems_acts_either_for_a_state_or_for_the_task_force() -> None:
    assert sorted({*STATE_ROLES, *TASK_FORCE_ROLES}) == sorted(set(Role) - {Role.SYSTEM})
    assert not set(STATE_ROLES) & set(TASK_FORCE_ROLES)


@pytest.mark.parametrize(("role", "given", "code"), [
    (Role.LIAISON_OFFICER, "bg", "BG"), (Role.LIAISON_OFFICER, "GR", "EL"), (Role.LIAISON_OFFICER, "RS", "RS"),
    (Role.LIAISON_OFFICER, "europol", "EUROPOL"), (Role.APPROVER, " de ", "DE"), (Role.APPROVER, "EL", "EL"),
    (Role.COORDINATOR, None, None), (Role.AUDITOR, "", None), (Role.ADMINISTRATOR, "  ", None),
])
def test_principal_rules_give_the_canonical_state(role: Role, given: str | None, code: str | None) -> None:
    assert principal_rules(role, given) == code


@pytest.mark.parametrize(("role", "given", "field", "rule"), [
    (Role.APPROVER, "RS", "member_state", "member_state: RS is an operational partner, and partners never approve"),
    (Role.APPROVER, "Europol", "member_state", "EUROPOL is an operational partner, and partners never approve"),
    (Role.COORDINATOR, "BG", "member_state", "'BG' given, but a coordinator acts for the task force"),
    (Role.AUDITOR, "DE", "member_state", "an auditor acts for the task force, not for a member state"),
    (Role.ADMINISTRATOR, "EL", "member_state", "an administrator acts for the task force"),
    (Role.LIAISON_OFFICER, None, "member_state", "a liaison officer acts for a member state or an operational "
                                                 "partner; name it"),
    (Role.APPROVER, "", "member_state", "an approver acts for an EU member state; name it"),
    (Role.LIAISON_OFFICER, "XX", "member_state", "'XX' is neither an EU member state nor an operational partner"),
    (Role.SYSTEM, None, "role", "role: 'system' is reserved for the workflow itself"),
])
def test_principal_rules_refuse(role: Role, given: str | None, field: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        principal_rules(role, given)
    assert caught.value.field == field and rule in caught.value.message, caught.value.message


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Role)), st.one_of(st.none(), st.text(max_size=12), st.sampled_from(
    ["BG", "el", "GR", "RS", "Europol", "UK", "XX", " de "])))
def test_principal_rules_give_a_code_or_refuse(role: Role, given: str | None) -> None:
    try:
        code = principal_rules(role, given)
    except InvalidInput as error:
        assert error.field in ("member_state", "role") and error.message.startswith(f"{error.field}: ")
        return
    assert (code is None) is (role not in STATE_ROLES)
    assert role is not Role.APPROVER or code in EU_MEMBER_STATES


def test_principal_rules_name_the_field_they_are_given() -> None:
    with pytest.raises(InvalidInput) as caught:
        principal_rules(Role.APPROVER, "UA", field="--state")
    assert caught.value.field == "--state" and caught.value.message.startswith("--state: UA is an operational")


# --- the administrator ----------------------------------------------------------------------------

def test_the_administrator_may_issue_no_operation_command() -> None:
    assert not any(Role.ADMINISTRATOR in roles for roles in ROLES.values())
    d = Driver().open(spec())
    for command in (cmd.InvitePartner(actor=ADMINISTRATOR, partner="RS"),
                    cmd.CancelOperation(actor=ADMINISTRATOR, justification="tidy up"),
                    cmd.ApproveTask(actor=ADMINISTRATOR, task_id="TK1")):
        with pytest.raises(NotAuthorised, match="admin-1 \\(administrator\\) may not"):
            authorise(ADMINISTRATOR, command)
        for rules in RulesVersion:
            with pytest.raises(NotAuthorised):
                decide(d.state, command, d.now, rules)


def test_the_administrator_reads_no_operation_and_no_item() -> None:
    d = Driver().open(spec(intelligence=[{"summary": "cash at Kulata", "contributed_by": "EL"}]))
    assert Role.ADMINISTRATOR not in READ_ANY_OPERATION
    assert may_read(COORDINATOR, d.state) and not may_read(ADMINISTRATOR, d.state)
    with pytest.raises(NotAuthorised, match=r"admin-1 \(administrator\) may not read operation op-northwind: it "
                       "acts for no state"):
        require_reader(ADMINISTRATOR, d.state)
    assert not can_see(d.state.intelligence[0], ADMINISTRATOR, d.state)
    assert visible_items(ADMINISTRATOR, d.state) == []
