"""Every string of the templates and every domain code the pages show has its Bulgarian translation."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.web.rendering import DOMAIN_LABELS, LOCALES, TEMPLATES, chosen_language, languages, translations
from domain.actors import Role
from domain.model import ActionDayStatus, HitResolution, Phase, TaskKind, TaskStatus


def template_strings() -> set[str]:
    found = extract_from_dir(str(TEMPLATES), method_map=[("**.html", "jinja2")],
                             options_map={"**.html": {"extensions": "jinja2.ext.i18n"}})
    return {str(message) for _, _, message, _, _ in found}


def test_every_template_string_and_domain_code_has_a_bulgarian_translation() -> None:
    with (LOCALES / "bg" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalogue = read_po(po)
    translated = {str(m.id) for m in catalogue if m.id and m.string and not m.fuzzy}
    wanted = template_strings() | set(DOMAIN_LABELS.values())
    assert len(template_strings()) > 50  # the extraction found the templates' strings
    assert sorted(wanted - translated) == []


def test_every_domain_code_shown_has_a_label() -> None:
    codes = {c.value for enum in (Phase, Role, TaskKind, TaskStatus, ActionDayStatus, HitResolution) for c in enum}
    assert sorted(codes - DOMAIN_LABELS.keys()) == []


def test_the_compiled_catalogue_translates() -> None:
    assert "bg" in languages()
    assert translations("bg").gettext("Sign in") == "Вход"
    assert translations("en").gettext("Sign in") == "Sign in"


class _Request:
    def __init__(self, accept: str, cookie: str | None = None) -> None:
        self.headers = {"accept-language": accept}
        self.cookies = {"liaison_lang": cookie} if cookie else {}


def test_the_language_comes_from_the_switch_then_the_browser() -> None:
    assert chosen_language(_Request("bg-BG,bg;q=0.9,en;q=0.8")) == "bg"  # type: ignore[arg-type]
    assert chosen_language(_Request("fr-FR,en;q=0.5,bg;q=0.4")) == "en"  # type: ignore[arg-type]
    assert chosen_language(_Request("de")) == "en"  # type: ignore[arg-type]
    assert chosen_language(_Request("bg", cookie="en")) == "en"  # type: ignore[arg-type]
