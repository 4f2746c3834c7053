"""Reference lists of member states and operational partners (ISO 3166-1 alpha-2)."""

from __future__ import annotations

import difflib

from domain.errors import InvalidInput
from domain.iso_countries import ISO_COUNTRIES

# EU usage writes Greece as "EL"; ISO writes "GR". Both are accepted, "EL" is canonical here.
EU_MEMBER_STATES: frozenset[str] = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE EL HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)
# The one table of country codes written differently in EU usage and in ISO 3166-1 (EU -> ISO). A member
# state is written here as the EU writes it ("EL"), any other country as ISO does ("GB", not "UK").
EU_TO_ISO: dict[str, str] = {"EL": "GR", "UK": "GB"}
_ISO_TO_EU = {iso: eu for eu, iso in EU_TO_ISO.items()}
# Operational partners that are bodies rather than states; codes as the task force writes them.
PARTNER_BODIES: dict[str, str] = {
    "EUROPOL": "Europol", "EUROJUST": "Eurojust", "FRONTEX": "Frontex", "INTERPOL": "Interpol",
    "UNODC": "UN Office on Drugs and Crime",
}
_ISO_CODES: frozenset[str] = frozenset(ISO_COUNTRIES)
_NAMES = ISO_COUNTRIES | {"EL": "Greece"} | PARTNER_BODIES


def iso_code(code: str) -> str:
    """Upper-cased and trimmed, with ISO's code in place of the EU's ("EL" -> "GR"); not checked."""
    cleaned = code.strip().upper()
    return EU_TO_ISO.get(cleaned, cleaned)


def canonical_code(code: str) -> str:
    """Upper-cased and trimmed, with the EU's "EL" for Greece in place of ISO's "GR" (and "GB" for "UK")."""
    iso = iso_code(code)
    eu = _ISO_TO_EU.get(iso, iso)
    return eu if eu in EU_MEMBER_STATES else iso


# Spellings that canonical_code rewrites ("GR", "UK"): not offered as close matches.
_NOT_CANONICAL = frozenset(c for c in (*EU_TO_ISO, *EU_TO_ISO.values()) if canonical_code(c) != c)


def country_name(code: str) -> str:
    return _NAMES.get(code, code)


def close_matches(code: str, candidates: frozenset[str] = _ISO_CODES) -> str:
    """' Close matches: ...' naming up to five codes like the one given (by code or name), or ''."""
    by_code = difflib.get_close_matches(code, sorted(candidates), n=4, cutoff=0.5)
    by_name = [c for c in sorted(candidates) if code.lower() and code.lower() in _NAMES.get(c, "").lower()]
    matches = list(dict.fromkeys(by_name + by_code))[:5]
    if not matches:
        return ""
    return " Close matches: " + ", ".join(f"{m} ({country_name(m)})" for m in matches) + "."


def member_state(code: str, field: str = "member_state") -> str:
    """Canonical EU member-state code, or InvalidInput naming the field and close matches."""
    canonical = canonical_code(code)
    if canonical in EU_MEMBER_STATES:
        return canonical
    message = f"{field}: {code!r} is not an EU member-state code."
    if canonical in _ISO_CODES:
        message += f" {country_name(canonical)} may take part as an operational partner."
    raise InvalidInput(field, code, message + close_matches(canonical, EU_MEMBER_STATES))


def partner(code: str, field: str = "partners") -> str:
    """Canonical operational-partner code: any ISO 3166-1 country outside the EU."""
    canonical = canonical_code(code)
    if canonical in EU_MEMBER_STATES:
        raise InvalidInput(field, code, f"{field}: {code!r} is an EU member state, not an operational partner.")
    if canonical in _ISO_CODES or canonical in PARTNER_BODIES:
        return canonical
    raise InvalidInput(field, code, f"{field}: {code!r} is neither an ISO 3166-1 alpha-2 country code nor a "
                       f"partner body ({', '.join(PARTNER_BODIES)})."
                       + close_matches(canonical, (_ISO_CODES | set(PARTNER_BODIES)) - EU_MEMBER_STATES
                                        - _NOT_CANONICAL))


def participant(code: str, field: str = "member_state") -> str:
    """A member state or an operational partner, canonical; refused with close matches otherwise."""
    canonical = canonical_code(code)
    if canonical in EU_MEMBER_STATES:
        return canonical
    try:
        return partner(code, field)
    except InvalidInput:
        raise InvalidInput(field, code, f"{field}: {code!r} is neither an EU member state nor an operational "
                           "partner." + close_matches(canonical, _ISO_CODES | set(PARTNER_BODIES))) from None
