from __future__ import annotations

import numpy as np
import pytest

from annotate.video import Converter, Video


def decoded(path, count: int) -> list:
    with Video(path) as video:
        return [d.frame for d, _ in zip(video.frames(), range(count))]


@pytest.mark.parametrize("name", ["bundled", "music"])
def test_converter_gives_the_pixels_of_to_ndarray_and_to_image(repo, shared_data, name):
    """A reused scaler converts exactly as PyAV's per-frame conversion, for every kind the stages use."""
    path = repo / "samples" / "bigbuckbunny.mp4" if name == "bundled" else shared_data / "transnetv2-test.mp4"
    frames = decoded(path, 40)
    small, gray, rgb = Converter("rgb24", "AREA"), Converter("gray"), Converter()
    for frame in frames:
        assert np.array_equal(small.array(frame, (48, 27)),
                              frame.to_ndarray(width=48, height=27, format="rgb24", interpolation="AREA"))
        assert np.array_equal(gray.array(frame, (120, 68)), frame.to_ndarray(width=120, height=68, format="gray"))
        assert np.array_equal(np.asarray(rgb.image(frame, (100, 56))), np.asarray(frame.to_image(width=100, height=56)))
    assert small.array(frames[0], (48, 27)).shape == (27, 48, 3)


def test_converter_follows_a_change_of_size_or_source(repo, shared_data):
    """One converter used for several target sizes and two source resolutions stays exact (the scaler is
    rebuilt at each change)."""
    frames = decoded(repo / "samples" / "bigbuckbunny.mp4", 3) + decoded(shared_data / "transnetv2-test.mp4", 3)
    rgb = Converter()
    for frame in frames:
        for size in ((64, 36), None, (30, 20)):
            kwargs = {"width": size[0], "height": size[1]} if size else {}
            assert np.array_equal(rgb.array(frame, size), frame.to_ndarray(format="rgb24", **kwargs))
    assert rgb.array(frames[0]).shape == (720, 1280, 3) and rgb.array(frames[-1]).shape == (90, 160, 3)
