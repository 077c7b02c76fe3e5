"""The shipped run configs (``configs/*.yaml``): they load, ``skyscript config show`` round-trips them, the demo
config is the complete commented reference with the defaults (but for its documented choices), the paper config
names the paper's models, and a misspelt key or section is refused by name. No model is loaded, nothing runs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from annotate.config import ConfigError
from annotate.run import PublishConfig, config_main, load_run_config, stage_class
from builder.contract import STAGES

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SHIPPED = sorted(CONFIGS.glob("*.yaml"))
DEMO = CONFIGS / "demo.yaml"
PAPER = CONFIGS / "paper.yaml"

#: every section's settings class
SECTIONS: dict[str, type] = {"publish": PublishConfig, **{name: stage_class(name).config_class for name in STAGES}}

#: the demo's deliberate choices, stated in its header (each value is checked) ...
DEMO_CHOICES = {("keyframes", "every_s"): 1.0, ("extract", "backend"): "heuristic", ("restore", "backend"): "template"}
#: ... and those of them that differ from the dataclass defaults: every other value of demo.yaml is its default
DEMO_DIFFERENCES = {("keyframes", "every_s")}

OPERATIONAL = "(operational: changing it never stops a resume)"
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?P<rest>.*)$")


def raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def comments(text: str) -> dict[tuple[str | None, str], str]:
    """``(section, key) -> comment`` for every top-level key (section None) and every key of a section: the
    ``#`` comment on the key's line and the comment lines directly above it (no blank line between), joined."""
    lines = text.splitlines()
    found: dict[tuple[str | None, str], str] = {}
    section = None
    for i, line in enumerate(lines):
        match = KEY_LINE.match(line)
        if not match or len(match["indent"]) not in (0, 2):
            continue
        if not match["indent"]:
            section = match["key"]
        where = (None, match["key"]) if not match["indent"] else (section, match["key"])
        above = []
        j = i - 1
        while j >= 0 and lines[j].lstrip().startswith("#"):
            above.insert(0, lines[j].strip().lstrip("#").strip())
            j -= 1
        inline = re.search(r"\s#\s*(.*)$", match["rest"])
        found[where] = " ".join(above + ([inline.group(1)] if inline else [])).strip()
    return found


def yaml_keys(data: dict) -> set[tuple[str | None, str]]:
    return {(None, k) for k in data} | {(s, k) for s, v in data.items() if isinstance(v, dict) for k in v}


def test_the_shipped_configs_are_there():
    assert DEMO in SHIPPED and PAPER in SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_config_loads_and_config_show_round_trips(path, tmp_path, capsys):
    config = load_run_config(path)  # every key exists and has the right type
    assert set(config.settings) == set(STAGES)
    assert config_main(["show", "--config", str(path)]) == 0
    printed = capsys.readouterr().out
    shown = tmp_path / "shown.yaml"
    shown.write_text(printed, encoding="utf-8")
    again = load_run_config(shown)
    assert again.settings == config.settings
    assert again.stages == config.stages
    assert again.publish == config.publish


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_key_is_commented_and_operational_ones_say_so(path):
    text = path.read_text(encoding="utf-8")
    found = comments(text)
    assert set(found) == yaml_keys(raw(path))  # the line parser saw exactly the file's keys
    missing = sorted(f"{s + '.' if s else ''}{k}" for (s, k), comment in found.items() if not comment)
    assert not missing, f"{path.name}: keys without a comment: {missing}"
    for (section, key), comment in found.items():
        if section is None or section not in SECTIONS:
            continue
        field = {f.name: f for f in dataclasses.fields(SECTIONS[section])}[key]
        if field.metadata.get("operational"):
            assert OPERATIONAL in comment, f"{path.name}: {section}.{key} is operational: {comment!r}"
        else:
            assert "operational:" not in comment, f"{path.name}: {section}.{key} is not operational: {comment!r}"


def test_demo_names_every_field_of_every_section():
    data = raw(DEMO)
    assert list(data) == ["stages", "publish", *STAGES]
    assert data["stages"] == list(STAGES)
    for section, cls in SECTIONS.items():
        assert list(data[section]) == [f.name for f in dataclasses.fields(cls)], section


def test_demo_values_are_the_defaults_but_its_choices():
    config = load_run_config(DEMO)
    assert config.stages == tuple(STAGES)
    effective = {"publish": config.publish, **config.settings}
    differences = {(section, f.name) for section, cls in SECTIONS.items() for f in dataclasses.fields(cls)
                   if getattr(effective[section], f.name) != getattr(cls(), f.name)}
    assert differences == DEMO_DIFFERENCES  # a default that drifted from the demo's value fails here
    for (section, key), value in DEMO_CHOICES.items():
        assert getattr(effective[section], key) == value


def test_paper_config_uses_the_served_models_and_100_restorations():
    config = load_run_config(PAPER)
    s = config.settings
    for stage in ("extract", "repair", "restore"):
        assert s[stage].backend == "openai", stage
        assert s[stage].model and s[stage].endpoint, stage
    assert s["restore"].n == 100
    assert "InternVL2" in s["extract"].model
    assert s["calibrate"].face_backend == "deepface" and s["calibrate"].tta


def misspelt(name: str) -> str:
    return name + name[-1]  # every_s -> every_ss


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_misspelt_section_or_key_is_named_in_the_error(path, tmp_path):
    """A copy with one name misspelt, in turn: every top-level key (sections), and the first and last key of
    each section."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    keys = [(i, KEY_LINE.match(line)) for i, line in enumerate(lines) if KEY_LINE.match(line)]
    keys = [(i, m) for i, m in keys if len(m["indent"]) in (0, 2)]
    chosen, section = [], None
    for n, (index, match) in enumerate(keys):
        if not match["indent"]:
            section = match["key"]
            chosen.append((index, match, None))
            continue
        first = not keys[n - 1][1]["indent"]
        last = n + 1 == len(keys) or not keys[n + 1][1]["indent"]
        if first or last:
            chosen.append((index, match, section))
    assert len(chosen) > len([k for k in keys if not k[1]["indent"]])  # some keys of sections were chosen
    copy = tmp_path / path.name
    for index, match, section in chosen:
        wrong = misspelt(match["key"])
        known = {f.name for f in dataclasses.fields(SECTIONS[section])} if section else {"stages", *SECTIONS}
        assert wrong not in known
        copy.write_text("".join(lines[:index]) + lines[index].replace(match["key"] + ":", wrong + ":", 1)
                        + "".join(lines[index + 1:]), encoding="utf-8")
        with pytest.raises(ConfigError, match=re.escape(repr(wrong))):
            load_run_config(copy)
