"""``skyscript validate``: counts per kind, first errors with shard, key and JSON path, exit status."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from factories import frame_sample, pair_record

from builder.cli import main
from builder.publish import publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, shard_paths


@pytest.fixture()
def stage(tmp_path):
    with ShardWriter(tmp_path / "stage", "s", Quarantine(tmp_path / "q.jsonl", "t"), max_count=3) as w:
        for i in range(5):
            w.write(frame_sample(i))
        w.write(Sample("pair0", pair_record(0)))
    return tmp_path / "stage"


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(["validate", *args])
    return code, capsys.readouterr().out


def add_raw_member(shard, key: str, name: str, data: bytes) -> None:
    """Append a member behind the writer's back (as a buggy tool would)."""
    with tarfile.open(shard, "a") as tar:
        info = tarfile.TarInfo(f"{key}.{name}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def test_valid_stage_and_dataset_folders(stage, tmp_path, capsys):
    code, out = run(capsys, str(stage))
    assert code == 0 and "frame: 5 valid" in out and "pair: 1 valid" in out and "invalid: 0" in out
    publish(stage, tmp_path / "ds", progress=False)
    code, out = run(capsys, str(tmp_path / "ds"), str(shard_paths(stage)[0]))
    assert code == 0 and "frame: 8 valid" in out


def test_invalid_record_names_shard_key_and_path(stage, capsys):
    shard = shard_paths(stage)[1]
    record = frame_sample(7).record
    record["people"][0]["vad"]["arousal"] = 0
    add_raw_member(shard, "bad_key", "json", json.dumps(record).encode())
    code, out = run(capsys, str(stage))
    assert code == 1
    assert f"{shard} bad_key: schema at $.people[0].vad.arousal: 0 is less than the minimum of 1" in out


def test_unknown_member_and_raw_jpg_in_dataset_folder(stage, tmp_path, capsys):
    add_raw_member(shard_paths(stage)[0], frame_sample(2).key, "mp3", b"ID3")  # the shard's last sample
    code, out = run(capsys, str(stage))
    assert code == 1 and "unknown member 'mp3'" in out
    add_raw_member(shard_paths(stage)[1], frame_sample(0).key, "jpg", b"x")  # not beside its json
    code, out = run(capsys, str(stage))
    assert "no json member" in out
    clean = tmp_path / "clean"
    with ShardWriter(clean, "s", Quarantine(tmp_path / "q2.jsonl", "t")) as w:
        w.write(frame_sample(1))
    publish(clean, tmp_path / "ds", progress=False)
    add_raw_member(shard_paths(tmp_path / "ds" / "frames")[0], frame_sample(1).key, "raw.jpg", b"x")
    code, out = run(capsys, str(tmp_path / "ds"))
    assert code == 1 and "unknown member 'raw.jpg'" in out


def test_truncated_shard_is_named(stage, capsys):
    shard = shard_paths(stage)[0]
    shard.write_bytes(shard.read_bytes()[:2000])
    code, out = run(capsys, str(stage))
    assert code == 1 and (f"{shard}: unreadable shard" in out or "truncated shard" in out)
    assert str(shard) in out


def test_jsonl_files(tmp_path, capsys):
    good = tmp_path / "records.jsonl"
    good.write_text(json.dumps({"__key__": "Case_1", "json": frame_sample(0).record}) + "\n")
    assert run(capsys, str(good))[0] == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"__key__": "Case_1", "json": {**frame_sample(0).record, "extra": 1}}) + "\n{oops\n")
    code, out = run(capsys, str(bad))
    assert code == 1 and "Additional properties are not allowed ('extra' was unexpected)" in out
    assert "line2" in out and "invalid: 2" in out


def test_nothing_to_check_is_a_failure(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert run(capsys, str(tmp_path / "empty"))[0] == 1
    assert run(capsys, str(tmp_path / "missing.tar"))[0] == 1
