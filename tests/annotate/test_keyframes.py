"""The keyframes stage on real video: records, bad inputs quarantined, resume without duplicates."""

from __future__ import annotations

import json
import shutil

import av
import pytest

from annotate.keyframes import KeyframesConfig, KeyframesStage, main, scaled_size
from annotate.runner import run_stage
from builder.shards import iter_shard, shard_paths
from builder.validation import check_sample


@pytest.fixture()
def clip(repo):
    return repo / "samples" / "bigbuckbunny.mp4"


def quarantine(out) -> list[dict]:
    path = out / "quarantine.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_interval_keyframes_from_the_bundled_clip(clip, tmp_path):
    summary = run_stage(KeyframesStage(KeyframesConfig(interval_s=1.0, max_side=640)), clip, tmp_path / "out",
                        progress=False)
    assert (summary.done, summary.failed, summary.written, summary.quarantined) == (1, 0, 6, 0)
    [shard] = shard_paths(tmp_path / "out")
    assert shard.name == "keyframes-bigbuckbunny-000000.tar"
    samples = list(iter_shard(shard))
    assert [s.record["frame_index"] for s in samples] == [0, 25, 50, 75, 100, 125]  # 25 fps, one per second
    assert [s.record["timestamp"] for s in samples][:2] == ["00:00:00:000", "00:00:01:000"]
    for sample in samples:
        assert check_sample(sample) == []
        record = sample.record
        assert (record["width"], record["height"]) == (640, 360)
        assert record["source"] == {"path": "bigbuckbunny.mp4", "width": 1280, "height": 720, "fps": 25.0}
        assert sample.key == f"bigbuckbunny_0000_{record['frame_index']:07d}"
    stats = json.loads((tmp_path / "out" / "keyframes.stats.json").read_text())
    assert stats["counts"]["frames_decoded"] == 132 and stats["written"] == 6


def test_music_video_times_follow_timestamps(shared_data, tmp_path):
    run_stage(KeyframesStage(KeyframesConfig(interval_s=30.0)), shared_data / "transnetv2-test.mp4",
              tmp_path / "out", progress=False)
    records = [s.record for p in shard_paths(tmp_path / "out") for s in iter_shard(p)]
    assert [r["frame_index"] for r in records] == [0, 750, 1500, 2250, 3000, 3750, 4500, 5250]
    assert records[1]["time_s"] == pytest.approx(30.0) and records[1]["timestamp"] == "00:00:30:000"
    assert (records[0]["width"], records[0]["height"]) == (160, 90)


def audio_only(source, target) -> None:
    with av.open(str(source)) as src, av.open(str(target), "w") as out:
        stream = out.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)


def test_bad_inputs_are_quarantined_and_the_rest_goes_on(clip, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(clip, videos / "good.mp4")
    (videos / "empty.mp4").write_bytes(b"")
    (videos / "notes.mkv").write_text("not a video at all")
    (videos / "cut.mp4").write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    audio_only(clip, videos / "voice.mp4")
    code = main([str(videos), str(tmp_path / "out"), "--set", "interval_s=2", "--no-progress"])
    assert code == 0
    reasons = {q["key"]: q["reason"] for q in quarantine(tmp_path / "out")}
    assert reasons == {"empty": "empty", "notes": "unreadable", "cut": "unreadable", "voice": "no_video_stream"}
    assert len([s for p in shard_paths(tmp_path / "out") for s in iter_shard(p)]) == 3
    stats = json.loads((tmp_path / "out" / "keyframes.stats.json").read_text())
    assert stats["tasks"] == 5 and stats["done"] == 5 and stats["quarantined"] == 4  # every input counted
    assert main([str(videos), str(tmp_path / "out"), "--strict", "--no-progress"]) == 1


def test_rerun_resumes_without_duplicates(clip, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a", "b"):
        shutil.copy(clip, videos / f"{name}.mp4")
    (videos / "empty.mp4").write_bytes(b"")
    out = tmp_path / "out"
    assert main([str(videos), str(out), "--no-progress"]) == 0
    first = {p.name: p.read_bytes() for p in shard_paths(out)}
    # simulate a run killed while writing b: its marker and shard gone, a stale .tmp left behind
    (out / "_tasks" / "b.json").unlink()
    (out / "keyframes-b-000000.tar").rename(out / "keyframes-b-000000.tar.tmp")
    assert main([str(videos), str(out), "--no-progress"]) == 0
    assert {p.name: p.read_bytes() for p in shard_paths(out)} == first
    assert not list(out.glob("*.tmp"))
    assert [q["key"] for q in quarantine(out)] == ["empty"]


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main([str(tmp_path / "missing.mp4"), str(tmp_path / "out")]) == 2
    assert main([str(tmp_path), str(tmp_path / "out"), "--set", "interval=3"]) == 2
    assert "unknown keyframes setting(s) ['interval']" in capsys.readouterr().err


def test_scaled_size_never_upscales():
    assert scaled_size(1280, 720, 640) == (640, 360)
    assert scaled_size(160, 90, 1280) == (160, 90)
    assert scaled_size(720, 1280, 1000) == (562, 1000)
