"""Cross-references in the configuration file, checked at load (and so by `concierge config check`).

A key that pydantic accepts can still point at nothing: a FAQ topic the NLP layer never recognises and the
catalogs have no label for (guests then see ``faq_topic.breakfst``), a ticket category no handler opens, a
department nobody has. Each problem names the key, so the error names key and file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from difflib import get_close_matches
from functools import lru_cache

from handlers.i18n import LOCALES, Catalog
from nlp.analysis import CATEGORIES, FAQ_TOPICS

REQUIRED_CATEGORIES = ("other",)  # the fallback every handler opens when a category has no rule of its own


@lru_cache(maxsize=1)
def _catalog_keys() -> dict[str, frozenset[str]]:
    catalog = Catalog()
    return {locale: frozenset(catalog.keys(locale)) for locale in LOCALES}


def _unknown(kind: str, key: str, name: str, known: Sequence[str]) -> str:
    guess = get_close_matches(name, known, n=1)
    hint = f" — did you mean {guess[0]!r}?" if guess else ""
    return f"{key}: unknown {kind} {name!r}{hint} (one of {', '.join(known)})"


def reference_problems(
    *,
    faq: Iterable[str],
    ticket_categories: Mapping[str, str],
    departments: Sequence[str],
    languages: Sequence[str],
    default_language: str,
) -> list[str]:
    """Every dangling reference, as ``key: what is wrong``; empty when all hold."""
    problems: list[str] = []
    labels = _catalog_keys()
    for topic in faq:
        if topic not in FAQ_TOPICS:
            problems.append(_unknown("FAQ topic", f"faq.{topic}", topic, FAQ_TOPICS))
            continue
        missing = [locale for locale in languages if f"faq_topic.{topic}" not in labels.get(locale, frozenset())]
        if missing:
            problems.append(f"faq.{topic}: no menu label faq_topic.{topic} in handlers/locales/{{{','.join(missing)}}}")
    for category, department in ticket_categories.items():
        if category not in CATEGORIES:
            problems.append(_unknown("ticket category", f"ticket_categories.{category}", category, CATEGORIES))
        if department not in departments:
            problems.append(_unknown("department", f"ticket_categories.{category}.department", department, departments))
    for category in REQUIRED_CATEGORIES:
        if category not in ticket_categories:
            problems.append(f"ticket_categories.{category}: missing (the fallback for requests without a rule)")
    if default_language not in languages:
        problems.append(f"default_language: {default_language!r} is not one of languages ({', '.join(languages)})")
    return problems
