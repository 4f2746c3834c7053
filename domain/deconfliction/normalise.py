# ruff: noqa: RUF002, RUF003  (transliteration tables: Cyrillic and Greek letters are the point)
"""Normalisation of identifiers and person names for deconfliction. Pure: no I/O, no clock, no state.

Every identifier becomes one canonical key string (``identifier_key``), so equal identifiers written
differently ("0888 123 456" contributed by BG and "+359 888 123456") compare equal by string equality.
A value that cannot be normalised is refused with ``InvalidInput`` naming the field, the value and the
rule it broke.

Person names become sets of romanised variants (``name_variants``): each script is transliterated by
its own national rules, and where the script does not tell which rules apply (a Cyrillic name may be
Bulgarian or Russian) every plausible romanisation is generated; matching then scores the best pair.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError

from domain.errors import InvalidInput
from domain.iso_countries import ISO_COUNTRIES
from domain.model import Identifier, IdentifierKind
from domain.reference import close_matches, iso_code
from domain.text import without_format_characters

# --- countries -----------------------------------------------------------------------------------

def iso_country(code: str | None, field: str = "country") -> str:
    """The ISO 3166-1 alpha-2 code of a country written as an ISO or EU code ("EL" -> "GR")."""
    raw = (code or "").strip().upper()
    iso = iso_code(raw)
    if iso not in ISO_COUNTRIES:
        raise InvalidInput(field, code, f"{field}: {code!r} must be an ISO 3166-1 alpha-2 or EU country code."
                           + close_matches(raw))
    return iso


# --- identifiers ---------------------------------------------------------------------------------

def normalise_phone(value: str, default_country: str | None) -> str:
    """E.164 ("+359888123456"); a national number is read in ``default_country`` (the contributing state)."""
    region = iso_country(default_country, "identifier.country") if default_country else None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("identifier.value", value,
                           f"phone {value!r} cannot be read as a phone number (region {region}): {exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("identifier.value", value,
                           f"phone {value!r} is not a valid number under the numbering plan (region {region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_iban(value: str) -> str:
    """Compact upper-case IBAN ("BG80BNBG96611020345678") whose ISO 13616 checksum holds."""
    text = value.strip()
    if text[:4].upper() == "IBAN":
        text = text[4:].lstrip(": ")
    try:
        return str(stdnum_iban.validate(text))
    except ValidationError as exc:
        raise InvalidInput("identifier.value", value,
                           f"iban {value!r} is not a valid IBAN (ISO 13616 country, length and checksum)") from exc


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(value: str) -> str:
    """Stripped and case-folded e-mail address."""
    text = value.strip().casefold()
    if not _EMAIL.match(text):
        raise InvalidInput("identifier.value", value, f"email {value!r} must look like local@domain.tld")
    return text


# Cyrillic and Greek capitals that look like Latin ones (the only letters Bulgarian and Greek plates use).
_PLATE_LOOKALIKES = str.maketrans({
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})


def _upper_alnum(value: str, field: str, what: str) -> str:
    text = unicodedata.normalize("NFC", value).upper().translate(_PLATE_LOOKALIKES)
    kept = "".join(ch for ch in text if ch.isalnum())
    if not kept or not kept.isascii():
        raise InvalidInput(field, value,
                           f"{what} {value!r} must consist of Latin letters (or look-alike Cyrillic/Greek ones) "
                           "and digits")
    return kept


def normalise_plate(value: str, country: str | None) -> tuple[str, str]:
    """(ISO country, plate) with the plate as upper-case Latin alphanumerics ("СА 1234 АВ" -> "CA1234AB")."""
    return iso_country(country, "identifier.country"), _upper_alnum(value, "identifier.value", "plate")


#: Identity-document types, by the prefixes officers write in front of the number ("passport:123").
DOCUMENT_TYPES = {
    "P": "passport", "PASS": "passport", "PASSPORT": "passport", "PP": "passport",
    "ID": "id_card", "IDCARD": "id_card", "I": "id_card", "IDENTITYCARD": "id_card",
    "DL": "driving_licence", "DRIVINGLICENCE": "driving_licence", "DRIVINGLICENSE": "driving_licence",
    "RP": "residence_permit", "RESIDENCEPERMIT": "residence_permit",
    "DOCUMENT": "document", "DOC": "document",
}


def normalise_document(value: str, country: str | None) -> tuple[str, str, str]:
    """(type, ISO issuing country, number). Write the type as a prefix ("passport:381234567",
    "ID: AB123456"); without a known prefix the type is "document"."""
    doc_type, number = "document", value
    if ":" in value:
        prefix, rest = value.split(":", 1)
        canonical = DOCUMENT_TYPES.get(re.sub(r"[^A-Z]", "", prefix.upper()))
        if canonical is None:
            raise InvalidInput("identifier.value", value,
                               f"identity document type {prefix.strip()!r} must be one of "
                               f"{sorted(set(DOCUMENT_TYPES.values()))}")
        doc_type, number = canonical, rest
    return (doc_type, iso_country(country, "identifier.country"),
            _upper_alnum(number, "identifier.value", "document number"))


def normalise_company(value: str, country: str | None) -> tuple[str, str]:
    """(ISO country, registration number as upper-case alphanumerics)."""
    return iso_country(country, "identifier.country"), _upper_alnum(value, "identifier.value",
                                                                     "company registration number")


def normalise_address(value: str, country: str | None) -> tuple[str, str]:
    """(ISO country, address as sorted, folded Latin tokens)."""
    tokens = sorted(_fold_latin(_transliterate(value, _BG)).split())
    if not tokens:
        raise InvalidInput("identifier.value", value, f"address {value!r} must contain letters or digits")
    return iso_country(country, "identifier.country"), " ".join(tokens)


def _country_of(contributor: str) -> str | None:
    """The contributor's country, or None for a partner body (Europol, Interpol), which has none."""
    iso = iso_code(contributor)
    return iso if iso in ISO_COUNTRIES else None


#: How each identifier kind is normalised: (value, country or None) -> the parts of its key after the kind.
#: The one registry of normalisers; tests/unit/test_registries.py checks that every IdentifierKind has one.
NORMALISERS: dict[IdentifierKind, Callable[[str, str | None], tuple[str, ...]]] = {
    IdentifierKind.PHONE: lambda value, country: (normalise_phone(value, country),),
    IdentifierKind.EMAIL: lambda value, _country: (normalise_email(value),),
    IdentifierKind.IBAN: lambda value, _country: (normalise_iban(value),),
    IdentifierKind.VEHICLE: normalise_plate,
    IdentifierKind.IDENTITY_DOCUMENT: normalise_document,
    IdentifierKind.COMPANY: normalise_company,
    IdentifierKind.ADDRESS: normalise_address,
}


def clean_text(value: str) -> str:
    """The text as a reader sees it: Unicode format characters (zero-width spaces and joiners, bidi
    controls, soft hyphens: category Cf) removed, and compatibility forms (full-width letters, ligatures)
    folded by NFKC. Every identifier and name passes through it before it is normalised, so an invisible
    character never keeps two equal values apart."""
    return unicodedata.normalize("NFKC", without_format_characters(value))


def identifier_key(identifier: Identifier, contributing_state: str) -> str:
    """The canonical key of an identifier: "phone:+359888123456", "iban:BG80BNBG96611020345678",
    "email:a@b.eu", "vehicle:BG:CA1234AB", "identity_document:passport:BG:381234567", "company:BG:201234567",
    "address:BG:1 sofia vitosha". The identifier's own country wins over the contributing state."""
    country = identifier.country or _country_of(contributing_state)
    kind = identifier.kind
    normaliser = NORMALISERS.get(kind)
    if normaliser is None:
        raise InvalidInput("identifier.kind", kind, f"identifier kind {kind!r} has no normalisation rule")
    return ":".join((kind.value, *normaliser(clean_text(identifier.value), country)))


# --- person names --------------------------------------------------------------------------------

# Bulgarian: the Streamlined System (Transliteration Act 2009), used in Bulgarian passports.
_BG = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z", "и": "i", "й": "y",
    "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sht", "ъ": "a", "ь": "y", "ю": "yu", "я": "ya",
    "ѝ": "i",
}
# Russian: ICAO Doc 9303 as in Russian passports since 2013.
_RU_ICAO = {
    **{k: v for k, v in _BG.items() if k not in "ъь"},
    "й": "i", "х": "kh", "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ё": "e", "ю": "iu", "я": "ia",
}
# Russian: the common BGN/PCGN-like practice (older passports, press, most Western files).
_RU_COMMON = {**_RU_ICAO, "й": "y", "ъ": "", "ю": "yu", "я": "ya", "ё": "e"}
# Ukrainian: the national system (Cabinet resolution 55 of 2010); word-initial forms in _UK_INITIAL.
_UK = {
    **{k: v for k, v in _RU_COMMON.items() if k not in "ыэёъ"},
    "г": "h", "ґ": "g", "и": "y", "і": "i", "ї": "i", "й": "i", "є": "ie", "ю": "iu", "я": "ia", "ь": "",
    "'": "", "’": "", "ʼ": "",
}
_UK_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
# Serbian and Macedonian Cyrillic: the official Latin alphabet, then folded to ASCII (ć -> c, đ -> dj).
_SR = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ђ": "dj", "е": "e", "ж": "z", "з": "z", "и": "i",
    "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "ћ": "c", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "c", "џ": "dz", "ш": "s",
    "ѓ": "gj", "ќ": "kj", "ѕ": "dz",
}
# Macedonian: the official romanisation (as in Macedonian passports), which writes ж, ч, ш, џ as digraphs.
_MK = {**_SR, "ж": "zh", "ч": "ch", "ш": "sh", "џ": "dzh", "ц": "c", "ѓ": "gj", "ќ": "kj", "ѕ": "dz", "ј": "j"}

_UKRAINIAN_ONLY = set("ґєії")
_SERBIAN_ONLY = set("ђћ")
_MACEDONIAN_ONLY = set("ѓќѕ")
_SERBIAN_OR_MACEDONIAN = set("јљњџ")
_RUSSIAN_ONLY = set("ыэё")

# Greek: ELOT 743 (ISO 843 type 2), as in Greek passports. Digraphs are handled in _greek().
_GREEK = {
    "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i", "κ": "k",
    "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s", "ς": "s", "τ": "t",
    "υ": "y", "φ": "f", "χ": "ch", "ψ": "ps", "ω": "o",
}
_GREEK_VOICELESS = set("θκξπστφχψ")
_GREEK_LETTERS = set(_GREEK)

# Latin letters that NFKD does not decompose.
_LATIN_SPECIAL = str.maketrans({"ß": "ss", "ø": "o", "đ": "dj", "ł": "l", "æ": "ae", "œ": "oe", "þ": "th",
                                "ð": "d", "ı": "i", "ŋ": "ng", "ħ": "h"})
_GERMAN_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def _transliterate(text: str, table: dict[str, str], initial: dict[str, str] | None = None) -> str:
    """Cyrillic by ``table`` (lower-cased), Greek by ELOT 743, anything else left as it is."""
    lowered = text.lower()
    lowered = re.sub(r"ия\b", "ia", lowered) if table is _BG else lowered  # Streamlined System: final -ия
    out: list[str] = []
    previous = " "
    for ch in _greek(lowered):
        if initial and ch in initial and not previous.isalpha():
            out.append(initial[ch])
        else:
            out.append(table.get(ch, ch))
        previous = ch
    return "".join(out)


def _greek(text: str, *, phonetic: bool = False) -> str:
    """ELOT 743 for the Greek letters of ``text`` (other characters pass through). With ``phonetic`` a
    looser, letter-by-sound variant (αι -> e, οι/ει/υ -> i, μπ -> b, ντ -> d, γκ -> g, χ -> h), common in
    older documents and Western files."""
    if not any(ch in _GREEK_LETTERS or "\u0370" <= ch <= "\u03ff" or "\u1f00" <= ch <= "\u1fff" for ch in text):
        return text
    # Drop accents but remember diaeresis, which splits a digraph (αϋ is a-y, not av).
    letters: list[tuple[str, bool]] = []
    for ch in unicodedata.normalize("NFD", text):
        if ch == "\u0308" and letters:
            letters[-1] = (letters[-1][0], True)
        elif unicodedata.category(ch) != "Mn":
            letters.append((ch, False))
    out: list[str] = []
    i, n = 0, len(letters)
    while i < n:
        ch = letters[i][0]
        nxt = letters[i + 1][0] if i + 1 < n else ""
        nxt_diaeresis = letters[i + 1][1] if i + 1 < n else False
        after = letters[i + 2][0] if i + 2 < n else ""
        word_start = i == 0 or not letters[i - 1][0].isalpha()
        pair = ch + nxt if not nxt_diaeresis else ""
        if ch not in _GREEK_LETTERS:
            out.append(ch)
            i += 1
            continue
        if pair in ("αυ", "ευ", "ηυ"):
            voiceless = after in _GREEK_VOICELESS or not after.isalpha()
            out.append(_GREEK[ch] + ("f" if voiceless else "v"))
            i += 2
        elif pair == "ου":
            out.append("ou")
            i += 2
        elif pair == "μπ":
            out.append("b" if word_start or phonetic else "mp")
            i += 2
        elif pair == "ντ" and phonetic:
            out.append("d" if word_start else "nd")
            i += 2
        elif pair == "γγ":
            out.append("ng")
            i += 2
        elif pair == "γκ":
            out.append("g" if word_start or phonetic else "gk")
            i += 2
        elif pair == "γξ":
            out.append("nx")
            i += 2
        elif pair == "γχ":
            out.append("nch")
            i += 2
        elif phonetic and pair in ("αι", "ει", "οι", "υι"):
            out.append({"αι": "e", "ει": "i", "οι": "i", "υι": "i"}[pair])
            i += 2
        elif phonetic and ch in "υχ":
            out.append("i" if ch == "υ" else "h")
            i += 1
        else:
            out.append(_GREEK[ch])
            i += 1
    return "".join(out)


def _fold_latin(text: str) -> str:
    """Lower-case ASCII letters and digits separated by single spaces (accents and case folded)."""
    text = unicodedata.normalize("NFKD", text.casefold().translate(_LATIN_SPECIAL))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("'", "").replace("’", "").replace("ʼ", "")
    if not text.isascii():
        from anyascii import anyascii  # other scripts (Arabic, Georgian, ...): a best-effort fallback

        text = anyascii(text).lower()
    return " ".join(re.findall(r"[a-z0-9]+", text))


def _romanisations(name: str) -> list[str]:
    """Every plausible Latin spelling of ``name`` (not yet folded)."""
    name = clean_text(name)
    lowered = name.lower()
    has_cyrillic = any("\u0400" <= ch <= "\u04ff" for ch in lowered)
    has_greek = any("\u0370" <= ch <= "\u03ff" or "\u1f00" <= ch <= "\u1fff" for ch in lowered)
    forms: list[str] = []
    if has_cyrillic:
        letters = set(lowered)
        if letters & _SERBIAN_ONLY:
            forms.append(_transliterate(name, _SR))
        elif letters & (_MACEDONIAN_ONLY | _SERBIAN_OR_MACEDONIAN):
            # Macedonian by its own system, and by the Serbian one as older files (and this index before
            # it knew Macedonian) write it
            forms += [_transliterate(name, _MK), _transliterate(name, _SR)]
        elif letters & _UKRAINIAN_ONLY:
            forms += [_transliterate(name, _UK, _UK_INITIAL), _transliterate(name, _RU_COMMON)]
        elif letters & _RUSSIAN_ONLY:
            forms += [_transliterate(name, _RU_ICAO), _transliterate(name, _RU_COMMON)]
        else:  # ambiguous: every state's own system (they differ in г, й, х, ц, ч, ш, щ, ъ, ю, я)
            forms += [_transliterate(name, table, initial) for table, initial in (
                (_BG, None), (_RU_ICAO, None), (_RU_COMMON, None), (_UK, _UK_INITIAL), (_SR, None), (_MK, None))]
    if has_greek:
        base = forms or [lowered]
        forms = [_greek(f) for f in base] + [_greek(f, phonetic=True) for f in base]
    if not forms:
        forms = [lowered]
        if any(ch in "äöü" for ch in lowered):
            forms.append(lowered.translate(_GERMAN_UMLAUTS))
    return forms


def _uppercase_surname_tokens(name: str) -> set[int]:
    """Indexes of tokens written in capitals ("PETROV Ivan") when the others are not: those are the surname."""
    tokens = re.findall(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*", name)
    upper = {i for i, t in enumerate(tokens) if len(t) > 1 and t.isupper()}
    return upper if upper and len(upper) < len(tokens) else set()


def name_tokens(name: str) -> list[list[str]]:
    """Each romanised variant of ``name`` as its folded tokens, in written order (duplicates removed)."""
    seen: list[list[str]] = []
    for form in _romanisations(name):
        tokens = _fold_latin(form).split()
        if tokens and tokens not in seen:
            seen.append(tokens)
    return seen


def name_variants(name: str) -> set[str]:
    """Romanised, accent- and case-folded variants of a person name, token order ignored (tokens sorted):
    ``name_variants("Иван Петров") == {"ivan petrov"}``, ``name_variants("Йордан Щерев")`` contains
    "shterev yordan" (Bulgarian) and "iordan shcherev" (Russian, ICAO)."""
    return {" ".join(sorted(tokens)) for tokens in name_tokens(name)}


def split_name(name: str) -> list[tuple[str, str]]:
    """Each romanised variant as (given names, surname). The surname is the token written in capitals
    when some are ("PETROV Ivan"), else the last one; matching also tries the other assignment."""
    name = clean_text(name)
    upper = _uppercase_surname_tokens(name)
    parts: list[tuple[str, str]] = []
    for tokens in name_tokens(name):
        if upper and len(tokens) == len(re.findall(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*", name)):
            surname = " ".join(t for i, t in enumerate(tokens) if i in upper)
            given = " ".join(t for i, t in enumerate(tokens) if i not in upper)
        else:
            surname, given = tokens[-1], " ".join(tokens[:-1])
        if (given, surname) not in parts:
            parts.append((given, surname))
    return parts


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order without repeats."""
    return list(dict.fromkeys(items))
