"""Camera movement on clips synthesised by moving a crop window over a real frame of the bundled clip: known
pans, tilts, zooms, a still and a shaking camera."""

from __future__ import annotations

import numpy as np
import pytest
from videos import moving_window

from annotate.camera_motion import measure as measure_times
from annotate.video import Video

STEP_S = 0.2  # seconds between sampled frames
OUT = (320, 180)


@pytest.fixture(scope="module")
def photo(repo) -> np.ndarray:
    """A real 1280x720 grey frame (the bundled clip's 60th)."""
    with Video(repo / "samples" / "bigbuckbunny.mp4") as video:
        for decoded in video.frames():
            if decoded.index == 60:
                return decoded.frame.to_ndarray(format="gray")
    raise AssertionError("the clip has fewer than 61 frames")


def clip(photo: np.ndarray, windows: list[tuple[float, float, float]]) -> list[np.ndarray]:
    """Frames cut from ``photo`` at windows ``(centre_x, centre_y, width)`` (16:9), resized to 320x180."""
    return moving_window(photo, windows, OUT)


N = 10


def measure(frames: list[np.ndarray], step_s: float):
    """The movement of frames taken ``step_s`` apart."""
    return measure_times(frames, [k * step_s for k in range(len(frames))])


@pytest.mark.parametrize("kind,windows", [
    ("static", [(640, 360, 640)] * N),
    ("pan_right", [(480 + 10 * k, 360, 640) for k in range(N)]),  # the window moves right: content moves left
    ("pan_left", [(800 - 10 * k, 360, 640) for k in range(N)]),
    ("tilt_down", [(640, 280 + 8 * k, 640) for k in range(N)]),  # the window moves down: content moves up
    ("tilt_up", [(640, 440 - 8 * k, 640) for k in range(N)]),
    ("zoom_in", [(640, 360, 800 * 0.96 ** k) for k in range(N)]),  # a shrinking window: things grow
    ("zoom_out", [(640, 360, 560 * 1.04 ** k) for k in range(N)]),
])
def test_known_movements(photo, kind, windows):
    motion = measure(clip(photo, windows), STEP_S)
    assert motion.kind == kind, motion
    assert motion.steps == N - 1 and motion.inliers > 0.8


def test_measured_rates_match_the_synthesis(photo):
    pan = measure(clip(photo, [(480 + 10 * k, 360, 640) for k in range(N)]), STEP_S)
    assert pan.pan == pytest.approx(-10 / 640 / STEP_S, rel=0.05)  # frame widths per second, content leftwards
    assert abs(pan.tilt) < 0.005 and abs(pan.zoom) < 0.01
    zoom = measure(clip(photo, [(640, 360, 800 * 0.96 ** k) for k in range(N)]), STEP_S)
    assert zoom.zoom == pytest.approx(-np.log(0.96) / STEP_S, rel=0.05)


def test_a_shaking_camera_is_handheld(photo):
    rng = np.random.default_rng(3)
    windows = [(640 + rng.uniform(-12, 12), 360 + rng.uniform(-12, 12), 640) for _ in range(N)]
    assert measure(clip(photo, windows), STEP_S).kind == "handheld"


def test_a_pan_and_a_zoom_at_once_is_complex(photo):
    windows = [(480 + 10 * k, 360, 800 * 0.96 ** k) for k in range(N)]
    assert measure(clip(photo, windows), STEP_S).kind == "complex"


def test_no_texture_and_no_frames():
    flat = [np.full((180, 320), 90, np.uint8)] * 4
    assert measure(flat, STEP_S).kind == "unknown" and measure(flat, STEP_S).steps == 0  # not measured
    assert measure([], STEP_S).kind == "unknown"
    with pytest.raises(ValueError, match="4 frames but 3 times"):
        measure_times(flat, [0.0, 0.2, 0.4])
