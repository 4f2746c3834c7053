"""Text as a reader sees it, shared by the rules for names (domain/identity.py) and for identifiers
(domain/deconfliction/normalise.py)."""

from __future__ import annotations

import unicodedata

FORMAT = "Cf"  # zero-width spaces and joiners, bidi controls, soft hyphens: invisible, so never meaningful


def without_format_characters(value: str) -> str:
    return "".join(ch for ch in value if unicodedata.category(ch) != FORMAT)
