"""Tiny auto-escaping HTML builder for the staff dashboard.

Everything that is not already ``Html`` is escaped when it is put into markup, so guest text can only
ever appear as text — the same guarantee a template engine's autoescape gives, without a dependency.
Build markup with ``fmt("<p>{}</p>", value)``; never concatenate raw strings with data.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlencode


class Html(str):
    """Markup that is safe to emit as is (built by this module from escaped parts)."""

    __slots__ = ()


def esc(value: object) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def fmt(template: str, *args: object, **kwargs: object) -> Html:
    """``str.format`` with every argument escaped. The template itself must be a literal."""
    return Html(template.format(*(esc(a) for a in args), **{k: esc(v) for k, v in kwargs.items()}))


def join(parts: Iterable[object], sep: str = "") -> Html:
    return Html(sep.join(esc(part) for part in parts))


def url(path: str, **query: object) -> str:
    """A link with query parameters; empty values are left out."""
    params = {k: str(v) for k, v in query.items() if v not in (None, "")}
    return f"{path}?{urlencode(params)}" if params else path


def options(choices: Sequence[tuple[str, str]], selected: str | None, *, blank: str | None = None) -> Html:
    items = [fmt('<option value="">{}</option>', blank)] if blank is not None else []
    for value, label in choices:
        mark = " selected" if value == (selected or "") else ""
        items.append(fmt('<option value="{}"' + mark + ">{}</option>", value, label))
    return join(items)


def csrf_field(token: str) -> Html:
    return fmt('<input type="hidden" name="csrf" value="{}">', token)


def table(headers: Sequence[object], rows: Iterable[Sequence[object]], *, empty: str = "—") -> Html:
    """A table that scrolls sideways inside its box on a narrow screen instead of breaking the page."""
    head = join(fmt("<th>{}</th>", h) for h in headers)
    body = join(fmt("<tr>{}</tr>", join(fmt("<td>{}</td>", cell) for cell in row)) for row in rows)
    if not body:
        body = fmt('<tr><td colspan="{}" class="muted">{}</td></tr>', len(headers), empty)
    return fmt('<div class="scroll"><table><thead><tr>{}</tr></thead><tbody>{}</tbody></table></div>', head, body)


def definition_list(items: Mapping[str, object]) -> Html:
    return fmt("<dl>{}</dl>", join(fmt("<dt>{}</dt><dd>{}</dd>", k, v) for k, v in items.items()))


def layout(
    *,
    title: str,
    body: Html,
    lang: str,
    nav: Sequence[tuple[str, str, bool]] = (),
    user_label: str = "",
    logout: Html | None = None,
    languages: Sequence[tuple[str, str]] = (),
    flash: str | None = None,
    error: str | None = None,
) -> Html:
    nav_html = join(
        fmt('<a href="{}"' + (' class="active"' if active else "") + ">{}</a>", href, label) for href, label, active in nav
    )
    switch = join(fmt('<a href="{}" hreflang="{}">{}</a>', url("/staff/lang", to=code), code, label) for code, label in languages)
    notices = join([
        fmt('<p class="flash" role="status">{}</p>', flash) if flash else "",
        fmt('<p class="error" role="alert">{}</p>', error) if error else "",
    ])
    return fmt(
        """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Concierge</title>
<link rel="stylesheet" href="/staff/static/staff.css">
<script src="/staff/static/staff.js" defer></script>
</head>
<body>
<header class="top"><strong class="brand">Concierge</strong><nav>{nav}</nav><span class="who">{user}</span>{logout}<span class="langs">{switch}</span></header>
<main>
<h1>{title}</h1>
{notices}
{body}
</main>
</body>
</html>
""",
        lang=lang, title=title, nav=nav_html, user=user_label, logout=logout or Html(""), switch=switch,
        notices=notices, body=body,
    )
