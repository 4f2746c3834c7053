# ruff: noqa: RUF003  (Cyrillic and Greek test data)
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.deconfliction.normalise import (
    identifier_key,
    iso_country,
    name_variants,
    normalise_email,
    normalise_iban,
    normalise_phone,
    normalise_plate,
    split_name,
)
from domain.errors import InvalidInput
from domain.model import Identifier, IdentifierKind


def key(kind: str, value: str, state: str = "BG", country: str | None = None) -> str:
    return identifier_key(Identifier(kind=IdentifierKind(kind), value=value, country=country), state)


# --- phones -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0888 123 456", "0888123456", "+359 888 123 456", "00359888123456",
                                   "+359 (888) 12-34-56", " 088 812 3456 "])
def test_bulgarian_phone_formats_normalise_to_e164(value: str) -> None:
    assert key("phone", value, "BG") == "phone:+359888123456"


def test_eu_code_el_is_read_as_greece() -> None:
    assert key("phone", "210 123 4567", "EL") == "phone:+302101234567"
    assert iso_country("el") == "GR"


def test_the_identifiers_own_country_wins_over_the_contributing_state() -> None:
    assert key("phone", "0888 123 456", "DE", country="BG") == "phone:+359888123456"


@pytest.mark.parametrize("value", ["12", "0888 12", "not a phone", "+359 000 000"])
def test_an_invalid_phone_is_refused_naming_field_value_and_rule(value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        key("phone", value, "BG")
    assert refused.value.field == "identifier.value"
    assert refused.value.value == value
    assert "phone" in refused.value.message


# --- IBANs, e-mails, plates, documents, companies ---------------------------------------------------

@pytest.mark.parametrize("value", ["BG80BNBG96611020345678", "bg80 bnbg 9661 1020 3456 78",
                                   "IBAN BG80 BNBG 9661 1020 3456 78", "BG80-BNBG-9661-1020-3456-78"])
def test_iban_formats_compact_equal(value: str) -> None:
    assert key("iban", value) == "iban:BG80BNBG96611020345678"


def test_an_iban_with_a_bad_checksum_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        key("iban", "BG81BNBG96611020345678")
    assert refused.value.field == "identifier.value" and "checksum" in refused.value.message


def test_email_is_stripped_and_case_folded() -> None:
    assert key("email", "  Ivan.Petrov@Example.BG ") == "email:ivan.petrov@example.bg"
    with pytest.raises(InvalidInput):
        normalise_email("no-at-sign")


def test_cyrillic_plate_letters_that_look_latin_become_latin() -> None:
    assert key("vehicle", "СА 1234 АВ") == "vehicle:BG:CA1234AB"
    assert key("vehicle", "ca-1234-ab") == "vehicle:BG:CA1234AB"
    assert key("vehicle", "ΙΚΥ 1234", "EL") == "vehicle:GR:IKY1234"


def test_a_plate_with_a_letter_that_has_no_latin_lookalike_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_plate("СД 1234", "BG")
    assert refused.value.field == "identifier.value"


def test_identity_documents_carry_type_and_issuing_country() -> None:
    assert key("identity_document", "Passport: 38 123 4567") == "identity_document:passport:BG:381234567"
    assert key("identity_document", "P:381234567") == "identity_document:passport:BG:381234567"
    assert key("identity_document", "ID: ab123", "EL") == "identity_document:id_card:GR:AB123"
    assert key("identity_document", "381234567") == "identity_document:document:BG:381234567"
    with pytest.raises(InvalidInput):
        key("identity_document", "library card: 12")


def test_company_is_registration_number_and_country() -> None:
    assert key("company", "BG 201 234 567", "DE", country="BG") == "company:BG:BG201234567"


def test_an_unknown_country_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        key("vehicle", "CA1234AB", "XX")
    assert refused.value.field == "identifier.country"


# --- properties ---------------------------------------------------------------------------------

bg_mobiles = st.integers(min_value=0, max_value=999_999).map(lambda n: f"888{n:06d}")
separators = st.sampled_from(["", " ", "-", ".", "  "])


@given(bg_mobiles, separators, st.sampled_from(["0{}", "+359{}", "00359{}", "+359 {}"]))
def test_formatting_variants_of_one_phone_normalise_equal(digits: str, sep: str, shape: str) -> None:
    spaced = sep.join([digits[:3], digits[3:6], digits[6:]])
    assert normalise_phone(shape.format(spaced), "BG") == f"+359{digits}"


@given(bg_mobiles)
def test_normalising_a_phone_twice_changes_nothing(digits: str) -> None:
    once = normalise_phone("0" + digits, "BG")
    assert normalise_phone(once, "BG") == once
    assert normalise_phone(once, "DE") == once  # an E.164 number does not depend on the region


def _iban(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


@given(st.text(alphabet="0123456789", min_size=10, max_size=10), st.text(alphabet="0123456789", min_size=8,
                                                                           max_size=8),
       separators, st.booleans())
def test_formatting_variants_of_one_iban_normalise_equal(account: str, branch: str, sep: str, lower: bool) -> None:
    compact = _iban("BG", "BNBG" + branch[:4] + branch[4:6] + account[:8])
    written = sep.join(compact[i:i + 4] for i in range(0, len(compact), 4))
    once = normalise_iban(written.lower() if lower else written)
    assert once == compact
    assert normalise_iban(once) == once


@given(st.emails())
def test_normalising_an_email_twice_changes_nothing(email: str) -> None:
    once = normalise_email(email)
    assert normalise_email(once) == once
    assert normalise_email(email.upper()) == once


@given(st.text(alphabet="ABCEHKMOPTXY0123456789АВЕКМНОРСТУХ -", min_size=1).filter(
    lambda s: any(c.isalnum() for c in s)))
def test_normalising_a_plate_twice_changes_nothing(plate: str) -> None:
    country, once = normalise_plate(plate, "BG")
    assert normalise_plate(once, country) == (country, once)


names = st.text(alphabet="абвгдежзийклмнопрстуфхцчшщъьюяαβγδεζηθικλμνξοπρστυφχψωabcdeéü -", min_size=1)


@given(names)
def test_name_variants_are_folded_latin_and_stable(name: str) -> None:
    for variant in name_variants(name):
        assert variant.isascii() and variant == variant.lower()
        assert name_variants(variant) == {variant}  # normalising a normalised variant changes nothing


# --- names --------------------------------------------------------------------------------------

def test_bulgarian_by_the_bulgarian_passport_system() -> None:
    assert "shterev yordan" in name_variants("Йордан Щерев")
    assert "hristova maria" in name_variants("Мария Христова")  # Х -> h, final -ия -> ia
    assert "atanas balgarov" in name_variants("Атанас Българов")  # Ъ -> a
    assert "tsvetan zhelyazkov" in name_variants("Цветан Желязков")


def test_an_ambiguous_cyrillic_name_gets_russian_variants_too() -> None:
    variants = name_variants("Йордан Щерев")
    assert {"iordan shcherev", "shcherev yordan"} <= variants
    assert "khristova mariia" in name_variants("Мария Христова")


def test_ukrainian_and_serbian_by_their_own_rules() -> None:
    assert "oleksandr shevchenko" in name_variants("Олександр Шевченко")
    assert "hryhorii yizhakevych" in name_variants("Григорій Їжакевич")
    assert "djokovic novak" in name_variants("Новак Ђоковић")


def test_greek_by_elot_743() -> None:
    assert "ioannis papadopoulos" in name_variants("Ιωάννης Παπαδόπουλος")
    assert "evangelou georgios" in name_variants("Γεώργιος Ευαγγέλου")  # ευ before γ -> ev, γγ -> ng
    assert "efstathiou" in name_variants("ΕΥΣΤΑΘΙΟΥ")  # ευ before σ -> ef; capitals fold
    assert "babis" in name_variants("Μπάμπης") and "bampis" in name_variants("Μπάμπης")


def test_accents_case_and_order_fold() -> None:
    assert name_variants("PETROV Ivan") == name_variants("ivan petrov") == {"ivan petrov"}
    assert name_variants("José GARCÍA") == {"garcia jose"}
    assert {"juergen mueller", "jurgen muller"} <= name_variants("Jürgen Müller")


def test_split_name_takes_capitals_as_surname_else_the_last_token() -> None:
    assert split_name("PETROV Ivan") == [("ivan", "petrov")]
    assert split_name("Ivan Georgiev Petrov") == [("ivan georgiev", "petrov")]
    assert split_name("Иван Петров")[0] == ("ivan", "petrov")


# Invisible characters: every Unicode format character (category Cf) and full-width compatibility forms.
_FORMAT_CHARACTERS = st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e",
                                      "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
                                      "\u2067", "\u2068", "\u2069", "\u061c"])


@st.composite
def _with_invisibles(draw: st.DrawFn, text: str) -> str:
    """text with format characters slipped in at any places."""
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        chars.insert(draw(st.integers(0, len(chars))), draw(_FORMAT_CHARACTERS))
    return "".join(chars)


@given(st.data(), st.sampled_from([
    (IdentifierKind.EMAIL, "ivan.petrov@example.bg"), (IdentifierKind.PHONE, "+359 888 123 456"),
    (IdentifierKind.IBAN, "BG80 BNBG 9661 1020 3456 78"), (IdentifierKind.VEHICLE, "CA 1234 AB")]))
def test_invisible_characters_never_keep_two_equal_identifiers_apart(data: st.DataObject,
                                                                     case: tuple[IdentifierKind, str]) -> None:
    kind, value = case
    hidden = data.draw(_with_invisibles(value))
    plain = identifier_key(Identifier(kind=kind, value=value), "BG")
    assert identifier_key(Identifier(kind=kind, value=hidden), "BG") == plain


@given(st.data(), st.sampled_from(["Иван Петров", "PETROV Ivan", "Ιωάννης Παπαδόπουλος", "Dušan Šarac"]))
def test_invisible_characters_never_keep_two_equal_names_apart(data: st.DataObject, name: str) -> None:
    hidden = data.draw(_with_invisibles(name))
    assert name_variants(hidden) == name_variants(name)
    assert split_name(hidden) == split_name(name)


def test_full_width_and_ligature_forms_fold_like_their_plain_letters() -> None:
    assert name_variants("Ｉｖａｎ Ｐｅｔｒｏｖ") == name_variants("Ivan Petrov")
    assert name_variants("Maﬁa Joﬃ") == name_variants("Mafia Joffi")
    full_width = identifier_key(Identifier(kind=IdentifierKind.EMAIL, value="ｉｖａｎ@ｅｘａｍｐｌｅ.ｂｇ"), "BG")
    assert full_width == "email:ivan@example.bg"
