"""The highlight stage on real video: a burst of fast cuts, motion and loud sound between calm, silent stills;
flat input; no audio track; the music video's whole chain up to a loaded ``highlight_curves`` config."""

from __future__ import annotations

import io
import json
import shutil

import datasets
import numpy as np
import pytest
from PIL import Image
from videos import pieces, read_audio, read_frames, write_video, write_video_with_audio

from annotate.config import ConfigError
from annotate.highlight import PLOTS, HighlightConfig, HighlightStage, build_curve
from annotate.keyframes import KeyframesConfig, KeyframesStage
from annotate.runner import run_stage
from builder.publish import publish
from builder.shards import iter_shard, shard_paths
from builder.validation import check_published, check_sample, schema_problems
from builder.video_files import SHOTS_FILE, SIGNALS_FILE

FPS, RATE = 25, 44100
CALM = 150  # frames of each calm still (6 s)
PIECE = 9  # frames of each piece of the burst: 17 shots of 0.36 s


@pytest.fixture(scope="module")
def clips(shared_data, tmp_path_factory):
    """Three real clips: ``burst`` (a still, a burst of fast cuts with the music video's sound, another still,
    silence around), the same ``silent_burst`` without an audio track, and a ``still`` with silence."""
    music = shared_data / "transnetv2-test.mp4"
    burst = [frame for piece in pieces(shared_data, PIECE) for frame in piece]
    calm_a, calm_b = read_frames(music, 3418, 3418)[0], read_frames(music, 4088, 4088)[0]
    frames = [calm_a] * CALM + burst + [calm_b] * CALM
    sound = read_audio(music, 60.0, 60.0 + len(burst) / FPS, RATE)
    quiet = np.zeros(CALM * RATE // FPS, np.float32)
    folder = tmp_path_factory.mktemp("highlight")
    videos = folder / "videos"
    videos.mkdir()
    write_video_with_audio(videos / "burst.mp4", frames, np.concatenate([quiet, sound, quiet]), RATE, FPS)
    write_video(videos / "silent_burst.mp4", frames, fps=FPS)
    write_video_with_audio(videos / "still.mp4", [calm_a] * 100, np.zeros(4 * RATE, np.float32), RATE, FPS)
    run_stage(KeyframesStage(KeyframesConfig(every_s=5.0)), videos, folder / "keyframes", progress=False)
    summary = run_stage(HighlightStage(HighlightConfig()), folder / "keyframes", folder / "highlight", progress=False)
    assert (summary.done, summary.failed) == (3, 0)
    burst_span = (CALM / FPS, (CALM + len(burst)) / FPS)
    return folder, burst_span


def curves(out) -> dict[str, dict]:
    return {s.record["video_id"]: s for p in shard_paths(out) for s in iter_shard(p)
            if s.kind == "highlight_curve"}


def stats(out, stage: str = "highlight") -> dict:
    return json.loads((out / f"{stage}.stats.json").read_text())["counts"]


@pytest.mark.parametrize("video", ["burst", "silent_burst"])
def test_highest_peak_lies_inside_the_burst(clips, video):
    folder, (start, end) = clips
    record = curves(folder / "highlight")[video].record
    top = max(record["peaks"], key=lambda p: p["score"])
    assert start <= top["time_s"] <= end, (top, start, end)
    times, score = np.array(record["time_s"]), np.array(record["score"])
    inside = score[(times >= start) & (times <= end)]
    calm = score[(times < start - 2) | (times > end + 2)]  # two seconds clear of the burst (smoothing)
    assert inside.mean() > 0.5 and calm.max() < 0.1, (inside.mean(), calm.max())
    expected = ["motion", "rhythm", "sound"] if video == "burst" else ["motion", "rhythm"]
    assert record["method"]["components"] == expected


def test_grid_is_uniform_and_spans_the_video(clips):
    folder, _ = clips
    for video, sample in curves(folder / "highlight").items():
        record = sample.record
        duration = SHOTS_FILE.find(folder / "highlight", video)["duration_s"]
        times = np.array(record["time_s"])
        assert times[0] == 0 and np.allclose(np.diff(times), 0.5) and duration - 0.5 < times[-1] <= duration
        assert record["duration_s"] == pytest.approx(duration, abs=1e-3)
        for name in ("score", "measured_arousal", "motion", "rhythm", "sound", "character_intensity", "valence",
                     "arousal", "dominance"):
            assert len(record[name]) == len(times), name
        assert check_sample(sample) == [] and check_published(sample) == []


def test_constant_signals_and_constant_vad_give_a_flat_curve(clips):
    folder, _ = clips
    record = curves(folder / "highlight")["still"].record
    assert len(set(record["score"])) == 1 and record["peaks"] == []
    assert record["method"]["components"] == ["motion", "rhythm", "sound"]
    out = folder / "highlight"
    frames = [s.record for p in shard_paths(out) for s in iter_shard(p) if s.record.get("video_id") == "still"
              and s.kind == "frame"]
    assert frames
    for frame in frames:
        frame["people"] = [{"vad": {"valence": 3.0, "arousal": 7.0, "dominance": 6.0}, "bbox": [10, 10, 60, 80],
                            "face": None}]
    made = build_curve("still", HighlightConfig(), frames, SHOTS_FILE.find(out, "still"),
                       SIGNALS_FILE.find(out, "still")).record
    assert len(set(made["score"])) == 1 and made["peaks"] == []
    assert set(made["valence"]) == {3.0}
    assert made["character_intensity"] == [0.575] * len(made["time_s"])  # 0.5 * 6/8 + 0.3 * 2/4 + 0.2 * 1/4
    assert made["method"]["components"][-1] == "characters" and made["method"]["missing"] == []


def test_video_without_audio_gives_a_curve_and_a_counted_reason(clips):
    folder, _ = clips
    assert stats(folder / "keyframes", "keyframes")["sound_not_measured_no_audio_stream"] == 1
    assert SIGNALS_FILE.find(folder / "highlight", "silent_burst")["sound_status"] == "no_audio_stream"
    record = curves(folder / "highlight")["silent_burst"].record
    assert set(record["sound"]) == {None} and {"component": "sound", "reason": "no_audio_stream"} in \
        record["method"]["missing"]
    counts = stats(folder / "highlight")
    assert counts["curves_without_sound_no_audio_stream"] == 1 and counts["curves"] == 3
    assert counts["curves_without_characters_no_vad"] == 3


def test_plot_is_the_record_png_and_a_file_for_people(clips):
    folder, _ = clips
    sample = curves(folder / "highlight")["burst"]
    assert (folder / "highlight" / PLOTS / "burst.png").read_bytes() == sample.members["png"]
    with Image.open(io.BytesIO(sample.members["png"])) as image:
        assert image.format == "PNG" and image.size[0] >= 800 and image.size[1] >= 400
        pixels = np.asarray(image.convert("L"))
    assert (pixels < 100).mean() > 0.01  # lines and text were drawn


def test_video_with_nothing_to_measure_is_quarantined(clips, tmp_path):
    folder, _ = clips
    bare = tmp_path / "bare"
    bare.mkdir()
    for shard in shard_paths(folder / "keyframes"):  # shards without the shots and signals files
        if "still" in shard.name:
            shutil.copy(shard, bare / shard.name)
    summary = run_stage(HighlightStage(HighlightConfig()), bare, tmp_path / "out", progress=False)
    assert (summary.done, summary.quarantined) == (1, 1)
    line = json.loads((tmp_path / "out" / "quarantine.jsonl").read_text())
    assert line["reason"] == "no_signals" and "no_signals_file" in line["detail"]
    assert stats(tmp_path / "out")["curves_not_made_no_signals"] == 1
    assert not any(s.kind == "highlight_curve" for p in shard_paths(tmp_path / "out") for s in iter_shard(p))


def signals_file(motion: list, sound: list | None, step: float = 0.2) -> dict:
    return {"step_s": step, "duration_s": round(len(motion) * step, 3), "motion": motion, "sound_db": sound,
            "sound_status": "measured" if sound is not None else "no_audio_stream"}


def shots_file(spans: list[tuple[float, float]]) -> dict:
    return {"duration_s": spans[-1][1], "shots": [{"start_s": a, "end_s": b} for a, b in spans]}


def test_a_video_shorter_than_the_smoothing_window_gets_a_whole_curve():
    made = build_curve("short", HighlightConfig(), [], shots_file([(0.0, 0.4), (0.4, 1.0)]),
                       signals_file([0.5, 9.0, 1.0, 1.2, 0.8], [-30.0, -20.0, -25.0, -40.0, -35.0])).record
    assert made["time_s"] == [0.0, 0.5, 1.0]
    assert all(len(made[name]) == 3 for name in ("score", "motion", "rhythm", "sound", "measured_arousal"))
    assert schema_problems("short_highlight", made, "highlight_curve") == []


def test_constant_inputs_give_a_flat_curve_whatever_their_level():
    frames = [{"time_s": t, "width": 100, "height": 100,
               "people": [{"vad": {"valence": 7.0, "arousal": 6.0, "dominance": 4.0}, "bbox": [0, 0, 50, 50]}]}
              for t in (0.5, 3.0, 5.5)]
    made = build_curve("level", HighlightConfig(), frames, shots_file([(0.0, 6.0)]),
                       signals_file([12.0] * 30, [-18.0] * 30)).record
    assert len(set(made["score"])) == 1 and made["peaks"] == [] and made["score"][0] > 0
    assert set(made["measured_arousal"]) == {0.0} and made["method"]["components"][-1] == "characters"


def test_a_constant_component_gives_its_weight_to_the_others():
    motion = [0.5] * 10 + [20.0] * 5 + [0.5] * 15  # a burst of motion; silent track; one shot
    silent = build_curve("v", HighlightConfig(), [], shots_file([(0.0, 6.0)]), signals_file(motion, [-100.0] * 30))
    mute = build_curve("v", HighlightConfig(), [], shots_file([(0.0, 6.0)]), signals_file(motion, None))
    assert max(silent.record["score"]) == max(mute.record["score"]) == 1.0
    assert silent.record["score"] == mute.record["score"]
    assert silent.record["method"]["components"] == ["motion", "rhythm", "sound"]  # measured, though constant


@pytest.mark.parametrize("setting, value", [("grid_s", 0), ("characters_weight", 1.5), ("motion_weight", -1),
                                            ("shot_score", "median"), ("rhythm_tau_s", 0)])
def test_bad_settings_are_config_errors(setting, value):
    with pytest.raises(ConfigError, match=setting):
        HighlightStage(HighlightConfig(**{setting: value})).setup(None)


@pytest.fixture(scope="module")
def music_highlight(music_script):
    out = music_script.parent / "highlight"
    run_stage(HighlightStage(HighlightConfig()), music_script, out, progress=False)
    return out


def test_music_chain_scores_every_shot_and_passes_frames_through(music_script, music_highlight):
    before = {s.key: s for p in shard_paths(music_script) for s in iter_shard(p)}
    after = {s.key: s for p in shard_paths(music_highlight) for s in iter_shard(p)}
    (curve_key,) = [k for k, s in after.items() if s.kind == "highlight_curve"]
    assert set(after) - set(before) == {curve_key}
    record = after[curve_key].record
    assert "characters" in record["method"]["components"]  # calibrate gave faces V/A/D
    assert sum(v is not None for v in record["valence"]) == len(record["time_s"])
    times, score = np.array(record["time_s"]), np.array(record["score"])
    shots = 0
    for key, sample in after.items():
        if sample.kind == "frame":
            assert sample.record == before[key].record and sample.members == before[key].members
        elif sample.kind == "shooting_script":
            for shot in sample.record["shots"]:
                inside = score[(times >= shot["start_s"]) & (times < shot["end_s"])]
                want = inside.mean() if len(inside) else np.interp((shot["start_s"] + shot["end_s"]) / 2, times,
                                                                   score)
                assert shot["highlight_score"] == pytest.approx(10 * want, abs=0.006)
                shots += 1
            assert "Highlight Score:" in sample.record["text"]
            assert sample.record["provenance"][-1]["stage"] == "highlight"
    assert shots == len(SHOTS_FILE.find(music_highlight, "transnetv2-test")["shots"])
    assert stats(music_highlight)["shots_scored"] == shots


def test_published_curve_loads_with_its_plot(music_highlight, tmp_path):
    report = publish(music_highlight, tmp_path / "skyscript-100m", progress=False)
    assert report.counts["highlight_curves"] == 1
    rows = list(datasets.load_dataset(str(tmp_path / "skyscript-100m"), "highlight_curves", split="train"))
    (row,) = rows
    source = curves(music_highlight)["transnetv2-test"]
    assert row["json"] == source.record
    assert row["png"].format == "PNG" and row["png"].size == Image.open(io.BytesIO(source.members["png"])).size
