"""Typed stage settings: dataclass defaults, overridden by a YAML file (``--config``) and ``--set key=value``.

A YAML file holds one mapping per stage (``keyframes: {interval_s: 2}``); unknown keys are errors, and values
are converted to the field's type, so a typo fails at start instead of being ignored.

A setting declared with :func:`operational` (concurrency, timeouts, devices, where a cache or the source videos
are) changes how a stage runs, not what it writes: it is left out of :func:`settings_sha`, so changing it never
stops a resume.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from builder.errors import UsageError

T = TypeVar("T")


class ConfigError(UsageError):
    """A setting is unknown or has a value of the wrong type (exit status 2)."""


def _convert(value: Any, kind: Any, name: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):  # Optional[X] / X | None
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none")):
            return None
        return _convert(value, args[0], name)
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if kind in (int, float, str):
            if kind is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: {value!r} is not a valid {kind.__name__}") from exc
    return value


def operational(default: Any) -> Any:
    """A dataclass field whose value does not change a stage's output (left out of :func:`settings_sha`)."""
    return dataclasses.field(default=default, metadata={"operational": True})


def output_settings(config: Any) -> dict[str, Any]:
    """The settings that decide a stage's output: every field but the :func:`operational` ones."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if not f.metadata.get("operational")}


def read_config_file(path: str | Path | None) -> dict[str, Any]:
    """The mapping of stage sections in a YAML file (``{}`` for no file); a ConfigError when it is not one."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"--config {path}: cannot read it ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of stage sections, each a mapping of settings")
    return data


def build_config(cls: type[T], section: str, values: Any = None, overrides: list[str] = ()) -> T:
    """Defaults of ``cls``, then ``values`` (a section of a config file), then ``key=value`` overrides."""
    if not isinstance(values or {}, dict):
        raise ConfigError(f"section {section!r}: expected a mapping of settings, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values = dict(values or {})
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected key=value")
        values[key.removeprefix(f"{section}.")] = value
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(f"unknown {section} setting(s) {unknown}; known: {sorted(fields)}")
    return cls(**{k: _convert(v, hints[k], k) for k, v in values.items()})


def load_config(cls: type[T], section: str, path: str | Path | None = None, overrides: list[str] = ()) -> T:
    """Defaults of ``cls``, then the file's ``section`` mapping, then ``key=value`` overrides."""
    return build_config(cls, section, read_config_file(path).get(section), overrides)


def settings_sha(config: Any) -> str:
    """A short digest of the settings that decide the output, recorded in provenance and task markers."""
    text = json.dumps(output_settings(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
