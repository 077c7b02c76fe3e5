"""The shard writer: validated, quarantined, atomic, deterministic; and the reader."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from factories import frame_sample, jpeg_bytes, shooting_script_record

from builder.sample import Sample
from builder.shards import (Quarantine, ShardError, ShardWriter, iter_shard, merge_quarantine, remove_partial,
                            shard_paths, stats_path)


def write(folder: Path, samples, max_count: int = 1000) -> ShardWriter:
    with ShardWriter(folder, "test", Quarantine(folder / "quarantine.jsonl", "test"), max_count=max_count) as w:
        for sample in samples:
            w.write(sample)
    return w


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_keeps_record_and_members(tmp_path):
    samples = [frame_sample(i) for i in range(5)]
    samples[2].members["raw.jpg"] = jpeg_bytes(96, 54, seed=99)
    write(tmp_path, samples)
    [shard] = shard_paths(tmp_path)
    read = list(iter_shard(shard))
    assert [s.key for s in read] == [s.key for s in samples]
    assert [s.record for s in read] == [s.record for s in samples]
    assert read[2].members == samples[2].members
    assert set(read[0].members) == {"jpg"}


def test_invalid_record_is_quarantined_with_path_and_the_rest_is_written(tmp_path):
    samples = [frame_sample(i) for i in range(4)]
    samples[1].record["people"][0]["attractiveness"] = 9
    samples[3].members["extra.txt"] = b"stray"
    writer = write(tmp_path, samples)
    lines = [json.loads(l) for l in (tmp_path / "quarantine.jsonl").read_text().splitlines()]
    assert [(l["key"], l["reason"], l["path"]) for l in lines] == [
        (samples[1].key, "schema", "$.people[0].attractiveness"),
        (samples[3].key, "member", "extra.txt"),
    ]
    assert "greater than the maximum of 5" in lines[0]["detail"]
    [shard] = shard_paths(tmp_path)
    assert [s.key for s in iter_shard(shard)] == [samples[0].key, samples[2].key]
    stats = json.loads(stats_path(shard).read_text())
    assert stats["written"] == 2 and stats["quarantined"] == {"member": 1, "schema": 1}
    assert stats["bytes"] > 0 and stats["seconds"] >= 0 and stats["kinds"] == {"frame": 2}
    assert writer.totals.written == 2


def test_bad_keys_images_and_duplicates_are_quarantined(tmp_path):
    dotted = frame_sample(0)
    dotted.key = "a.b"
    broken = frame_sample(1)
    broken.members["jpg"] = b"\xff\xd8 not a jpeg"
    resized = frame_sample(2)
    resized.record["width"] = 100
    first, again = frame_sample(3), frame_sample(3)
    write(tmp_path, [dotted, broken, resized, first, again])
    reasons = [(l["key"], l["reason"]) for l in map(json.loads, (tmp_path / "quarantine.jsonl").read_text().splitlines())]
    assert reasons == [("a.b", "key"), (broken.key, "image"), (resized.key, "image"), (first.key, "key")]
    assert [s.key for s in iter_shard(shard_paths(tmp_path)[0])] == [first.key]


def test_rollover_and_names(tmp_path):
    writer = write(tmp_path, [frame_sample(i) for i in range(7)], max_count=3)
    assert [p.name for p in shard_paths(tmp_path)] == ["test-000000.tar", "test-000001.tar", "test-000002.tar"]
    assert [json.loads(stats_path(p).read_text())["written"] for p in shard_paths(tmp_path)] == [3, 3, 1]
    assert writer.shards == shard_paths(tmp_path)
    assert not list(tmp_path.glob("*.tmp"))


def test_rerun_gives_byte_identical_shards(tmp_path):
    samples = [frame_sample(i) for i in range(6)] + [Sample("script0", shooting_script_record(0))]
    write(tmp_path / "a", samples, max_count=4)
    write(tmp_path / "b", samples, max_count=4)
    a, b = shard_paths(tmp_path / "a"), shard_paths(tmp_path / "b")
    assert len(a) == 2 and [sha(p) for p in a] == [sha(p) for p in b]


def test_exception_in_writer_leaves_no_final_shard(tmp_path):
    with pytest.raises(RuntimeError):
        with ShardWriter(tmp_path, "test", Quarantine(tmp_path / "q.jsonl", "test"), max_count=2) as w:
            for i in range(3):
                w.write(frame_sample(i))
            raise RuntimeError("crash")
    assert [p.name for p in shard_paths(tmp_path)] == ["test-000000.tar"]  # the complete one survives
    assert not list(tmp_path.glob("*.tmp"))


def test_killed_process_leaves_only_tmp(tmp_path, repo):
    """SIGKILL in the middle of a shard: no .tar under the final name, the finished shard intact."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path[:0] = [{str(repo)!r}, {str(repo / 'tests')!r}]
        from factories import frame_sample
        from builder.shards import Quarantine, ShardWriter
        w = ShardWriter({str(tmp_path)!r}, "test", Quarantine(__import__("pathlib").Path({str(tmp_path / 'q.jsonl')!r}), "t"), max_count=3)
        for i in range(5):
            w.write(frame_sample(i))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script])
    assert result.returncode == -signal.SIGKILL
    assert [p.name for p in shard_paths(tmp_path)] == ["test-000000.tar"]
    assert len(list(iter_shard(tmp_path / "test-000000.tar"))) == 3
    assert [p.name for p in tmp_path.glob("*.tmp")] == ["test-000001.tar.tmp"]
    assert [p.name for p in remove_partial(tmp_path)] == ["test-000001.tar.tmp"]
    assert not list(tmp_path.glob("*.tmp"))


def test_truncated_and_garbage_shards_name_the_shard(tmp_path):
    write(tmp_path, [frame_sample(i) for i in range(3)])
    [shard] = shard_paths(tmp_path)
    data = shard.read_bytes()
    for name, content in {"cut-header.tar": data[:3072], "cut-member.tar": data[:1700], "garbage.tar": b"x" * 10,
                          "empty.tar": b""}.items():
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(ShardError, match=name):
            list(iter_shard(bad))


def test_merge_quarantine_adds_no_duplicates(tmp_path):
    part_a, part_b, target = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "quarantine.jsonl"
    Quarantine(part_a, "s").add("k1", "decode", "boom")
    Quarantine(part_b, "s").add("k2", "empty", "zero bytes")
    assert merge_quarantine([part_a, part_b], target) == 2
    Quarantine(part_a, "s").add("k1", "decode", "boom")  # the same item again on a rerun
    assert merge_quarantine([part_a, part_b], target) == 2
    assert [json.loads(l)["key"] for l in target.read_text().splitlines()] == ["k1", "k2"]
