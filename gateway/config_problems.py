"""Every configuration problem located: ``FILE:LINE: field.path: reason``.

Rules of this module:
- a pydantic error's ``loc`` is turned into the path the person wrote by walking the schema
  alongside it: pydantic inserts union tags (a sink's ``kind``, a member's class name) and
  ``[key]`` markers into ``loc``; which elements are tags is read from the model's types, never
  guessed from their text (a sink *named* ``mqtt`` keeps its name);
- keys that are not bare TOML keys are quoted (``buildings."a b"``, ``site.""``), so a path is
  never empty nor ambiguous; a problem of the whole document says ``(top level)``;
- a TOML syntax error is located at the key or table it interrupts;
- a document nested deeper than :data:`MAX_DEPTH` (arrays, inline tables) is refused before it
  reaches ``tomllib``, whose recursive parser would otherwise overflow the stack.
"""

from __future__ import annotations

import pathlib
import re
import types
import typing
from os import PathLike
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from gateway.errors import ConfigProblem
from gateway.schema.base import IDENT_RE
from gateway.tomlpos import Located, Path, format_path, locate, parse_path

#: Nesting of arrays and inline tables a configuration may use (it needs 3).
MAX_DEPTH = 32

_TOML_AT = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


def depth_problem(file: str, located: Located) -> ConfigProblem | None:
    """A document nested deeper than :data:`MAX_DEPTH`, located at its outermost value."""
    if located.depth <= MAX_DEPTH:
        return None
    reason = f"values nested more than {MAX_DEPTH} levels deep (arrays or inline tables); not a configuration"
    return ConfigProblem(file, format_path(located.depth_path), reason, located.depth_line)


def syntax_problem(file: str, message: str, text: str) -> ConfigProblem:
    """A ``tomllib`` error at its line, in the key or table it interrupts."""
    match = _TOML_AT.search(message)
    last = text.count("\n") + (0 if text.endswith("\n") else 1)
    if match is None:
        line, reason = last, message
    elif match.group(1) is None:
        line, reason = last, message[: match.start()] + " (at the end of the file)"
    else:
        line, reason = int(match.group(1)), message[: match.start()] + f" (column {match.group(2)})"
    line = max(1, line)
    where = locate(text, until_line=line).context_at(line)
    return ConfigProblem(file, format_path(where), f"not valid TOML: {reason}", line)


def validation_problems(
    file: str, exc: ValidationError, located: Located, root: type[BaseModel]
) -> list[ConfigProblem]:
    """One located problem per pydantic error."""
    problems = []
    for error in exc.errors(include_url=False):
        path = user_path(root, error["loc"])
        problems.append(ConfigProblem(file, format_path(path), _reason(error), located.line_of(path)))
    return problems


def cross_problem(file: str, dotted: str, reason: str, located: Located) -> ConfigProblem:
    """A cross-check's ``(path, reason)`` located."""
    path = parse_path(dotted)
    return ConfigProblem(file, format_path(path), reason, located.line_of(path))


def located_in_file(path: str | PathLike[str], found: list[tuple[str, str]]) -> list[ConfigProblem]:
    """Cross-checks' ``(path, reason)`` located in the file ``path`` they were found in, in file order
    (unlocated if the file cannot be read any more)."""
    if not found:
        return []
    file = str(path)
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8-sig", errors="replace")
    except OSError:
        return [ConfigProblem(file, dotted, reason) for dotted, reason in found]
    where = locate(text)
    problems = [cross_problem(file, dotted, reason, where) for dotted, reason in found]
    return sorted(problems, key=lambda p: (p.line or 0, p.path))


# ---- pydantic's loc -> the person's path ----------------------------------------------------


def user_path(root: type[BaseModel], loc: tuple[int | str, ...]) -> Path:
    """Drop the union tags and ``[key]`` markers pydantic puts in ``loc``, following the types."""
    parts: list[str | int] = []
    kind: Any = root
    items = list(loc)
    i = 0
    while i < len(items):
        part = items[i]
        kind = _strip(kind)
        members = _union_members(kind)
        if members is not None:
            chosen = _member_tagged(members, part)
            if chosen is not _NO_MEMBER:
                kind = chosen  # this element was the union's tag
                i += 1
                continue
            kind = None
        if kind is None:
            if not _is_tag(part):
                parts.append(part)
            i += 1
            continue
        parts.append(part)
        i += 1
        kind, skip_key_marker = _child(kind, part)
        if skip_key_marker and i < len(items) and items[i] == "[key]":
            i += 1  # the key itself is invalid: the path ends at the key
    return tuple(parts)


_NO_MEMBER: Any = object()


def _strip(kind: Any) -> Any:
    """Annotated[X, ...] -> X; X | None -> X (``None`` members add no tag to ``loc``)."""
    while True:
        origin = get_origin(kind)
        if origin is typing.Annotated:
            kind = get_args(kind)[0]
            continue
        if origin in (Union, types.UnionType):
            members = [m for m in get_args(kind) if m is not type(None)]
            if len(members) == 1:
                kind = members[0]
                continue
        return kind


def _union_members(kind: Any) -> list[Any] | None:
    if get_origin(kind) in (Union, types.UnionType):
        return [m for m in get_args(kind) if m is not type(None)]
    return None


def _member_tagged(members: list[Any], tag: int | str) -> Any:
    """The union member ``tag`` names: a model by class name, or by its ``kind`` literal."""
    for member in members:
        inner = _strip(member)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            if tag == inner.__name__:
                return inner
            kind_field = inner.model_fields.get("kind")
            literal = kind_field is not None and get_origin(kind_field.annotation) is Literal
            if literal and kind_field is not None and tag in get_args(kind_field.annotation):
                return inner
    if isinstance(tag, str) and _is_tag(tag):
        return None  # a member that is not a model (a literal, a scalar): nothing below it
    return _NO_MEMBER


def _is_tag(part: int | str) -> bool:
    """pydantic's names for schema members (``literal['default']``, ``function-after[...]``)."""
    return isinstance(part, str) and (
        "[" in part or part in {"str", "int", "float", "bool", "none", "date", "datetime", "time"}
    )


def _child(kind: Any, part: int | str) -> tuple[Any, bool]:
    """The type below ``kind`` at ``part``; whether a ``[key]`` marker may follow."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        field = kind.model_fields.get(str(part))
        return (field.annotation if field is not None else None), False
    origin = get_origin(kind)
    args = get_args(kind)
    if origin is dict and len(args) == 2:
        return args[1], True
    if origin in (list, set, frozenset) and args:
        return args[0], False
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0], False
        return (args[part] if isinstance(part, int) and 0 <= part < len(args) else None), False
    return None, False


_PLAIN_REASONS = {
    "extra_forbidden": "unknown key (typo?)",
    "missing": "required but missing",
    "union_tag_not_found": "missing 'kind' (which kind of bus or sink is this?)",
}


def _reason(error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in _PLAIN_REASONS:
        return _PLAIN_REASONS[kind]
    if kind == "union_tag_invalid":
        return f"unknown kind {_short(ctx.get('tag'))}; expected one of {ctx.get('expected_tags')}"
    if kind == "string_pattern_mismatch":
        given, pattern = _short(error.get("input")), str(ctx.get("pattern"))
        if pattern == IDENT_RE.pattern:
            return f"{given} is not a valid identifier (lower-case letters, digits, '-', '_')"
        if pattern.count("0,62}") == 2:
            return f"{given} is not a zone reference 'building/zone' (two identifiers)"
        return f"{given} does not match {pattern}"
    return re.sub(r"^Value error, ", "", str(error["msg"]))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
