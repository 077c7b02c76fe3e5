"""Shot boundaries: streamed TransNetV2 equals the package's own inference; F1 on real joined video."""

from __future__ import annotations

import json
import threading
import time

import av
import numpy as np
import pytest
import torch
from videos import f1, joined

from annotate.keyframes import KeyframesConfig, KeyframesStage
from annotate.runner import run_stage
from annotate.errors import ModelError
from annotate.shots import INPUT_SIZE, ShotSegmenter, TransNetV2Stream, load_transnetv2


@pytest.fixture(scope="module")
def model():
    return load_transnetv2("cpu")


def small_frames(path, limit: int) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(width=INPUT_SIZE[1], height=INPUT_SIZE[0], format="rgb24",
                                      interpolation="AREA") for _, f in zip(range(limit), container.decode(video=0))])


# 222 frames (six feeds of 37): windows come out of feeds, one feed midway makes none, and finish adds two
@pytest.mark.parametrize("count", [1, 49, 50, 51, 222])
def test_stream_matches_predict_frames(model, shared_data, count):
    frames = small_frames(shared_data / "transnetv2-test.mp4", count)
    single, many = model.predict_frames(torch.from_numpy(frames), quiet=True)
    stream = TransNetV2Stream(model, batch_size=3)
    parts = [stream.feed(frames[i:i + 37]) for i in range(0, count, 37)] + [stream.finish()]
    got = np.concatenate(parts)
    assert got.shape == (count, 2)
    np.testing.assert_allclose(got[:, 0], single.numpy(), atol=1e-5)
    np.testing.assert_allclose(got[:, 1], many.numpy(), atol=1e-5)


def test_overlapped_stream_gives_the_same_probabilities_one_batch_later(model, shared_data):
    """Windows run in a worker thread: the same numbers, every frame once, the last batch out at finish()."""
    frames = small_frames(shared_data / "transnetv2-test.mp4", 222)  # five windows, the last two in one batch
    chunks = [frames[i:i + 50] for i in range(0, 222, 50)]
    plain, overlapped = TransNetV2Stream(model, batch_size=2), TransNetV2Stream(model, batch_size=2, overlap=True)
    expected = [plain.feed(chunk) for chunk in chunks] + [plain.finish()]
    got = [overlapped.feed(chunk) for chunk in chunks] + [overlapped.finish()]
    assert sum(map(len, got)) == 222 and len(got[-1]) > len(expected[-1])  # later, not fewer
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(expected))
    overlapped.feed(chunks[0])
    overlapped.reset()  # a video abandoned with a batch in flight: the next one starts clean
    again = [overlapped.feed(chunk) for chunk in chunks[:2]] + [overlapped.finish()]
    plain.reset()
    np.testing.assert_array_equal(np.concatenate(again),
                                  np.concatenate([plain.feed(chunk) for chunk in chunks[:2]] + [plain.finish()]))


class Workers:
    """The torch model behind ``predict_windows`` for three workers at once; every third call is held back, so
    batches finish out of order."""

    parallel = 3

    def __init__(self, model) -> None:
        self.model, self.calls, self.windows, self.running, self.most = model, 0, 0, 0, 0
        self.lock = threading.Lock()

    def predict_windows(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:
            self.calls += 1
            self.windows += len(batch)
            self.running += 1
            self.most = max(self.most, self.running)
            late = self.calls % 3 == 1
        with torch.no_grad():
            single, many = self.model.predict_raw(torch.from_numpy(batch))
        time.sleep(0.3 if late else 0.0)
        with self.lock:
            self.running -= 1
        return torch.cat([single, many], dim=-1).numpy()


def test_a_stream_with_several_workers_keeps_the_windows_in_order(model, shared_data):
    frames = small_frames(shared_data / "transnetv2-test.mp4", 560)  # twelve windows, one per batch
    chunks = [frames[i:i + 50] for i in range(0, 560, 50)]
    plain, workers = TransNetV2Stream(model, batch_size=1), Workers(model)
    parallel = TransNetV2Stream(workers, batch_size=1, overlap=True)
    expected = [plain.feed(chunk) for chunk in chunks] + [plain.finish()]
    got = [parallel.feed(chunk) for chunk in chunks] + [parallel.finish()]
    np.testing.assert_array_equal(np.concatenate(got), np.concatenate(expected))
    assert workers.windows == 12 and workers.most > 1  # the windows ran several at a time
    assert len(got[-1]) > len(expected[-1])  # up to six batches in flight: the last ones come out at finish()


def spans(single, many=None, **kw) -> list[tuple[int, int]]:
    probs = np.stack([np.asarray(single, np.float32), np.asarray(many if many is not None else np.zeros(len(single)),
                                                                  np.float32)], axis=1)
    segmenter = ShotSegmenter(**kw)
    return [(s.start, s.end) for s in [*segmenter.feed(probs[:4]), *segmenter.feed(probs[4:]), *segmenter.finish()]]


def test_segmenter_covers_every_frame():
    hard = [0, 0, 0.9, 0, 0, 0, 0.8, 0.9, 0.7, 0, 0, 0]
    assert spans(hard) == [(0, 2), (3, 7), (8, 11)]  # a 3-frame run splits in its middle
    assert spans([0.9, 0.9, 0, 0, 0.95]) == [(0, 4)]  # runs at the start and open at the end split nothing
    many = [0, 0.1, 0.6, 0.7, 0.8, 0.7, 0.6, 0.2, 0, 0]
    assert spans([0] * 10, many, gradual_min_frames=5) == [(0, 4), (5, 9)]  # a dissolve
    assert spans([0] * 10, many, gradual_min_frames=6) == [(0, 9)]  # too short for a gradual transition
    assert spans([0, 0, 0, 0, 0.9, 0, 0, 0, 0, 0], many) == [(0, 4), (5, 9)]  # a cut inside it: one boundary


def test_missing_weights_name_the_setting(tmp_path):
    with pytest.raises(ModelError, match="shots_weights"):
        load_transnetv2("cpu", str(tmp_path / "missing.pth"))


def detected(out, name) -> list[int]:
    shots = json.loads((out / "shots" / f"{name}.json").read_text())["shots"]
    return [s["start_frame"] for s in shots[1:]]


def check_boundaries(video, out) -> None:
    truth = [(c, c) for c in video.cuts] or video.transitions
    assert len(truth) == 16
    precision, recall, score = f1(detected(out, "joined"), truth, tolerance=2)
    assert score >= 0.95, (precision, recall, detected(out, "joined"), truth)


@pytest.mark.slow
def test_boundaries_on_real_joined_video_with_hard_cuts(joined_keyframes):
    """The stage's shots on pieces joined by hard cuts (its run with a keyframe a second, shared with
    ``test_script.py``: ``every_s`` changes the keyframes, not the shots)."""
    video, out = joined_keyframes
    assert video.cuts and not video.transitions
    check_boundaries(video, out)


@pytest.mark.slow
def test_boundaries_on_real_joined_video_with_cross_dissolves(shared_data, tmp_path):
    video = joined(shared_data, tmp_path / "joined.mp4", piece=40, dissolve=12)
    assert video.transitions and not video.cuts
    run_stage(KeyframesStage(KeyframesConfig()), video.path, tmp_path / "out", progress=False)
    check_boundaries(video, tmp_path / "out")
