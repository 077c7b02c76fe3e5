"""Per-video files (shots, characters) follow their schemas: checked when written and when read."""

from __future__ import annotations

import json

import pytest
from factories import characters_file_record, shots_file_record

from builder.video_files import CHARACTERS_FILE, SHOTS_FILE, VideoFileError


@pytest.mark.parametrize("kind,factory", [(SHOTS_FILE, shots_file_record), (CHARACTERS_FILE, characters_file_record)])
def test_written_and_read_back(tmp_path, kind, factory):
    data = factory("ep01")
    path = kind.write(tmp_path, data)
    assert path == kind.path(tmp_path, "ep01") == tmp_path / kind.folder / "ep01.json"
    assert kind.read(path) == data == kind.find(tmp_path, "ep01")
    assert kind.find(tmp_path, "ep02") is None


@pytest.mark.parametrize("change", [
    {"shots": []},  # a video has at least one shot
    {"root": None},  # the root is kept beside the relative path
    {"schema_version": "0.9"},
    {"extra": 1},
])
def test_invalid_shots_files_are_refused_both_ways(tmp_path, change):
    data = {**shots_file_record("ep01"), **change}
    with pytest.raises(VideoFileError, match="not a valid shots file"):
        SHOTS_FILE.write(tmp_path, data)
    assert not SHOTS_FILE.path(tmp_path, "ep01").exists()
    (tmp_path / "shots").mkdir(exist_ok=True)
    SHOTS_FILE.path(tmp_path, "ep01").write_text(json.dumps(data))
    with pytest.raises(VideoFileError, match="ep01.json"):
        SHOTS_FILE.read(SHOTS_FILE.path(tmp_path, "ep01"))


@pytest.mark.parametrize("change", [
    {"characters": [{"id": "X1"}]},  # ids are C01, C02, ...
    {"method": None},  # the clustering is always stated
])
def test_invalid_character_files_are_refused(tmp_path, change):
    with pytest.raises(VideoFileError, match="not a valid character file"):
        CHARACTERS_FILE.write(tmp_path, {**characters_file_record("ep01"), **change})


def test_unreadable_file(tmp_path):
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(VideoFileError, match="unreadable shots file"):
        SHOTS_FILE.read(tmp_path / "x.json")
