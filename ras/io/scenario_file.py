"""Scenarios: the file, a named variant, and ``--set`` overrides (SPEC §8).

Precedence, applied here and nowhere else: ``--set`` > variant > scenario file >
defaults. Every value used is echoed by :meth:`LoadedScenario.assumptions`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ras.io.strict_yaml import Locator, build_model, format_path, parse_yaml_text, read_yaml
from ras.errors import ConfigError, UsageError, quote
from ras.models.scenario import Scenario


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and where its values came from."""

    scenario: Scenario
    path: Path
    variant: str | None
    overrides: tuple[tuple[str, str, str], ...] = ()  # (key, value, source)
    raw: dict[str, Any] = field(default_factory=dict)

    def resolve(self, relative: str) -> Path:
        """A data path, relative to the scenario file."""
        p = Path(relative)
        return p if p.is_absolute() else (self.path.parent / p)

    def assumptions(self) -> list[tuple[str, str]]:
        """Every value used, flattened to dotted keys (variants left out)."""
        data = self.scenario.model_dump(mode="json", exclude={"variants"})
        out: list[tuple[str, str]] = []

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else k, v)
            elif isinstance(value, list):
                out.append((prefix, ", ".join(str(v) for v in value)))
            else:
                out.append((prefix, "" if value is None else str(value)))

        walk("", data)
        return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _flatten(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = []
        for k, v in value.items():
            items += _flatten(f"{prefix}.{k}" if prefix else str(k), v)
        return items
    return [(prefix, value)]


def parse_set(option: str) -> tuple[list[str], Any]:
    """``savings.rate=0.05`` -> (["savings", "rate"], "0.05"); values are YAML."""
    key, sep, text = option.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--set {quote(option)}: write KEY=VALUE, e.g. --set savings.rate=0.05")
    try:
        value, _ = parse_yaml_text(text if text.strip() else "null")
    except ConfigError as exc:
        raise UsageError(f"--set {quote(option)}: the value is not valid ({exc})") from exc
    return [k.strip() for k in key.strip().split(".")], value


def load_scenario(
    path: Path | str, variant: str | None = None, sets: tuple[str, ...] | list[str] = ()
) -> LoadedScenario:
    """Load a scenario with a variant and ``--set`` overrides applied.

    Raises:
        ConfigError: the file, the variant or an override is invalid (file, key, line).
        UsageError: an unknown variant or a malformed ``--set``.
    """
    path = Path(path)
    data, where = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a scenario is a mapping of keys (ras_scenario, name, ...)")
    variants = data.get("variants") or {}
    if not isinstance(variants, dict):
        raise ConfigError(f"{path}: {where.get(('variants',), '')}: variants must be a mapping")
    merged = copy.deepcopy(data)
    overrides: list[tuple[str, str, str]] = []
    loc: Locator = dict(where)
    if variant is not None:
        if variant not in variants:
            names = ", ".join(variants) or "none"
            raise UsageError(f"{path}: no variant {variant!r} (the variants are: {names})")
        over = variants[variant]
        if not isinstance(over, dict):
            raise ConfigError(
                f"{path}: {where.get(('variants', variant), '')}: "
                f"variant {variant!r} must be a mapping of keys"
            )
        merged = _merge(merged, over)
        for key, value in _flatten("", over):
            keypath = tuple(key.split("."))
            loc[keypath] = where.get(("variants", variant, *keypath), "") + f" (variant {variant})"
            overrides.append((key, str(value), f"variant {variant}"))
    for option in sets:
        keys, value = parse_set(option)
        node = merged
        for k in keys[:-1]:
            child = node.get(k)
            if not isinstance(child, dict):
                child = {}
                node[k] = child
            node = child
        node[keys[-1]] = value
        loc[tuple(keys)] = f"--set {option}"
        overrides.append((".".join(keys), str(value), "--set"))
    scenario = build_model(Scenario, merged, str(path), loc)
    for name, body in scenario.variants.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: variant {name!r} must be a mapping of keys")
        try:  # a variant with an unknown key is an error even when it is not the one run
            build_model(
                Scenario,
                _merge(data, body),
                str(path),
                {k[2:]: v for k, v in where.items() if k[:2] == ("variants", name)}
                | {k: v for k, v in where.items() if k[:1] != ("variants",)},
            )
        except ConfigError as exc:
            raise ConfigError(f"{exc} (in variant {name!r})", exc.issues) from exc
    return LoadedScenario(scenario, path, variant, tuple(overrides), merged)


def describe_override(key: str) -> str:
    """A key path as shown to users."""
    return format_path(tuple(key.split(".")))
