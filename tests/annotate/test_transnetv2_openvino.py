"""TransNetV2 on OpenVINO: the same shots as the torch backend, the exported model cached once.

The OpenVINO model is exported into the default cache (``~/.cache/skyscript-100m/openvino`` or under
``$XDG_CACHE_HOME``) the first time, about 10 s, then reused, as the stage does.
"""

from __future__ import annotations

import json
import os

import av
import numpy as np
import pytest
from videos import joined

import annotate.transnetv2_openvino as ov_module
from annotate.config import ConfigError
from annotate.errors import ModelError
from annotate.keyframes import KeyframesConfig, KeyframesStage
from annotate.runner import run_stage
from annotate.shots import INPUT_SIZE, ShotSegmenter, TransNetV2Stream, load_shots_model, resolve_backend
from builder.shards import iter_shard, shard_paths


THRESHOLDS = (KeyframesConfig.shots_threshold, KeyframesConfig.gradual_threshold)
BF16_TOLERANCE = 0.01  # bf16 against torch: 0.0041 (single-frame head) and 0.0056 (all-frames head) seen
F32_TOLERANCE = 1e-5  # f32 against torch: 3e-7 seen


@pytest.fixture(scope="module")
def torch_model():
    return load_shots_model("torch", "auto", "cpu")[0]


@pytest.fixture(scope="module")
def openvino_model():
    """The default precision (bf16 on a CPU with it), re-checking windows near the thresholds in f32."""
    return load_shots_model("openvino", "auto", "cpu", thresholds=THRESHOLDS,
                            margin=KeyframesConfig.shots_recheck_margin,
                            gradual_min_frames=KeyframesConfig.gradual_min_frames)[0]


def small_frames(path, limit: int | None = None) -> np.ndarray:
    with av.open(str(path)) as container:
        frames = []
        for frame in container.decode(video=0):
            if limit is not None and len(frames) == limit:
                break
            frames.append(frame.to_ndarray(width=INPUT_SIZE[1], height=INPUT_SIZE[0], format="rgb24",
                                           interpolation="AREA"))
    return np.stack(frames)


def probabilities(model, frames: np.ndarray) -> np.ndarray:
    stream = TransNetV2Stream(model)
    return np.concatenate([stream.feed(frames[i:i + 50]) for i in range(0, len(frames), 50)] + [stream.finish()])


def shots(probs: np.ndarray) -> list[tuple[int, int]]:
    segmenter = ShotSegmenter(*THRESHOLDS)
    return [(s.start, s.end) for s in [*segmenter.feed(probs), *segmenter.finish()]]


def tolerance(model) -> float:
    return F32_TOLERANCE if model.precision == "f32" else BF16_TOLERANCE


def test_openvino_matches_torch_near_a_boundary_on_the_threshold(torch_model, openvino_model, shared_data):
    """The music video's first 300 frames hold a cut whose torch probability is 0.49988 (frame 218), against a
    threshold of 0.5: bf16 gives 0.5006 there, and its f32 re-check decides as torch does."""
    frames = small_frames(shared_data / "transnetv2-test.mp4", 300)
    expected, got = probabilities(torch_model, frames), probabilities(openvino_model, frames)
    assert got.shape == expected.shape == (300, 2)
    np.testing.assert_allclose(got, expected, atol=tolerance(openvino_model))
    assert shots(got) == shots(expected)


def test_windows_run_in_parallel_give_the_same_numbers(openvino_model, shared_data):
    """Compiled for throughput (the stage with overlap), a stream's workers run ``parallel`` windows at once:
    the same probabilities in the same order, and the same windows re-checked, as one window at a time."""
    import torch

    frames = small_frames(shared_data / "transnetv2-test.mp4", 1200)
    model = load_shots_model("openvino", "auto", "cpu", thresholds=THRESHOLDS,
                             margin=KeyframesConfig.shots_recheck_margin,
                             gradual_min_frames=KeyframesConfig.gradual_min_frames, parallel=True)[0]
    if torch.get_num_threads() > 1:  # OpenVINO splits the threads into streams (2 of 1 thread on 2 cores)
        assert model.parallel > 1
    stream = TransNetV2Stream(model, 1, overlap=True)
    got = np.concatenate([stream.feed(frames[i:i + 50]) for i in range(0, len(frames), 50)] + [stream.finish()])
    before = openvino_model.rechecked
    expected = probabilities(openvino_model, frames)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert model.windows == 24 and model.rechecked == openvino_model.rechecked - before
    if model.precision == "bf16":  # frame 218's window (see above) ran again in f32 from a worker
        assert model.rechecked > 0


@pytest.mark.slow
def test_openvino_gives_the_torch_shots_on_the_music_video(torch_model, openvino_model, shared_data):
    frames = small_frames(shared_data / "transnetv2-test.mp4")
    expected = probabilities(torch_model, frames)
    rechecked = openvino_model.rechecked
    got = probabilities(openvino_model, frames)
    np.testing.assert_allclose(got, expected, atol=tolerance(openvino_model))
    assert shots(got) == shots(expected) and 100 <= len(shots(got)) <= 115
    if openvino_model.precision == "bf16":  # some windows, not most, were run again in f32
        assert 0 < openvino_model.rechecked - rechecked < 0.3 * len(frames) / 50


def kept(single: list[float], many: list[float]) -> np.ndarray:
    return np.stack([single, many], axis=1).astype(np.float32)


@pytest.mark.parametrize("single, many, expected", [
    ([0.1] * 10, [0.1] * 10, False),  # nothing near a threshold
    ([0.1] * 4 + [0.51] + [0.1] * 5, [0.1] * 10, True),  # a cut or not
    ([0.1] * 10, [0.1] * 4 + [0.31] + [0.1] * 5, False),  # an isolated frame cannot make a gradual transition
    ([0.1] * 10, [0.1, 0.1, 0.9, 0.9, 0.29, 0.9, 0.9, 0.1, 0.1, 0.1], True),  # it may join a run of five
    ([0.1] * 10, [0.1, 0.1, 0.1, 0.9, 0.29, 0.9, 0.1, 0.1, 0.1, 0.1], False),  # a run of three at most
    ([0.1] * 10, [0.31] + [0.1] * 9, True),  # at the window's edge: the run may go on in the next window
    ([0.1] * 10, [0.1] * 9 + [0.29], True),
])
def test_needs_exact_only_where_f32_can_change_a_shot(single, many, expected):
    assert ov_module.needs_exact(kept(single, many), np.float32(THRESHOLDS), 0.02, 5) is expected
    assert ov_module.needs_exact(kept(single, many), np.float32(THRESHOLDS), 0.02, None) is (expected or any(
        abs(v - THRESHOLDS[1]) < 0.02 for v in many))  # without the segmenter's rule: every near probability


def test_windows_left_in_bf16_give_the_exact_shots():
    """Random probabilities crowded near both thresholds: windows that needs_exact leaves alone, however their
    probabilities move within the margin, segment into the same shots as the exact ones."""
    rng = np.random.default_rng(0)
    checked = left = 0
    for _ in range(300):
        exact = np.stack([rng.choice([0.05, 0.49, 0.51, 0.9], 400, p=[0.97, 0.005, 0.005, 0.02]),
                          rng.choice([0.05, 0.29, 0.31, 0.8], 400, p=[0.55, 0.15, 0.15, 0.15])], axis=1)
        exact = (exact + rng.uniform(-0.009, 0.009, exact.shape)).astype(np.float32)
        moved = (exact + rng.uniform(-0.0099, 0.0099, exact.shape)).astype(np.float32)  # a bf16 run of it
        used = exact.copy()
        for start in range(0, len(exact), 50):
            if not ov_module.needs_exact(moved[start:start + 50], np.float32(THRESHOLDS), 0.02, 5):
                used[start:start + 50] = moved[start:start + 50]
                left += 1
            checked += 1
        assert shots(used) == shots(exact)
    assert 0.1 * checked < left < checked  # both kinds of window occur


def test_a_run_across_two_windows_needs_exact():
    """A run of five across a window's edge is a dissolve or two short runs depending on one frame near the
    all-frames threshold: the window holding that frame must be decided in f32, though its part is short."""
    first = kept([0.05] * 50, [0.05] * 47 + [0.8, 0.8, 0.301])
    second = kept([0.05] * 50, [0.8, 0.8] + [0.05] * 48)
    moved = first.copy()
    moved[-1, 1] = 0.299
    assert shots(np.concatenate([first, second])) != shots(np.concatenate([moved, second]))
    assert ov_module.needs_exact(moved, np.float32(THRESHOLDS), 0.02, 5)


def stage_output(video, out, backend: str) -> tuple[list, set]:
    run_stage(KeyframesStage(KeyframesConfig(shots_backend=backend)), video, out, progress=False)
    found = json.loads((out / "shots" / "joined.json").read_text())["shots"]
    revisions = {s.record["provenance"][0]["revision"] for p in shard_paths(out) for s in iter_shard(p)}
    return [(s["start_frame"], s["end_frame"], s["keyframes"]) for s in found], revisions


@pytest.mark.slow
@pytest.mark.parametrize("dissolve", [0, 12], ids=["hard-cuts", "cross-dissolves"])
def test_the_stage_finds_the_same_shots_with_either_backend(shared_data, tmp_path, dissolve):
    video = joined(shared_data, tmp_path / "joined.mp4", piece=40, dissolve=dissolve)
    by_torch, torch_revisions = stage_output(video.path, tmp_path / "torch", "torch")
    by_openvino, openvino_revisions = stage_output(video.path, tmp_path / "openvino", "openvino")
    assert by_openvino == by_torch and len(by_torch) == 17  # the same shots and keyframes
    assert torch_revisions == {"torch-cpu"}
    assert openvino_revisions == {f"openvino-{ov_module.resolve_precision('auto')}"}


def test_auto_picks_openvino_on_the_cpu_and_torch_on_a_gpu():
    assert resolve_backend("auto", "cpu") == "openvino"
    assert resolve_backend("auto", "cuda") == resolve_backend("auto", "cuda:1") == "torch"
    assert resolve_backend("torch", "cpu") == "torch" and resolve_backend("openvino", "cuda") == "openvino"


def test_precision_auto_is_bf16_where_the_cpu_has_it():
    assert ov_module.resolve_precision("auto") == ("bf16" if ov_module.bf16_supported() else "f32")
    assert ov_module.resolve_precision("f32") == "f32"


def test_openvino_takes_torchs_thread_count_unpinned(openvino_model):
    """Two processes of a launch on one machine each get their share of cores (accelerate sets
    OMP_NUM_THREADS, which torch follows) and never pin their threads onto the same cores."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        compiled = ov_module.compile_model(openvino_model.xml, "f32", ov_module.REMEDY)
        assert compiled.get_property("INFERENCE_NUM_THREADS") == 1
        assert compiled.get_property("ENABLE_CPU_PINNING") is False
    finally:
        torch.set_num_threads(before)
    compiled = ov_module.compile_model(openvino_model.xml, "f32", ov_module.REMEDY)
    assert compiled.get_property("INFERENCE_NUM_THREADS") == before


@pytest.mark.parametrize("settings, message", [
    ({"shots_backend": "onnx"}, "shots_backend 'onnx'"),
    ({"shots_precision": "fp16"}, "shots_precision 'fp16'"),
    ({"shots_recheck_margin": -1.0}, "shots_recheck_margin"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises(ConfigError, match=message):
        KeyframesStage(KeyframesConfig(**settings)).setup("cpu")


def test_bf16_is_refused_with_torch():
    with pytest.raises(ModelError, match="shots_precision=bf16"):
        load_shots_model("torch", "bf16", "cpu")


def test_backend_and_precision_are_output_settings_and_the_cache_is_not():
    from annotate.config import output_settings

    settings = output_settings(KeyframesConfig())
    assert {"shots_backend", "shots_precision", "shots_recheck_margin"} <= set(settings)
    assert "shots_cache" not in settings


def fake_export(calls):
    def export(weights, folder):
        calls.append(folder)
        (folder / "model.xml").write_text("<net/>")
        (folder / "model.bin").write_bytes(b"")
    return export


def test_the_model_is_exported_once_per_weights_and_openvino_version(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(ov_module, "export", fake_export(calls))
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"one")
    cache = tmp_path / "cache"
    first = ov_module.cached_model(str(weights), str(cache))
    assert ov_module.cached_model(str(weights), str(cache)) == first and len(calls) == 1
    name = first.parent.name
    assert name.startswith(f"transnetv2-{ov_module.sha256(weights)[:16]}-1x100x27x48x3-openvino"
                           f"{ov_module.openvino_version()}-export{ov_module.EXPORT_VERSION}")
    key = json.loads((first.parent / "key.json").read_text())
    assert key["weights_sha256"] == ov_module.sha256(weights) and key["input_shape"] == [1, 100, 27, 48, 3]
    assert sorted(p.name for p in cache.iterdir()) == [name]  # the work folder was renamed into place
    weights.write_bytes(b"two")  # other weights: another folder
    assert ov_module.cached_model(str(weights), str(cache)) != first and len(calls) == 2
    monkeypatch.setattr(ov_module, "openvino_version", lambda: "9999.0")  # another OpenVINO: exported again
    assert "openvino9999.0" in str(ov_module.cached_model(str(weights), str(cache))) and len(calls) == 3


def test_a_folder_finished_by_another_process_is_used(tmp_path, monkeypatch):
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"one")
    cache = tmp_path / "cache"
    final = cache / ov_module.cache_name(ov_module.sha256(weights), ov_module.openvino_version())

    def racing_export(_, folder):  # another process renames its folder into place while this one exports
        fake_export([])(None, final.parent / "other")
        (final.parent / "other").rename(final)
        fake_export([])(None, folder)

    cache.mkdir()
    (cache / "other").mkdir()
    monkeypatch.setattr(ov_module, "export", racing_export)
    assert ov_module.cached_model(str(weights), str(cache)) == final / "model.xml"
    assert sorted(p.name for p in cache.iterdir()) == [final.name]


def test_missing_weights_and_an_unwritable_cache_name_the_setting(tmp_path):
    with pytest.raises(ModelError, match="shots_weights"):
        ov_module.cached_model(str(tmp_path / "missing.pth"), str(tmp_path))
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"one")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ModelError, match="shots_cache"):
        ov_module.cached_model(str(weights), str(blocker / "cache"))


def test_default_cache_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ov_module.default_cache() == tmp_path / "skyscript-100m" / "openvino"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert str(ov_module.default_cache()).endswith(os.path.join(".cache", "skyscript-100m", "openvino"))
