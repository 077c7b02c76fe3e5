"""Stage outputs on the real music video, made once per session for the tests that read them."""

from __future__ import annotations

import pytest

from annotate.keyframes import KeyframesConfig, KeyframesStage
from annotate.privacy import PrivacyConfig, PrivacyStage
from annotate.runner import run_stage


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Folders of a tiny random Llava and a tiny random Llama (``tests/tiny_models.py``)."""
    from tiny_models import save_tiny_models

    return save_tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def music_keyframes(shared_data, tmp_path_factory):
    """The keyframes stage on the music video, a keyframe every half second of each shot (about 420)."""
    out = tmp_path_factory.mktemp("music") / "keyframes"
    run_stage(KeyframesStage(KeyframesConfig(every_s=0.5)), shared_data / "transnetv2-test.mp4", out, progress=False)
    return out


@pytest.fixture(scope="session")
def music_privacy(music_keyframes):
    """The privacy stage with its defaults on those keyframes."""
    out = music_keyframes.parent / "privacy"
    run_stage(PrivacyStage(PrivacyConfig()), music_keyframes, out, progress=False)
    return out


@pytest.fixture(scope="session")
def music_calibrate(music_privacy):
    """The calibrate stage on those frames (no extraction before it: every face becomes a person), without TTA
    (``test_calibrate.py`` runs TTA on its own frames): about 30 s."""
    from annotate.calibrate import CalibrateConfig, CalibrateStage

    out = music_privacy.parent / "calibrate"
    run_stage(CalibrateStage(CalibrateConfig(tta=False)), music_privacy, out, progress=False)
    return out


@pytest.fixture(scope="session")
def music_script(music_calibrate):
    """The script stage with its defaults on those frames."""
    from annotate.script import ScriptConfig, ScriptStage

    out = music_calibrate.parent / "script"
    run_stage(ScriptStage(ScriptConfig()), music_calibrate, out, progress=False)
    return out
