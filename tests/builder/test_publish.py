"""``skyscript publish`` and ``load_dataset`` on the folder it builds: all four configs, typed, unchanged."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import datasets
import pytest
from factories import (frame_sample, highlight_curve_sample, jpeg_bytes, pair_record, script_key,
                       shooting_script_record)

from builder.contract import CONFIG_OF_KIND
from builder.features import row_features
from builder.publish import PublishError, publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, shard_paths

N_FRAMES = 12


def stage_samples() -> list[Sample]:
    """Every kind; frames carry a working ``raw.jpg``; fields null in the first samples are set later."""
    frames = [frame_sample(i) for i in range(N_FRAMES)]
    for sample in frames[:8]:
        sample.record.update(description=None, bgm=None, episode=None)
        for person in sample.record["people"]:
            person.update(vad=None, face=None, attractiveness=None)
        sample.members["raw.jpg"] = jpeg_bytes(96, 54, seed=1000)
    return [
        *frames,
        *(Sample(script_key(i), shooting_script_record(i)) for i in range(3)),
        *(highlight_curve_sample(i) for i in range(2)),
        *(Sample(f"pair{i}", pair_record(i)) for i in range(4)),
    ]


def write_stage(folder: Path, samples: list[Sample], max_count: int = 5) -> None:
    with ShardWriter(folder, "stage", Quarantine(folder / "quarantine.jsonl", "test"), max_count=max_count) as w:
        for sample in samples:
            assert w.write(sample)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> tuple[Path, list[Sample]]:
    root = tmp_path_factory.mktemp("publish")
    samples = stage_samples()
    write_stage(root / "stage", samples)
    report = publish(root / "stage", root / "skyscript-100m", max_count=7, progress=False)
    assert report.counts == {"frames": N_FRAMES, "shooting_scripts": 3, "highlight_curves": 2, "pairs": 4}
    return root / "skyscript-100m", samples


def expected(samples: list[Sample], kind: str) -> dict[str, dict]:
    return {s.key: s.record for s in samples if s.kind == kind}


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
@pytest.mark.parametrize("config", list(CONFIG_OF_KIND.values()))
def test_load_dataset_returns_typed_unchanged_rows(published, config, streaming, monkeypatch):
    folder, samples = published
    monkeypatch.chdir(folder.parent)
    dataset = datasets.load_dataset(folder.name, config, split="train", streaming=streaming)
    assert dataset.features == row_features(config)
    rows = list(dataset)
    kind = {v: k for k, v in CONFIG_OF_KIND.items()}[config]
    want = expected(samples, kind)
    assert [r["__key__"] for r in rows] == list(want)
    for row in rows:
        assert row["json"] == want[row["__key__"]], row["__key__"]
        assert row["__url__"].endswith(".tar")
        if config == "frames":
            assert row["jpg"].size == (row["json"]["width"], row["json"]["height"])
            assert set(row) == {"__key__", "__url__", "jpg", "json"}
        elif config == "highlight_curves":
            assert row["png"].format == "PNG" and row["png"].size == (120, 60)
            assert set(row) == {"__key__", "__url__", "png", "json"}
        else:
            assert set(row) == {"__key__", "__url__", "json"}


def test_value_null_in_first_samples_and_set_later_survives(published):
    folder, _ = published
    rows = list(datasets.load_dataset(str(folder), "frames", split="train", streaming=True))
    assert all(r["json"]["description"] is None for r in rows[:8])
    assert all(isinstance(r["json"]["description"], str) for r in rows[8:])
    late = rows[8]["json"]["people"][0]
    assert isinstance(late["attractiveness"], int) and isinstance(late["vad"]["valence"], float)
    assert isinstance(late["face"]["age"], float) and rows[8]["json"]["episode"] == 0


def test_folder_layout_drops_working_members(published):
    folder, _ = published
    assert sorted(p.name for p in folder.iterdir()) == sorted(["README.md", "pipeline.json", "provenance.json",
                                                                *CONFIG_OF_KIND.values()])
    frame_shards = shard_paths(folder / "frames")
    assert [p.name for p in frame_shards] == ["frames-000000.tar", "frames-000001.tar"]
    with tarfile.open(frame_shards[0]) as tar:
        names = tar.getnames()
    assert names and not [n for n in names if n.endswith("raw.jpg")]
    assert {n.split(".", 1)[1] for n in names} == {"jpg", "json"}
    assert not list(folder.parent.glob(".*publish-tmp"))


def test_republish_is_byte_identical(published, tmp_path):
    folder, samples = published
    write_stage(tmp_path / "stage", samples)
    again = publish(tmp_path / "stage", tmp_path / "skyscript-100m", max_count=7, progress=False)
    for shard in again.shards:
        twin = folder / shard.parent.name / shard.name
        assert hashlib.sha256(shard.read_bytes()).digest() == hashlib.sha256(twin.read_bytes()).digest()


def test_frame_without_jpg_is_refused_and_nothing_changes(tmp_path):
    good = [frame_sample(i) for i in range(3)]
    write_stage(tmp_path / "stage1", good)
    publish(tmp_path / "stage1", tmp_path / "ds", progress=False)
    before = {p: p.read_bytes() for p in (tmp_path / "ds").rglob("*") if p.is_file()}
    working_only = frame_sample(5)
    working_only.members = {"raw.jpg": working_only.members["jpg"]}
    write_stage(tmp_path / "stage2", [frame_sample(4), working_only])
    with pytest.raises(PublishError, match=f"{working_only.key}.*missing member 'jpg'"):
        publish(tmp_path / "stage2", tmp_path / "ds", progress=False)
    assert {p: p.read_bytes() for p in (tmp_path / "ds").rglob("*") if p.is_file()} == before
    assert not list(tmp_path.glob(".*publish-tmp"))


def test_empty_stage_folder_is_an_error(tmp_path):
    (tmp_path / "stage").mkdir()
    with pytest.raises(PublishError, match="no .tar shards"):
        publish(tmp_path / "stage", tmp_path / "ds", progress=False)
