"""The keyframes stage on real video: shots file, keyframe records, quality filter, bad inputs, resume."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import av
import numpy as np
import pytest
from PIL import Image
from videos import SEGMENTS, frame_times, read_frames, write_vfr_video, write_video

from annotate.keyframes import FrameBuffer, KeyframesConfig, KeyframesStage, main, scaled_size
from annotate.runner import run_stage
from annotate.shots import ShotSpan
from builder.contract import format_timestamp
from builder.shards import iter_shard, shard_paths
from builder.validation import check_sample
from builder.video_files import SIGNALS_FILE


@pytest.fixture()
def clip(repo):
    return repo / "samples" / "bigbuckbunny.mp4"


def quarantine(out) -> list[dict]:
    path = out / "quarantine.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def samples(out) -> list:
    return [s for p in shard_paths(out) for s in iter_shard(p)]


def test_bundled_clip_gives_one_shot_and_keyframes_every_second(clip, tmp_path):
    summary = run_stage(KeyframesStage(KeyframesConfig(every_s=1.0, max_side=640)), clip, tmp_path / "out",
                        progress=False)
    assert (summary.done, summary.failed, summary.quarantined) == (1, 0, 0)
    shots = json.loads((tmp_path / "out" / "shots" / "bigbuckbunny.json").read_text())
    assert (shots["num_frames"], shots["fps"], shots["width"], shots["height"]) == (132, 25.0, 1280, 720)
    assert shots["duration_s"] == pytest.approx(5.28) and shots["partial"] is False
    assert [(s["start_frame"], s["end_frame"]) for s in shots["shots"]] == [(0, 131)]
    found = samples(tmp_path / "out")
    assert len(found) == 5 and shots["shots"][0]["keyframes"] == [s.record["frame_index"] for s in found]
    for k, sample in enumerate(found):
        record = sample.record
        assert check_sample(sample) == [] and set(sample.members) == {"raw.jpg"}
        assert abs(record["time_s"] - (k + 0.5) * 5.28 / 5) <= 0.5  # near the middle of each fifth
        assert (record["width"], record["height"], record["shot_index"]) == (640, 360, 0)
        assert record["sharpness"] > 100 and record["timestamp"].startswith("00:00:0")
        assert record["source"] == {"path": "bigbuckbunny.mp4", "width": 1280, "height": 720, "fps": 25.0}
        assert sample.key == f"bigbuckbunny_0000_{record['frame_index']:07d}"
        assert record["provenance"][0]["stage"] == "keyframes" and record["provenance"][0]["model"] == "transnetv2"


@pytest.mark.slow
def test_music_video_shots_cover_every_frame(music_keyframes):
    shots = json.loads((music_keyframes / "shots" / "transnetv2-test.json").read_text())
    spans = [(s["start_frame"], s["end_frame"]) for s in shots["shots"]]
    assert spans[0][0] == 0 and spans[-1][1] == shots["num_frames"] - 1 == 5300
    assert all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:]))
    assert 100 <= len(spans) <= 115  # about 109 cuts
    keyed = [s for s in shots["shots"] if s["keyframes"]]
    assert len(keyed) >= len(spans) - 3
    # the first two frames are black and the last shot is the fade-out: quarantined with their scores
    lines = quarantine(music_keyframes)
    assert {l["reason"] for l in lines} == {"no_acceptable_frame"} and len(lines) == len(spans) - len(keyed)
    assert "near_black" in json.loads(lines[0]["detail"])["rejected"]
    found = samples(music_keyframes)
    assert len(found) > 400  # a keyframe per half second of every shot
    assert [s.record["time_s"] for s in found] == sorted(s.record["time_s"] for s in found)
    for shot in keyed:  # keyframes lie in their shot
        assert all(shot["start_frame"] <= k <= shot["end_frame"] for k in shot["keyframes"])


def test_quality_filter_falls_back_to_the_next_frame(shared_data, tmp_path):
    """Black frames around the middle of a shot are refused and the closest good frame is chosen instead."""
    frames = read_frames(shared_data / "transnetv2-test.mp4", 459, 509)
    for i in range(15, 37):
        frames[i] = np.zeros_like(frames[i])
    write_video(tmp_path / "dark.mp4", frames)
    config = KeyframesConfig(shots_model="none", every_s=10, middle_window_s=0.3)
    run_stage(KeyframesStage(config), tmp_path / "dark.mp4", tmp_path / "out", progress=False)
    [sample] = samples(tmp_path / "out")
    assert sample.record["frame_index"] in (14, 37)
    stats = json.loads((tmp_path / "out" / "keyframes.stats.json").read_text())
    assert stats["counts"]["keyframe_choices_needing_fallback"] == 1
    assert stats["counts"]["candidates_rejected_near_black"] >= 1


def audio_only(source, target) -> None:
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)


def garbage_packets(source, target) -> None:
    """An h264 stream whose every packet is noise: the container opens, no frame decodes."""
    rng = np.random.default_rng(0)
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = out.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is None:
                continue
            noise = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
            noise.pts, noise.dts, noise.time_base, noise.stream = packet.pts, packet.dts, packet.time_base, stream
            out.mux(noise)


def test_bad_inputs_are_quarantined_and_the_rest_goes_on(clip, shared_data, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(clip, videos / "good.mp4")
    (videos / "empty.mp4").write_bytes(b"")
    (videos / "notes.mkv").write_text("not a video at all")
    (videos / "cut.mp4").write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])  # index at the end: unreadable
    audio_only(clip, videos / "voice.mp4")
    garbage_packets(clip, videos / "noise.mkv")
    write_video(videos / "tiny.mp4", [np.full((8, 8, 3), 128, np.uint8)] * 10)
    frames = read_frames(shared_data / "transnetv2-test.mp4", 459, 569)
    write_video(videos / "half.mp4", frames, options={"movflags": "faststart"})
    data = (videos / "half.mp4").read_bytes()
    (videos / "half.mp4").write_bytes(data[: len(data) * 6 // 10])  # index first: decodes until the data ends
    code = main([str(videos), str(tmp_path / "out"), "--no-progress"])
    assert code == 0
    reasons = {q["key"]: q["reason"] for q in quarantine(tmp_path / "out")}
    assert reasons == {"empty": "empty", "notes": "unreadable", "cut": "unreadable", "voice": "no_video_stream",
                       "noise": "decode", "tiny": "bad_dimensions", "half": "partial"}
    half = json.loads((tmp_path / "out" / "shots" / "half.json").read_text())
    assert half["partial"] is True and 0 < half["num_frames"] < len(frames)
    kept = {s.record["video_id"] for s in samples(tmp_path / "out")}
    assert kept == {"good", "half"}
    stats = json.loads((tmp_path / "out" / "keyframes.stats.json").read_text())
    assert stats["tasks"] == 8 and stats["done"] == 8 and stats["failed"] == 0  # every input counted
    assert stats["counts"]["videos_partial"] == 1
    signals = {v: SIGNALS_FILE.find(tmp_path / "out", v) for v in ("good", "half")}
    assert signals["half"]["duration_s"] == half["duration_s"] and signals["half"]["sound_db"] is None
    assert len(signals["half"]["motion"]) == math.ceil(half["duration_s"] / signals["half"]["step_s"] - 1e-9)
    assert signals["half"]["sound_status"] == "no_audio_stream" and signals["good"]["sound_status"] == "measured"
    assert stats["counts"]["sound_not_measured_no_audio_stream"] == 1  # half was written without audio
    assert main([str(videos), str(tmp_path / "out"), "--strict", "--no-progress"]) == 1


def test_killed_run_resumes_without_duplicates_or_losses(clip, shared_data, tmp_path, repo):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i, start in enumerate((459, 1204, 3386, 4037)):
        write_video(videos / f"v{i}.mp4", read_frames(shared_data / "transnetv2-test.mp4", start, start + 60) * 3)
    (videos / "empty.mp4").write_bytes(b"")
    assert main([str(videos), str(tmp_path / "clean"), "--no-progress"]) == 0  # uninterrupted, in this process
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "annotate.keyframes", str(videos), str(out), "--no-progress"],
                               cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "_tasks").glob("v*.json"))) < 1:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list((out / "_tasks").glob("v*.json")))
    assert 1 <= done_before < 4, "the kill should land mid-run"
    assert main([str(videos), str(out), "--no-progress"]) == 0
    assert {p.name: p.read_bytes() for p in shard_paths(out)} == \
           {p.name: p.read_bytes() for p in shard_paths(tmp_path / "clean")}
    assert not list(out.glob("*.tmp")) and not list(out.glob("*/*.tmp"))
    assert [q["key"] for q in quarantine(out)] == ["empty"]


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.mp4"), str(tmp_path / "out")]) == 2
    assert main([str(tmp_path), str(tmp_path / "out"), "--set", "interval=3"]) == 2
    assert "unknown keyframes setting(s) ['interval']" in capsys.readouterr().err


def frame_buffer(decoded: int, position: int) -> FrameBuffer:
    """A buffer holding frames 0..decoded-1 (the decoder's head), settled at the segmenter's ``position``."""
    buffer = FrameBuffer(dense=10, step=2, max_sparse=4)
    for i in range(decoded):
        buffer.add(type("C", (), {"index": i})())
    buffer.settle(position)
    return buffer


def test_frame_buffer_keeps_recent_frames_and_thins_old_ones():
    buffer = frame_buffer(40, 40)
    assert [c.index for c in buffer.dense] == list(range(30, 40))
    assert len(buffer.sparse) <= 4 and buffer.step > 2
    kept = buffer.take(ShotSpan(0, 34), 40)
    assert [c.index for c in kept][-5:] == [30, 31, 32, 33, 34]
    assert [c.index for c in buffer.dense] == [35, 36, 37, 38, 39] and buffer.sparse == [] and buffer.step == 2


def test_frame_buffer_thins_behind_the_segmenter_so_inference_lag_changes_nothing():
    """A decoder 60 frames ahead of the segmenter (big batches, a window in flight) leaves a shot the same
    frames to choose from as one just ahead of it."""
    near, far = frame_buffer(41, 38), frame_buffer(101, 38)
    assert [c.index for c in far.dense][:10] == list(range(28, 38))  # kept: within 10 of the segmenter
    first = [c.index for c in near.take(ShotSpan(0, 34), 38)]
    assert first == [c.index for c in far.take(ShotSpan(0, 34), 38)] and first[-7:] == list(range(28, 35))
    for i in range(41, 101):  # the near decoder catches up; a 36-frame shot ends at the segmenter's frame 80
        near.add(type("C", (), {"index": i})())
    second = [c.index for c in near.take(ShotSpan(35, 70), 80)]
    assert second == [c.index for c in far.take(ShotSpan(35, 70), 80)] and second[-1] == 70


def test_scaled_size_never_upscales():
    assert scaled_size(1280, 720, 640) == (640, 360)
    assert scaled_size(160, 90, 1280) == (160, 90)
    assert scaled_size(720, 1280, 1000) == (562, 1000)


def vfr_video(shared_data, path):
    """Four real shots of 30 frames; in each, 15 frames 1/25 s apart then 15 frames 1/10 s apart (2.1 s).

    Returns the encoded frames, their durations and each frame index's time decoded here with PyAV.
    """
    frames = [f for name in ("fence", "arches_medium_a", "window", "close_up_a")
              for f in read_frames(shared_data / "transnetv2-test.mp4", SEGMENTS[name][0], SEGMENTS[name][0] + 29)]
    durations = [0.04 if k % 30 < 15 else 0.1 for k in range(len(frames))]
    write_vfr_video(path, frames, durations)
    truth = frame_times(path)
    assert truth == pytest.approx(np.cumsum([0.0, *durations[:-1]]).tolist(), abs=1e-6)  # really VFR
    return frames, durations, truth


def check_vfr_keyframes(out, frames, truth) -> list[dict]:
    """Every keyframe's time is its frame index's decoded pts time; its image is that frame."""
    found = samples(out)
    records = [s.record for s in found]
    assert records
    for sample in found:
        record, index = sample.record, sample.record["frame_index"]
        assert record["time_s"] == pytest.approx(truth[index], abs=1e-6), index
        assert record["timestamp"] == format_timestamp(truth[index])
        image = np.asarray(Image.open(io.BytesIO(sample.members["raw.jpg"])).convert("RGB"), dtype=np.int16)
        assert np.abs(image - frames[index]).mean() < 8, index  # the image is the frame at that index
    # index / fps (the container's average rate, or the nominal 25) would put keyframes elsewhere
    for rate in {records[0]["source"]["fps"], 25.0}:
        assert max(abs(r["time_s"] - r["frame_index"] / rate) for r in records) > 0.2, rate
    return records


def test_variable_frame_rate_keyframe_times_come_from_timestamps(shared_data, tmp_path):
    """Without the shot model (one shot, fast): keyframe times and their spacing follow the real timestamps."""
    frames, durations, truth = vfr_video(shared_data, tmp_path / "vfr.mp4")
    out = tmp_path / "out"
    config = KeyframesConfig(shots_model="none", every_s=0.7)
    summary = run_stage(KeyframesStage(config), tmp_path / "vfr.mp4", out, progress=False)
    assert (summary.done, summary.failed, summary.quarantined) == (1, 0, 0)
    shots = json.loads((out / "shots" / "vfr.json").read_text())
    [shot] = shots["shots"]
    assert (shot["start_frame"], shot["end_frame"], shot["start_s"]) == (0, 119, 0.0)
    assert truth[-1] < shot["end_s"] <= truth[-1] + max(durations) + 1e-6
    assert truth[-1] < shots["duration_s"] <= truth[-1] + max(durations) + 1e-6
    records = check_vfr_keyframes(out, frames, truth)
    # one keyframe per 0.7 s of real time (about 8.4 s: 12), not of 120 frames at 25 fps (4.8 s: 7)
    assert len(records) == round(shot["end_s"] / 0.7) == 12
    assert shot["keyframes"] == [r["frame_index"] for r in records]
    for part, record in enumerate(records):  # each keyframe lies in its part of the real time line
        length = shot["end_s"] / len(records)
        assert part * length <= record["time_s"] < (part + 1) * length


@pytest.mark.slow  # TransNetV2 on CPU: about 10-15 s on two cores, most of it loading and the first windows
def test_variable_frame_rate_shots_follow_timestamps(shared_data, tmp_path):
    """With TransNetV2 (four real shots): shot start_s/end_s are the decoded times of their boundary frames."""
    frames, durations, truth = vfr_video(shared_data, tmp_path / "vfr.mp4")
    out = tmp_path / "out"
    summary = run_stage(KeyframesStage(KeyframesConfig(every_s=1.0)), tmp_path / "vfr.mp4", out, progress=False)
    assert (summary.done, summary.failed, summary.quarantined) == (1, 0, 0)
    shots = json.loads((out / "shots" / "vfr.json").read_text())
    assert shots["num_frames"] == len(frames) == 120
    spans = shots["shots"]
    assert len(spans) == 4 and spans[0]["start_frame"] == 0 and spans[-1]["end_frame"] == 119
    assert all(a["end_frame"] + 1 == b["start_frame"] for a, b in zip(spans, spans[1:]))
    assert all(abs(s["start_frame"] - cut) <= 2 for s, cut in zip(spans, (0, 30, 60, 90)))
    for shot in spans:
        assert shot["start_s"] == pytest.approx(truth[shot["start_frame"]], abs=1e-6)
        if shot["end_frame"] + 1 < len(truth):
            assert shot["end_s"] == pytest.approx(truth[shot["end_frame"] + 1], abs=1e-6)
    assert truth[-1] < spans[-1]["end_s"] <= truth[-1] + max(durations) + 1e-6
    # one keyframe per second of real time: each shot lasts about 2.1 s (30 frames would be 1.2 s at 25 fps)
    assert [len(s["keyframes"]) for s in spans] == [2, 2, 2, 2]
    records = check_vfr_keyframes(out, frames, truth)
    assert [r["frame_index"] for r in records] == [k for s in spans for k in s["keyframes"]]
    for record in records:
        shot = spans[record["shot_index"]]
        assert shot["start_frame"] <= record["frame_index"] <= shot["end_frame"]
        assert shot["start_s"] <= record["time_s"] < shot["end_s"]
