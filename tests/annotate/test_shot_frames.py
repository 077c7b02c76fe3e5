"""Frames sampled across shots in one decoding pass, on the bundled clip split into made-up shots."""

from __future__ import annotations

import pytest

from annotate.shot_frames import sample_indices, sample_shots
from annotate.video import VideoError


def test_sample_indices_spread_over_the_shot_inside_its_edges():
    spread = sample_indices(0, 99, 25.0, 5.0, 25)  # frames 1..98: 3.92 s at 5 per second, both ends: 21
    assert len(spread) == 21 and spread[0] == 1 and spread[-1] == 98
    assert {b - a for a, b in zip(spread, spread[1:])} <= {4, 5}
    assert sample_indices(0, 99, 25.0, 5.0, 8)[::7] == [1, 98]  # capped, first and last frame left out
    assert sample_indices(10, 12, 25.0, 5.0, 25) == [10, 12]  # a short shot keeps its edges; two samples at least
    assert sample_indices(7, 7, 25.0, 5.0, 25) == [7]
    assert sample_indices(0, 50, None, 5.0, 25) == [1, 49]  # no frame rate: the two ends


def test_every_shot_gets_its_samples_in_order(repo):
    shots = [{"index": 0, "start_frame": 0, "end_frame": 49}, {"index": 1, "start_frame": 50, "end_frame": 131}]
    got = list(sample_shots(repo / "samples" / "bigbuckbunny.mp4", shots, 25.0, 5.0, 160, 25))
    assert [s.index for s in got] == [0, 1]
    assert [len(s.frames) for s in got] == [len(sample_indices(0, 49, 25.0, 5.0, 25)),
                                            len(sample_indices(50, 131, 25.0, 5.0, 25))]
    assert all(f.shape == (90, 160, 3) for s in got for f in s.frames)
    times = [t for s in got for t in s.times]
    assert times == sorted(times) and times[0] == pytest.approx(1 / 25) and times[-1] == pytest.approx(130 / 25)


def test_an_unreadable_source_is_a_video_error(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    with pytest.raises(VideoError):
        list(sample_shots(broken, [{"index": 0, "start_frame": 0, "end_frame": 9}], 25.0, 5.0, 160, 25))
    with pytest.raises(VideoError, match="missing"):
        list(sample_shots(tmp_path / "gone.mp4", [{"index": 0, "start_frame": 0, "end_frame": 9}], 25.0, 5.0, 160, 25))
