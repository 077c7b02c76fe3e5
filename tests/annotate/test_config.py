"""Stage settings: defaults, YAML sections, ``--set`` overrides with type conversion, clear errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from annotate.config import ConfigError, load_config, settings_sha


@dataclass
class Demo:
    interval_s: float = 2.0
    max_side: int = 1280
    gpu: bool = False
    model: str | None = None


def test_defaults_file_then_overrides(tmp_path):
    path = tmp_path / "pipeline.yaml"
    path.write_text("demo:\n  interval_s: 1.5\n  model: org/name\nother:\n  anything: 1\n")
    config = load_config(Demo, "demo", path, ["max_side=640", "demo.gpu=true", "model=null"])
    assert config == Demo(interval_s=1.5, max_side=640, gpu=True, model=None)
    assert load_config(Demo, "demo") == Demo()


@pytest.mark.parametrize("override, message", [
    ("max_side=big", "'big' is not a valid int"),
    ("max_side=2.5", "not a valid int"),
    ("gpu=maybe", "not a valid bool"),
    ("colour=red", "unknown demo setting(s) ['colour']"),
    ("interval_s", "expected key=value"),
])
def test_bad_settings_are_errors(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        load_config(Demo, "demo", None, [override])


def test_settings_sha_changes_with_settings():
    assert settings_sha(Demo()) == settings_sha(Demo())
    assert settings_sha(Demo()) != settings_sha(Demo(max_side=640))


def test_operational_settings_stay_out_of_the_sha():
    """Concurrency, timeouts, devices, caches: how a stage runs, not what it writes."""
    from annotate.extract import ExtractConfig
    from annotate.repair import RepairConfig

    base = ExtractConfig(backend="openai", model="m")
    assert settings_sha(base) == settings_sha(ExtractConfig(backend="openai", model="m", concurrency=1,
                                                            timeout_s=5, retries=0, cache="/tmp/c.sqlite"))
    assert settings_sha(base) != settings_sha(ExtractConfig(backend="openai", model="m", temperature=0.7))
    assert settings_sha(RepairConfig()) == settings_sha(RepairConfig(device="cuda", batch_size=16))


def test_every_model_stage_shares_one_model_settings_and_no_import_circle(repo):
    import subprocess
    import sys

    from annotate.chat_models import ModelSettings
    from annotate.extract import ExtractConfig
    from annotate.repair import RepairConfig

    assert issubclass(ExtractConfig, ModelSettings) and issubclass(RepairConfig, ModelSettings)
    code = ("import sys, annotate.vlm; assert not {'annotate.vlm_openai', 'annotate.chat_models'} & set(sys.modules); "
            "import annotate.vlm_openai, annotate.chat_models")
    assert subprocess.run([sys.executable, "-c", code], cwd=repo).returncode == 0
