"""Stage outputs made once per session for the tests that read them: the real music video's chain, and the
keyframes stage on pieces of real video joined by hard cuts (``tests/videos.py``)."""

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


@pytest.fixture(scope="session")
def joined_keyframes(shared_data, tmp_path_factory):
    """The ``ORDER`` pieces (40 frames each) joined by 16 hard cuts, and the keyframes stage on it with a keyframe
    every second (TransNetV2 runs once for ``test_shots.py`` and ``test_script.py``: the shots do not depend on
    ``every_s``): the :class:`videos.Joined` and the stage's OUT."""
    from videos import joined

    folder = tmp_path_factory.mktemp("joined")
    video = joined(shared_data, folder / "joined.mp4", piece=40)
    run_stage(KeyframesStage(KeyframesConfig(every_s=1.0)), video.path, folder / "keyframes", progress=False)
    return video, folder / "keyframes"
