"""The per-video shots file follows ``schema/shots.schema.json``: checked when written and when read."""

from __future__ import annotations

import json

import pytest
from factories import shots_file_record

from builder.shots_file import ShotsFileError, read_shots_file, shots_file, write_shots_file


def test_written_and_read_back(tmp_path):
    data = shots_file_record("ep01", shots=3)
    path = write_shots_file(tmp_path, data)
    assert path == shots_file(tmp_path, "ep01") == tmp_path / "shots" / "ep01.json"
    assert read_shots_file(path) == data


@pytest.mark.parametrize("change", [
    {"shots": []},  # a video has at least one shot
    {"root": None},  # the root is kept beside the relative path
    {"schema_version": "0.9"},
    {"extra": 1},
])
def test_invalid_files_are_refused_both_ways(tmp_path, change):
    data = {**shots_file_record("ep01"), **change}
    with pytest.raises(ShotsFileError, match="not a valid shots file"):
        write_shots_file(tmp_path, data)
    assert not shots_file(tmp_path, "ep01").exists()
    (tmp_path / "shots").mkdir(exist_ok=True)
    shots_file(tmp_path, "ep01").write_text(json.dumps(data))
    with pytest.raises(ShotsFileError, match="ep01.json"):
        read_shots_file(shots_file(tmp_path, "ep01"))


def test_unreadable_file(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ShotsFileError, match="unreadable shots file"):
        read_shots_file(tmp_path / "x.json")
