"""The builder class used directly (no README YAML): same rows and features as the dataset folder."""

from __future__ import annotations

import pytest
from factories import frame_sample, shooting_script_record

from builder.features import row_features
from builder.publish import publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter
from skyscript_100m import SkyScript100M


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("builder")
    with ShardWriter(root / "stage", "s", Quarantine(root / "q.jsonl", "t")) as w:
        for i in range(4):
            w.write(frame_sample(i))
        w.write(Sample("script0", shooting_script_record(0)))
    publish(root / "stage", root / "ds", progress=False)
    return root


def test_configs_and_features():
    assert [c.name for c in SkyScript100M.BUILDER_CONFIGS] == ["frames", "shooting_scripts", "highlight_curves",
                                                                "pairs"]
    for config in SkyScript100M.BUILDER_CONFIGS:
        assert SkyScript100M(config_name=config.name, data_dir=".").info.features == row_features(config.name)


def test_prepared_rows_match_published_records(folder):
    builder = SkyScript100M(config_name="frames", data_dir=str(folder / "ds"), cache_dir=str(folder / "cache"))
    builder.download_and_prepare()
    rows = builder.as_dataset(split="train")
    assert rows["__key__"] == [frame_sample(i).key for i in range(4)]
    assert rows[2]["json"] == frame_sample(2).record
    assert rows[0]["jpg"].size == (96, 54)
    streamed = list(SkyScript100M(config_name="shooting_scripts", data_dir=str(folder / "ds"))
                    .as_streaming_dataset(split="train"))
    assert [r["json"] for r in streamed] == [shooting_script_record(0)]


def test_wrong_kind_and_missing_data_are_errors(folder):
    frames_as_pairs = {"train": [str(p) for p in (folder / "ds" / "frames").glob("*.tar")]}
    builder = SkyScript100M(config_name="pairs", data_files=frames_as_pairs)
    with pytest.raises(ValueError, match="is a 'frame', not a 'pair'"):
        list(builder.as_streaming_dataset(split="train"))
    with pytest.raises(FileNotFoundError, match="no shards"):
        SkyScript100M(config_name="pairs", data_dir=str(folder / "ds")).as_streaming_dataset(split="train")
    with pytest.raises(ValueError, match="data_dir"):
        SkyScript100M(config_name="pairs").as_streaming_dataset(split="train")
