"""The house rules of docs/ARCHITECTURE.md, checked on the source so that they cannot quietly erode.

1. No import circles among our modules: every strongly connected component of the import graph
   (module-level, ``TYPE_CHECKING`` and function-local imports alike) is a single module.
2. The layers: ``nlp/`` and ``crm/`` import nothing of ours; ``handlers/`` and ``scheduler/`` never
   import ``bot``, nor each other; only ``bot/`` imports ``telegram`` or ``aiohttp``.
3. No document points outside the repository: no relative link or path that leaves the repository or
   names a file that is not in it, and no reference to a ``shared/`` directory beside it.

Each checker is a plain function over files, and each has a test here that feeds it a small broken tree
and expects it to complain — a checker that cannot fail proves nothing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "nlp", "crm", "scheduler")
DOCUMENTS = ("README.md", "nlp/README.md", "docs/*.md")


@dataclass(frozen=True)
class Import:
    """One import statement's target, resolved to an absolute dotted name, and where it is written."""

    target: str
    where: str  # path:line, for the failure message


# --- the import graph ------------------------------------------------------------------------------------


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` under the given top-level packages."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imports_of(module: str, path: Path, root: Path) -> list[Import]:
    """Every import in the file, wherever it stands (``ast.walk`` reaches function bodies and
    ``if TYPE_CHECKING:`` blocks). ``from x import y`` yields ``x.y``: the graph takes its longest prefix
    that is a module, i.e. the submodule ``x.y`` when there is one, else the package ``x``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: list[Import] = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, where) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..y import z
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            found.extend(Import(source if alias.name == "*" else f"{source}.{alias.name}", where) for alias in node.names)
    return found


def _ours(target: str, modules: dict[str, Path]) -> str | None:
    """The module of ours an import loads: the name itself, or its longest known prefix."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, dict[str, str]]:
    """module → {module of ours it imports → where (first occurrence)}."""
    modules = module_files(root, packages)
    graph: dict[str, dict[str, str]] = {module: {} for module in modules}
    for module, path in modules.items():
        for item in imports_of(module, path, root):
            target = _ours(item.target, modules)
            if target is not None and target != module:
                graph[module].setdefault(target, item.where)
    return graph


def strongly_connected(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively (the graph is a few hundred modules; recursion is not the point)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                child = pending.pop()
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph.get(child, {}))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def describe_cycle(graph: dict[str, dict[str, str]], component: list[str]) -> str:
    """One concrete circle through the component, with the line of each import, for the failure message."""
    members = set(component)
    start = component[0]
    paths: dict[str, list[str]] = {start: [start]}
    queue = [start]
    while queue:  # breadth first: the shortest way back to the start
        node = queue.pop(0)
        for child in sorted(graph[node]):
            if child == start:
                hops = [*paths[node], start]
                return " → ".join(
                    f"{a} ({graph[a][b]})" for a, b in zip(hops, hops[1:], strict=False)
                ) + f" → {start}"
            if child in members and child not in paths:
                paths[child] = [*paths[node], child]
                queue.append(child)
    return ", ".join(component)


def cycles(root: Path, packages: Iterable[str]) -> list[str]:
    graph = import_graph(root, packages)
    return [describe_cycle(graph, component) for component in strongly_connected(graph) if len(component) > 1]


# --- the layers ------------------------------------------------------------------------------------------

# (package, top-level names it must never import, why)
LAYER_RULES: tuple[tuple[str, frozenset[str], str], ...] = (
    ("nlp", frozenset({"bot", "handlers", "crm", "scheduler"}), "nlp/ is pure: it imports nothing of ours"),
    ("crm", frozenset({"bot", "handlers", "nlp", "scheduler"}), "crm/ is the store: it imports nothing of ours"),
    ("handlers", frozenset({"bot", "scheduler", "telegram", "aiohttp"}),
     "handlers/ are channel-neutral: no bot/, no scheduler/, no telegram or aiohttp"),
    ("scheduler", frozenset({"bot", "handlers", "telegram", "aiohttp"}),
     "scheduler/ is channel- and config-neutral: no bot/, no handlers/, no telegram or aiohttp"),
)
CHANNEL_LIBRARIES = frozenset({"telegram", "aiohttp"})


def layer_violations(root: Path, packages: Iterable[str]) -> list[str]:
    """Imports that break LAYER_RULES, and telegram/aiohttp imported anywhere but bot/."""
    packages = tuple(packages)
    modules = module_files(root, packages)
    problems: list[str] = []
    for module, path in modules.items():
        top = module.split(".")[0]
        forbidden = {name for package, names, _ in LAYER_RULES if package == top for name in names}
        if top != "bot":
            forbidden |= CHANNEL_LIBRARIES
        reasons = [why for package, _, why in LAYER_RULES if package == top]
        for item in imports_of(module, path, root):
            name = item.target.split(".")[0]
            if name in forbidden:
                rule = "; ".join(reasons) or "only bot/ imports telegram or aiohttp"
                problems.append(f"{item.where}: {module} imports {item.target} ({rule})")
    return sorted(set(problems))


# --- documents -------------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_HTML = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# A path written anywhere in the text (code spans included) that climbs out of its directory …
_UPWARD = re.compile(r"(?<![\w.])((?:\.\./)+[^\s`)\]'\"<>]*)")
# … or names a shared/ directory (the workspace beside the repository, which a clone does not have).
_SHARED = re.compile(r"(?<![\w-])(?:\.\./|/)*shared/[^\s`)\]'\"<>]*")


def links_of(text: str) -> list[str]:
    """Link targets of a Markdown text (inline, reference-style, HTML), outside fenced code blocks."""
    prose = _FENCE.sub("", text)
    return [*_INLINE_LINK.findall(prose), *_REFERENCE.findall(prose), *_HTML.findall(prose)]


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def bad_references(document: Path, root: Path) -> list[str]:
    """Why this document points outside the repository, one line per offending link or path."""
    text = document.read_text(encoding="utf-8")
    name = document.relative_to(root)
    problems: list[str] = []
    for target in links_of(text):
        if target.startswith("#"):
            continue
        if target.lower().startswith("file:"):
            problems.append(f"{name}: link to a local file outside the repository: {target}")
            continue
        if _SCHEME.match(target):  # https://t.me/BotFather and the like: public, fine
            continue
        path_part = target.split("#", 1)[0].split("?", 1)[0]
        resolved = ((root / path_part.lstrip("/")) if path_part.startswith("/") else (document.parent / path_part)).resolve()
        if not _inside(resolved, root):
            problems.append(f"{name}: link leaves the repository: {target}")
        elif not resolved.exists():
            problems.append(f"{name}: link to a file that is not in the repository: {target}")
    for written in _UPWARD.findall(text):
        if not _inside((document.parent / written).resolve(), root):
            problems.append(f"{name}: path leaves the repository: {written}")
    for written in _SHARED.findall(text):
        problems.append(f"{name}: refers to a shared/ directory outside the repository: {written}")
    return sorted(set(problems))


def documents(root: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in DOCUMENTS:
        found.extend(sorted(root.glob(pattern)))
    return found


# --- the rules, on this repository -----------------------------------------------------------------------


def test_no_import_circles() -> None:
    found = cycles(ROOT, PACKAGES)
    assert not found, "import circles (break them; docs/ARCHITECTURE.md, 'Layers'):\n" + "\n".join(found)


def test_layers_hold() -> None:
    found = layer_violations(ROOT, PACKAGES)
    assert not found, "layer rules broken (docs/ARCHITECTURE.md, 'Layers'):\n" + "\n".join(found)


def test_documents_point_only_inside_the_repository() -> None:
    docs = documents(ROOT)
    assert ROOT / "README.md" in docs and ROOT / "docs" / "ARCHITECTURE.md" in docs
    found = [problem for document in docs for problem in bad_references(document, ROOT)]
    assert not found, "documents pointing outside the repository:\n" + "\n".join(found)


def test_the_graph_sees_every_kind_of_import() -> None:
    """The real graph has the edges the checks rely on: a function-local import (bot.cli.serve imports
    bot.app inside ``_run``) and a package import (``from nlp import Analyzer``)."""
    graph = import_graph(ROOT, PACKAGES)
    assert "bot.app" in graph["bot.cli.serve"]
    assert "nlp" in graph["bot.app"]
    assert "crm.inbox" in graph["bot.pipeline"]  # from crm import inbox: the submodule, not the package


# --- each checker can fail -------------------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_circle_is_reported_with_its_imports(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "bot/__init__.py": "",
        "bot/a.py": "from bot import b\n",
        "bot/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\n",
        "bot/c.py": "def late():\n    import bot.a\n",
        "bot/d.py": "import bot.a\n",  # leads into the circle, is not part of it
    })
    found = cycles(root, ["bot"])
    assert len(found) == 1
    assert "bot.a (bot/a.py:1) → bot.b (bot/b.py:3) → bot.c (bot/c.py:2) → bot.a" in found[0]
    assert "bot.d" not in found[0]


def test_relative_imports_are_resolved(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "crm/__init__.py": "from . import models\n",
        "crm/models.py": "from ..crm import store\n",  # climbs out and back in: crm.store
        "crm/store.py": "from .models import Row\n",
    })
    graph = import_graph(root, ["crm"])
    assert graph["crm"] == {"crm.models": "crm/__init__.py:1"}
    assert "crm.models" in graph["crm.store"]
    assert cycles(root, ["crm"]) and "crm.models" in cycles(root, ["crm"])[0]


def test_layer_breaks_are_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "bot/__init__.py": "import aiohttp\n",  # allowed: bot/ is where channels live
        "crm/__init__.py": "",
        "crm/x.py": "def f():\n    from nlp import Analyzer\n",
        "nlp/__init__.py": "from crm.x import f\n",
        "handlers/__init__.py": "",
        "handlers/h.py": "from telegram import Bot\nimport bot.config\n",
        "scheduler/__init__.py": "",
        "scheduler/s.py": "from aiohttp import web\nfrom handlers.h import x\n",
    })
    found = "\n".join(layer_violations(root, PACKAGES))
    for expected in ("crm/x.py:2: crm.x imports nlp", "nlp/__init__.py:1: nlp imports crm.x",
                     "handlers/h.py:1: handlers.h imports telegram", "handlers/h.py:2: handlers.h imports bot.config",
                     "scheduler/s.py:1: scheduler.s imports aiohttp", "scheduler/s.py:2: scheduler.s imports handlers.h"):
        assert expected in found, found
    assert "bot/__init__.py" not in found


def test_links_outside_the_repository_are_reported(tmp_path: Path) -> None:
    root = _tree(tmp_path / "repo", {
        "README.md": (
            "See `../shared/DESIGN.md` for the layers; [design](../shared/DESIGN.md); [gone](docs/NOPE.md);\n"
            "[ok](docs/A.md#part) [bot](https://t.me/BotFather) [top](#how-it-works) [local](file:///etc/passwd)\n"
            "Old notes in shared/notes.md.\n"
            "```sh\nls ../elsewhere\n```\n"
        ),
        "docs/A.md": "[back](../README.md) [up](../../outside.md) [root](/docs/A.md)\n",
    })
    readme = "\n".join(bad_references(root / "README.md", root))
    assert "link leaves the repository: ../shared/DESIGN.md" in readme
    assert "path leaves the repository: ../shared/DESIGN.md" in readme  # the code span, not only the link
    assert "not in the repository: docs/NOPE.md" in readme
    assert "local file outside the repository: file:///etc/passwd" in readme
    assert "shared/ directory outside the repository: shared/notes.md" in readme
    assert "path leaves the repository: ../elsewhere" in readme  # code blocks are text too
    assert "BotFather" not in readme and "docs/A.md#part" not in readme and "#how-it-works" not in readme
    assert bad_references(root / "docs" / "A.md", root) == ["docs/A.md: link leaves the repository: ../../outside.md",
                                                           "docs/A.md: path leaves the repository: ../../outside.md"]


@pytest.mark.parametrize("target", ["../shared/DESIGN.md", "../../x", "/etc/hosts"])
def test_link_targets_are_extracted(target: str) -> None:
    assert links_of(f"a [b]({target}) c\n\n[ref]: {target}\n<a href=\"{target}\">x</a>\n") == [target] * 3
