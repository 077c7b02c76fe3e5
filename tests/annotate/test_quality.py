"""Quality measures on real frames and on frames made bad on purpose."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter
from videos import read_frames

from annotate.keyframes import KeyframesConfig
from annotate.quality import measure


@pytest.fixture(scope="module")
def gray(shared_data) -> np.ndarray:
    [frame] = read_frames(shared_data / "bigbuckbunny.mp4", 60, 60, size=(320, 180))
    return np.asarray(Image.fromarray(frame).convert("L"))


def test_real_frame_passes_and_damaged_copies_fail(gray):
    limits = KeyframesConfig().limits()
    assert limits.problems(measure(gray)) == []
    blurred = np.asarray(Image.fromarray(gray).filter(ImageFilter.GaussianBlur(6)))
    assert "blurred" in limits.problems(measure(blurred))
    assert measure(blurred).sharpness < measure(gray).sharpness / 20
    assert "near_black" in limits.problems(measure((gray * 0.04).astype(np.uint8)))
    assert "washed_out" in limits.problems(measure(np.clip(gray.astype(int) + 200, 0, 255).astype(np.uint8)))
    assert "near_uniform" in limits.problems(measure(np.full_like(gray, 120)))


def test_occluder_at_the_border(gray):
    limits = KeyframesConfig().limits()
    occluded = gray.copy()
    occluded[:, : int(gray.shape[1] * 0.7)] = 40  # a dark, textureless shoulder over most of the view
    q = measure(occluded)
    assert q.occluded_share > 0.6 and "occluded" in limits.problems(q)
    island = gray.copy()
    island[60:120, 110:210] = 40  # the same flat patch in the middle does not touch the border
    assert measure(island).occluded_share < 0.1
