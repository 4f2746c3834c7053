"""Templates, languages and the headers every page carries.

Autoescaping is on for every template (user text is text: names, descriptions, justifications, purposes
and code names are shown as typed, never as markup). The catalogues are compiled from their .po files
when the app starts, so no compiled .mo is committed and none can be stale.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from domain.utc import as_utc

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LOCALES = HERE / "locales"
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "liaison_lang"
# htmx adds a <style> of its own for request indicators: inline styles are allowed, inline scripts are not.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
                           "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
HTMX = "htmx-2.0.11.min.js"  # vendored from the npm registry (htmx.org 2.0.11), pinned by its file name


def languages() -> list[str]:
    """English (the templates' own strings) and one language per catalogue: adding one is adding a .po."""
    return [DEFAULT_LANGUAGE, *sorted(p.name for p in LOCALES.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.po")
                                      .exists())]


@cache
def translations(language: str) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    with (LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def chosen_language(request: Request) -> str:
    """The switch the user made (a cookie), else the browser's Accept-Language, else English."""
    known = languages()
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in known:
        return remembered
    weighted: list[tuple[float, str]] = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        weighted.append((weight, tag.split("-")[0].lower()))
    for _, code in sorted(weighted, key=lambda pair: -pair[0]):
        if code in known:
            return code
    return DEFAULT_LANGUAGE


# Directional formatting characters (overrides, embeddings, isolates, marks) would reorder what follows them, even
# outside the element that holds them (a code name inside a timeline line): a user's text shows them as code points.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(text: str) -> str:
    return BIDI_CONTROLS.sub(lambda found: f"\u27e6U+{ord(found.group()):04X}\u27e7", text)


def _finalize(value: object) -> object:
    """Every {{ expression }} of every template passes here before it is escaped."""
    if isinstance(value, Markup):
        return Markup(visible_controls(str(value)))  # our own markup (a macro's): code points only are changed
    return visible_controls(value) if isinstance(value, str) else value


def _utc_text(moment: datetime | None) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _iso(moment: datetime | None) -> str:
    return as_utc(moment).isoformat() if moment else ""


@cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True,
                      default_for_string=True), extensions=["jinja2.ext.i18n"], trim_blocks=True,
                      lstrip_blocks=True, finalize=_finalize)
    env.filters["utc"] = _utc_text
    env.filters["iso"] = _iso
    env.globals["htmx"] = HTMX
    return env


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    """A page in the chosen language. Every page is kept out of the browser's cache and history
    (`no-store`): they show operation data that must not be read back from a shared machine."""
    language = chosen_language(request)
    env = environment()
    chosen = translations(language)
    # One environment for every language: the translations are bound per render, not per environment.
    template_object = env.get_template(template)
    page = template_object.render({
        **context, "language": language, "languages": languages(), "path": request.url.path,
        "gettext": chosen.gettext, "ngettext": chosen.ngettext, "_": chosen.gettext,
        "code": lambda value: chosen.gettext(code_label(value))})
    response = HTMLResponse(page, status_code=status_code, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Language"] = language
    # Should a string ever slip past autoescaping, no inline or foreign script runs, and no other site frames us.
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def code_label(value: object) -> str:
    """The English label of a domain code (a phase, role, task kind, ...), a msgid of the catalogues."""
    text = str(getattr(value, "value", value))
    return DOMAIN_LABELS.get(text, text)


# Domain codes shown on the pages; tests/web/test_languages.py checks each has a Bulgarian translation.
DOMAIN_LABELS: dict[str, str] = {
    "identify": "Identify", "prioritise": "Prioritise", "prepare": "Prepare", "execute": "Execute",
    "closed": "Closed", "cancelled": "Cancelled",
    "coordinator": "Coordinator", "liaison_officer": "Liaison officer", "approver": "Approver",
    "auditor": "Auditor", "administrator": "Administrator", "system": "System",
    "surveillance": "Surveillance", "arrest": "Arrest", "search": "Search",
    "financial_enquiry": "Financial enquiry", "witness_protection": "Witness protection",
    "victim_support": "Victim support", "release": "Release of information", "other": "Other",
    "pending": "Pending", "approved": "Approved", "rejected": "Rejected", "dropped": "Dropped",
    "scheduled": "Scheduled", "blocked": "Blocked", "running": "Running", "finished": "Finished",
    "coordinated": "Coordinated", "proceed": "Proceed", "target_withdrawn": "Target withdrawn",
}
