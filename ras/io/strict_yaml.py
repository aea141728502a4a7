"""Strict, safe YAML and the mapping from validation errors back to lines.

ras reads its YAML (point tables, scenarios) through the composer of
``ruamel.yaml``: nothing is ever constructed from tags, YAML 1.2 rules apply
(``Yes``, ``No``, ``On`` and ``01`` stay text), duplicate keys are errors, and
every key path remembers the line it came from so that a problem found later
by the pydantic models can name the file, the key path and the line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ras.errors import ConfigError, Issue, KeyPath, Location, ModelProblem, locate, quote
from ras.number_text import number_text

M = TypeVar("M", bound="BaseModel")
Locator = dict[KeyPath, str]

#: Most nodes a YAML document may expand to (aliases included): a guard against
#: "billion laughs" documents.
MAX_NODES = 200_000


def format_path(path: KeyPath) -> str:
    """Format a key path as ``domains[0].questions[2].answers``."""
    out = ""
    for part in path:
        if part == "[key]":  # a mapping's key (pydantic's name for it): the path says which
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _convert(node: Node, path: KeyPath, where: Locator, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise ConfigError("the document expands to too many values (an alias bomb?)")
    where.setdefault(path, f"line {node.start_mark.line + 1}")
    if isinstance(node, ScalarNode):
        tag = str(getattr(node.tag, "value", node.tag) or "")
        if node.style is None or node.style == "":
            if tag.endswith(":null"):
                return None
            if tag.endswith(":bool"):
                return node.value.lower() == "true"
        return str(node.value)
    if isinstance(node, SequenceNode):
        return [_convert(item, (*path, i), where, budget) for i, item in enumerate(node.value)]
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, path, {}, budget)
            key = "null" if key is None else str(key).lower() if isinstance(key, bool) else key
            line = key_node.start_mark.line + 1
            if key in out:
                raise ConfigError(
                    f"line {line}: duplicate key {key!r} at {format_path(path)} "
                    f"(first given on line {lines[key]}); keep one of them"
                )
            lines[key] = line
            where[(*path, key)] = f"line {line}"
            out[key] = _convert(value_node, (*path, key), where, budget)
        return out
    raise ConfigError(f"line {node.start_mark.line + 1}: unsupported YAML node")


def parse_yaml_text(text: str) -> tuple[Any, Locator]:
    """Parse YAML text into plain data (str, bool, None, list, dict) and a locator.

    Scalars stay text; the pydantic models turn numbers into ``Decimal`` or ``int``.
    """
    yaml = YAML(typ="rt", pure=True)
    yaml.version = (1, 2)
    try:
        node = yaml.compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = str(exc.problem or exc.context)
        if "'\\t'" in problem:  # ruamel's words for a tab: "found character '\t' ..."
            problem += " (indent YAML with spaces, not tabs)"
        raise ConfigError(f"{line}not valid YAML: {problem}") from exc
    except YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}") from exc
    if node is None:
        return {}, {}
    where: Locator = {}
    data = _convert(node, (), where, [MAX_NODES])
    return data, where


def yaml_text(data: bytes) -> str:
    """A YAML file's text: UTF-8, else UTF-16 with its byte-order mark, else cp1252.

    cp1252 is what Windows editors save as "ANSI": a `£` in a name or comment is one
    byte there, and UTF-8 refused it. Binary content raises UnicodeDecodeError.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in data:
            raise
        return data.decode("cp1252")


def read_yaml(path: Path) -> tuple[Any, Locator]:
    """Read a YAML file; errors are :class:`ConfigError` naming the file and line."""
    try:
        text = yaml_text(path.read_bytes())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file; save it as UTF-8 text") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return parse_yaml_text(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def validation_issues(
    exc: ValidationError, source: str, where: Mapping[KeyPath, str]
) -> list[Issue]:
    """Turn a pydantic error into issues naming the key path and its location."""
    issues: list[Issue] = []
    errors = exc.errors()
    takes_list = {
        tuple(e["loc"][:at])
        for e in errors
        if (at := _member_at(e["loc"])) is not None
        and str(e["loc"][at]).startswith(("tuple[", "list["))
    }
    for err in _one_member_each(errors):
        ctx_error = (err.get("ctx") or {}).get("error")
        loc: KeyPath = tuple(
            p for p in err["loc"] if not str(p).startswith("function-") and not _is_member(p)
        )
        if isinstance(ctx_error, ModelProblem):
            pairs = [((*loc, *p), m) for p, m in ctx_error.problems]
        else:
            msg = _plain_message(err)
            if err["type"] == "value_error" and ctx_error is not None:
                msg = str(ctx_error)
            elif err["type"] == "extra_forbidden":
                msg = "unknown key; check the spelling against docs/formats.md"
            elif err["type"] == "missing":
                msg = "required key is missing"
            elif err.get("input", "") is None:
                msg = "no value given"
            at = _member_at(err["loc"])
            given = err.get("input")
            if at is not None and tuple(err["loc"][:at]) in takes_list and isinstance(given, str):
                if ";" in given or ("," in given and number_text(given) is None):
                    msg += f"; for one a year write a list, {_LIST_HINT}"
            pairs = [(loc, msg)]
        for path, msg in pairs:
            place = locate(where, path)
            issues.append(
                Issue(
                    "invalid-setting", Location(source, cell=place), f"{format_path(path)}: {msg}"
                )
            )
    return issues


#: How a value a year is written where a key takes one (a workbook cell reads ``;``).
_LIST_HINT = "[10, 12, 12] (10; 12; 12 in a workbook cell or --set)"

#: How pydantic names the member of a union (``int | tuple[int, ...]``) an error is about.
_MEMBER = re.compile(r"(int|str|float|bool|decimal|(tuple|list|dict)\[.*\])")


def _is_member(part: object) -> bool:
    return isinstance(part, str) and _MEMBER.fullmatch(part) is not None


def _member_at(loc: Sequence[Any]) -> int | None:
    return next((i for i, part in enumerate(loc) if _is_member(part)), None)


def _one_member_each(errors: Sequence[Any]) -> list[Any]:
    """One union member's errors per value: the member that got furthest into it.

    A per-year list with 7.5 in it fails as a number (it is a list) and as a list (7.5
    is not whole); only the second says what to fix. Errors outside unions pass as they are.
    """
    furthest: dict[tuple[Any, ...], tuple[int, str]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        at = _member_at(loc)
        if at is not None and len(loc) - at > furthest.get(loc[:at], (0, ""))[0]:
            furthest[loc[:at]] = (len(loc) - at, loc[at])
    kept = []
    for err in errors:
        loc = tuple(err["loc"])
        at = _member_at(loc)
        if at is None or furthest[loc[:at]][1] == loc[at]:
            kept.append(err)
    return kept


def _plain_message(err: Any) -> str:
    """A pydantic error as a sentence a finance lead reads, with what is allowed."""
    kind = str(err.get("type", ""))
    given = err.get("input")
    shown = quote(given) if isinstance(given, str | int | float) else "this"
    ctx = err.get("ctx") or {}
    if kind.startswith("decimal") or kind.startswith("float"):
        return f"{shown} is not a number; write a number such as 12 or 7.5"
    if kind.startswith("int"):
        return f"{shown} is not a whole number; write one such as 3"
    if kind.startswith("bool"):
        return f"{shown} is not yes or no; write true or false"
    if kind == "literal_error":
        return f"{shown} is not allowed; choose one of {ctx.get('expected', '')}"
    if kind in ("string_type", "str_type"):
        return f"{shown} should be text"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "should be a mapping of keys (key: value)"
    if kind in ("list_type", "tuple_type"):
        return "should be a list, e.g. [a, b]"
    if kind == "greater_than_equal":
        return f"{shown} is too small; it must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"{shown} is too large; it must be at most {ctx.get('le')}"
    return str(err.get("msg", "not valid"))


#: The key that marks each kind of file ras reads, and what people call that kind.
KINDS = {"ras_table": "a point table", "ras_scenario": "a scenario", "ras_policy": "a policy"}


def build_model(model: type[M], data: Any, source: str, where: Mapping[KeyPath, str]) -> M:
    """Validate ``data`` into ``model``; raise :class:`ConfigError` listing every problem.

    A file of another kind (a scenario given as the point table) is said in one line,
    not as every key it lacks and has.
    """
    own = next((k for k in model.model_fields if k in KINDS), None)
    if own is not None and isinstance(data, dict) and own not in data:
        other = next((k for k in KINDS if k in data), None)
        if other is not None:
            line = where.get((other,), "")
            raise ConfigError(
                f"{source}: {line + ': ' if line else ''}this is {KINDS[other]} ({other}), "
                f"not {KINDS[own]}; check which file goes where"
            )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues = validation_issues(exc, source, where)
        lines = [f"{source}: {i.cell + ': ' if i.cell else ''}{i.problem}" for i in issues]
        raise ConfigError("\n".join(lines), issues) from exc
