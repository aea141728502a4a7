"""Scenarios: the file, a named variant, and ``--set`` overrides (SPEC §8).

Precedence, applied here and nowhere else: ``--set`` > variant > scenario file >
defaults. Every value used is echoed by :meth:`LoadedScenario.assumptions`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.errors import ConfigError, Issue, UsageError
from ras.io.scenario_book import leaves, read_scenario_book, set_path, write_scenario_book
from ras.io.strict_yaml import Locator, build_model, read_yaml
from ras.models.base import decimal_text
from ras.models.scenario import LoadedScenario, Override, Scenario, missing_data_files
from ras.outputs import atomic_output


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _forget_below(loc: Locator, keys: tuple[Any, ...]) -> None:
    """Drop where the values under ``keys`` were: a new value replaced them whole."""
    for k in [k for k in loc if len(k) > len(keys) and k[: len(keys)] == keys]:
        del loc[k]


def _with_variant(where: Locator, name: str, body: dict[str, Any], mark: str = "") -> Locator:
    """Where each value of the base with variant ``name`` applied was written.

    A value the variant gives is where the variant gives it (``mark`` added), with what
    is inside it; the base's lines for what it replaced (a list's items) are forgotten.
    """
    loc = {k: v for k, v in where.items() if k[:1] != ("variants",)}
    for key, _ in leaves("", body):
        _forget_below(loc, tuple(key.split(".")))
    for k, line in where.items():
        if len(k) > 2 and k[:2] == ("variants", name):
            loc[k[2:]] = line + mark
    return loc


def load_scenario(
    path: Path | str,
    variant: str | None = None,
    overrides: Sequence[Override] = (),
    *,
    for_a_run: bool = False,
) -> LoadedScenario:
    """Load a scenario with a variant and overrides (``--set``) applied.

    ``for_a_run``: the scenario is loaded to be run, so that an invalid one's error also
    names the data files that are not there (a run would stop at them next).

    Raises:
        ConfigError: the file, the variant or an override is invalid (file, key, line).
        UsageError: an unknown variant.
    """
    path = Path(path)
    data, where = read_scenario_source(path)
    return scenario_from_data(data, where, path, variant, overrides, for_a_run=for_a_run)


def scenario_from_data(
    data: Any,
    where: Locator,
    path: Path,
    variant: str | None = None,
    overrides: Sequence[Override] = (),
    *,
    for_a_run: bool = False,
) -> LoadedScenario:
    """:func:`load_scenario` on data already read (``path`` names it in errors)."""
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
        loc = _with_variant(where, variant, over, f" (variant {variant})")
        for key, value in leaves("", over):
            echoed.append((key, str(value), f"variant {variant}"))
    for override in overrides:
        keys, value = override.keys, override.value
        set_path(merged, keys, value)
        _forget_below(loc, tuple(keys))  # the file's lines for what the override replaced
        loc[tuple(keys)] = override.where
        echoed.append((".".join(keys), str(value), override.source))
    try:
        scenario = build_model(Scenario, merged, str(path), loc)
    except ConfigError as exc:  # the data files that are not there, with the rest
        missing = missing_data_files(path, loc, merged.get("data")) if for_a_run else []
        if not missing:
            raise
        raise ConfigError("\n".join([str(exc), *missing]), exc.issues) from exc
    for name, body in scenario.variants.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: variant {name!r} must be a mapping of keys")
        try:  # a variant with an unknown key is an error even when it is not the one run
            build_model(
                Scenario,
                _merge(data, body),
                str(path),
                _with_variant(where, name, body),
            )
        except ConfigError as exc:
            raise ConfigError(f"{exc} (in variant {name!r})", exc.issues) from exc
    return LoadedScenario(scenario, path, variant, tuple(echoed), merged, data, loc)


def is_workbook(path: Path) -> bool:
    """Whether a scenario path is the workbook form (by its extension)."""
    return path.suffix.lower() in (".xlsx", ".xlsm")


def read_scenario_source(path: Path) -> tuple[Any, Locator]:
    """A scenario file (YAML or workbook) as plain data and where each value is."""
    if is_workbook(path):
        if not path.exists():
            raise ConfigError(f"{path}: file not found")
        return read_scenario_book(path)
    return read_yaml(path)


def canonical_scenario(path: Path | str) -> dict[str, Any]:
    """The canonical form of a scenario file (see :func:`canonical_of`)."""
    path = Path(path)
    data, where = read_scenario_source(path)
    return canonical_of(data, where, path)


def convert_scenario(source: Path | str, dest: Path, deterministic: bool = False) -> list[Issue]:
    """Write ``source`` to ``dest`` in canonical form; the warnings of what it loses.

    A value the scenario does not use (a ``rates`` beside ``kind: year_on_year``) is not
    part of the canonical form, so it is not written: its warning says so.
    """
    source = Path(source)
    data, where = read_scenario_source(source)
    write_scenario(canonical_of(data, where, source), dest, deterministic=deterministic)
    return [
        replace(w, fix=f"{w.fix}; it is not written to {dest.name}")
        for w in scenario_from_data(data, where, source).warnings()
        if w.code == "setting-not-used"
    ]


def canonical_of(data: Any, where: Locator, path: Path) -> dict[str, Any]:
    """The canonical form of a scenario file (SPEC §15): the validated model's values.

    Every key has its value (defaults included), rates are fractions, money is pounds,
    labels are ids; each variant keeps only the keys it gives, each as validated.
    Converting between YAML and the workbook keeps this form.
    """
    loaded = scenario_from_data(data, where, path)
    out = _plain(loaded.scenario.model_dump(exclude={"variants"}, exclude_none=True))
    variants: dict[str, Any] = {}
    for name, body in loaded.scenario.variants.items():
        full = scenario_from_data(data, where, path, name).scenario.model_dump(exclude={"variants"})
        picked: dict[str, Any] = {}
        for key, _ in leaves("", body):
            parts = key.split(".")
            node: Any = full
            for part in parts:
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                continue
            target = picked
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = _plain(node)
        variants[name] = picked
    if variants:
        out["variants"] = variants
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def scenario_yaml(canonical: dict[str, Any]) -> str:
    """A canonical scenario as YAML text (numbers plain, exactly as validated)."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.representer.sort_base_mapping_type_on_output = False  # keep the model's order
    yaml.representer.add_representer(
        Decimal,
        lambda r, d: r.represent_scalar(
            "tag:yaml.org,2002:" + ("float" if "." in decimal_text(d) else "int"), decimal_text(d)
        ),
    )
    buf = io.StringIO()
    buf.write('# A ras transfer-plan scenario (see docs/formats.md, "Scenario").\n')
    yaml.dump(canonical, buf)
    return buf.getvalue()


def write_scenario(canonical: dict[str, Any], out: Path, deterministic: bool = True) -> None:
    """Write a canonical scenario as YAML or as a workbook, by ``out``'s extension."""
    if is_workbook(out):
        write_scenario_book(canonical, out, deterministic=deterministic)
        return
    with atomic_output(out) as tmp:
        tmp.write_text(scenario_yaml(canonical), encoding="utf-8")
