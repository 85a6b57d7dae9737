"""Where a configuration problem is in the user's file: `resources[2].endpoint.paginator`
-> line 34 of tickets.yaml, shown with a few lines around it.

YAML and JSON are composed with line marks, Python is walked as a syntax tree (the dict
given to `rest_api_source(...)` or assigned to `config`), TOML and anything that fails
those is searched as text, one path part after the other. A path that cannot be placed
exactly falls back to its nearest ancestor that can, then to `resource_defaults`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import yaml
from rich.syntax import Syntax

Part = str | int
_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_LEXERS = {".py": "python", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}
_SECRET = re.compile(
    r"""(?P<key>["']?(?:token|api_key|password|client_secret|client_id|secret|access_token)["']?\s*[:=]\s*)"""
    r"""(?P<quote>["']?)(?P<value>(?!\$\{|dlt\.|os\.)[^"'\s,}#]+)""",
    re.IGNORECASE,
)


def parse_path(path: str) -> list[Part]:
    """`resources[2].endpoint.type` -> ["resources", 2, "endpoint", "type"]."""
    return [int(index) if index else key for key, index in _PART.findall(path)]


def locate(text: str, suffix: str, path: str) -> int | None:
    """The 1-based line of `path` in the file text, or None when no part of it is there."""
    parts = parse_path(path)
    if not parts:
        return None
    line, complete = _find(text, suffix, parts)
    if not complete and parts[0] == "resources" and len(parts) > 2 and isinstance(parts[1], int):
        # a value the resource took from resource_defaults: point at the default
        default, found = _find(text, suffix, ["resource_defaults", *parts[2:]])
        if found:
            return default
    return line


Found = tuple[int | None, bool]  # the line of the deepest part found, and whether all parts were


def _find(text: str, suffix: str, parts: list[Part]) -> Found:
    finders = {".yaml": _yaml_line, ".yml": _yaml_line, ".json": _yaml_line, ".py": _python_line}
    finder = finders.get(suffix.lower(), _text_line)
    try:
        found: Found = finder(text, parts)
    except (SyntaxError, yaml.YAMLError, ValueError):
        found = (None, False)
    if found[0] is None and finder is not _text_line:
        found = _text_line(text, parts)
    return found


def _yaml_line(text: str, parts: list[Part]) -> Found:
    node = yaml.compose(text)
    line: int | None = None
    for part in parts:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                return line, False
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line, False
    return line, True


def _python_line(text: str, parts: list[Part]) -> Found:
    tree = ast.parse(text)
    node = _config_node(tree)
    line: int | None = None
    for part in parts:
        node = _resolve_name(tree, node)
        if isinstance(node, ast.Dict) and isinstance(part, str):
            match = next(((k, v) for k, v in zip(node.keys, node.values)
                          if isinstance(k, ast.Constant) and k.value == part), None)
            if match is None:
                return line, False
            line, node = match[0].lineno, match[1]
        elif isinstance(node, (ast.List, ast.Tuple)) and isinstance(part, int) and part < len(node.elts):
            node = node.elts[part]
            line = node.lineno
        else:
            return line, False
    return line, True


def _config_node(tree: ast.Module) -> ast.AST | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) == "rest_api_source":
            if node.args:
                return node.args[0]
            return next((k.value for k in node.keywords if k.arg == "config"), None)
    return _assigned(tree, "config")


def _called(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _assigned(tree: ast.Module, name: str) -> ast.AST | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return node.value
    return None


def _resolve_name(tree: ast.Module, node: ast.AST | None) -> ast.AST | None:
    """A module-level variable used inside the config (`"resources": RESOURCES`) -> its value."""
    if isinstance(node, ast.Name):
        return _assigned(tree, node.id) or node
    return node


def _text_line(text: str, parts: list[Part]) -> Found:
    """Search key after key, each after the previous one; `[[key]]` headers count list items."""
    lines = text.splitlines()
    cursor, found = 0, None
    for i, part in enumerate(parts):
        if isinstance(part, int):
            continue
        index = parts[i + 1] if i + 1 < len(parts) and isinstance(parts[i + 1], int) else None
        hit = _find_key(lines, cursor, part, index)
        if hit is None:
            return found, False
        cursor, found = hit, hit + 1
    return found, True


def _find_key(lines: list[str], start: int, key: str, index: Any) -> int | None:
    name = re.escape(key)
    if isinstance(index, int):
        header = re.compile(rf"^\s*\[\[\s*(?:[\w\-]+\.)*{name}\s*\]\]")
        hits = [n for n in range(start, len(lines)) if header.match(lines[n])]
        if len(hits) > index:
            return hits[index]
    pattern = re.compile(rf"""(?:^|[\s{{,.\[])["']?{name}["']?\s*(?:[:=]|\]|\.[\w"'])""")
    return next((n for n in range(start, len(lines)) if pattern.search(lines[n])), None)


def mask_secrets(line: str) -> str:
    """An inline secret in the user's file is not echoed back (references are kept)."""
    return _SECRET.sub(lambda m: f"{m['key']}{m['quote']}***", line)


_PARSE_LINE = re.compile(r"\bline (\d+)")


def snippet(file: Path, path: str, context: int = 2, message: str = "") -> tuple[int, Syntax] | None:
    """The line of `path` in `file` (or of a parser's `line N` in `message`) and an excerpt around it."""
    try:
        text = file.read_text()
    except OSError:
        return None
    line = locate(text, file.suffix, path)
    parsed = _PARSE_LINE.search(message) if line is None else None
    if parsed is not None and 0 < int(parsed.group(1)) <= len(text.splitlines()):
        line = int(parsed.group(1))
    if line is None:
        return None
    lines = [mask_secrets(t) for t in text.splitlines()]
    lexer = _LEXERS.get(file.suffix.lower(), "text")
    start, end = max(1, line - context), min(len(lines), line + context)
    width = max(len(t.expandtabs()) for t in lines[start - 1:end]) + 1
    return line, Syntax("\n".join(lines), lexer, line_numbers=True, line_range=(start, end), highlight_lines={line},
                        theme="ansi_dark", word_wrap=False, code_width=width)
