"""Scenarios: the file, a named variant, and ``--set`` overrides (SPEC §8).

Precedence, applied here and nowhere else: ``--set`` > variant > scenario file >
defaults. Every value used is echoed by :meth:`LoadedScenario.assumptions`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ras.errors import ConfigError, UsageError
from ras.io.strict_yaml import Locator, build_model, read_yaml
from ras.models.scenario import LoadedScenario, Override, Scenario


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


def load_scenario(
    path: Path | str, variant: str | None = None, overrides: Sequence[Override] = ()
) -> LoadedScenario:
    """Load a scenario with a variant and overrides (``--set``) applied.

    Raises:
        ConfigError: the file, the variant or an override is invalid (file, key, line).
        UsageError: an unknown variant.
    """
    path = Path(path)
    data, where = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a scenario is a mapping of keys (ras_scenario, name, ...)")
    variants = data.get("variants") or {}
    if not isinstance(variants, dict):
        raise ConfigError(f"{path}: {where.get(('variants',), '')}: variants must be a mapping")
    merged = copy.deepcopy(data)
    echoed: list[tuple[str, str, str]] = []
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
            echoed.append((key, str(value), f"variant {variant}"))
    for override in overrides:
        keys, value = override.keys, override.value
        node = merged
        for k in keys[:-1]:
            child = node.get(k)
            if not isinstance(child, dict):
                child = {}
                node[k] = child
            node = child
        node[keys[-1]] = value
        loc[tuple(keys)] = override.where
        echoed.append((".".join(keys), str(value), override.source))
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
    return LoadedScenario(scenario, path, variant, tuple(echoed), merged)
