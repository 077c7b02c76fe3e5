"""``accelerate launch --multi_gpu --num_processes 2``: disjoint videos per process, the same shards as one."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from videos import read_frames, write_video

from annotate.highlight import HighlightConfig, HighlightStage
from annotate.runner import run_stage
from builder.shards import shard_paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_split_the_videos_and_match_one(shared_data, tmp_path, repo):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i, start in enumerate((459, 1204, 3386, 4037, 3532)):
        write_video(videos / f"v{i}.mp4", read_frames(shared_data / "transnetv2-test.mp4", start, start + 50))
    accelerate = Path(sys.executable).with_name("accelerate")
    launched = subprocess.run(
        [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--main_process_port", str(free_port()),
         "-m", "annotate.keyframes", str(videos), str(tmp_path / "two"), "--no-progress"],
        cwd=repo, capture_output=True, text=True, timeout=300)
    assert launched.returncode == 0, launched.stderr[-3000:]
    single = subprocess.run([sys.executable, "-m", "annotate.keyframes", str(videos), str(tmp_path / "one"),
                             "--no-progress"], cwd=repo, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]

    markers = [json.loads(p.read_text()) for p in sorted((tmp_path / "two" / "_tasks").glob("*.json"))]
    by_process = {m["process"] for m in markers}
    assert by_process == {0, 1}, "both processes must get work"
    assert sorted(m["task"] for m in markers) == [f"v{i}" for i in range(5)]  # each video exactly once
    two = {p.name: p.read_bytes() for p in shard_paths(tmp_path / "two")}
    one = {p.name: p.read_bytes() for p in shard_paths(tmp_path / "one")}
    assert len(one) == 5 and two == one
    stats = json.loads((tmp_path / "two" / "keyframes.stats.json").read_text())
    assert stats["tasks"] == 5 and stats["done"] == 5

    # a per-video stage after it (its plots included) comes out the same from two processes as from one
    launched = subprocess.run(
        [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--main_process_port", str(free_port()),
         "-m", "annotate.highlight", str(tmp_path / "two"), str(tmp_path / "highlight-two"), "--no-progress"],
        cwd=repo, capture_output=True, text=True, timeout=300)
    assert launched.returncode == 0, launched.stderr[-3000:]
    run_stage(HighlightStage(HighlightConfig()), tmp_path / "one", tmp_path / "highlight-one", progress=False)
    two = {p.name: p.read_bytes() for p in shard_paths(tmp_path / "highlight-two")}
    one = {p.name: p.read_bytes() for p in shard_paths(tmp_path / "highlight-one")}
    assert len(one) == 5 and two == one
    assert {json.loads(p.read_text())["process"] for p in (tmp_path / "highlight-two" / "_tasks").glob("*.json")} \
        == {0, 1}
    plots = sorted(p.name for p in (tmp_path / "highlight-two" / "plots").glob("*.png"))
    assert plots == [f"v{i}.png" for i in range(5)]
