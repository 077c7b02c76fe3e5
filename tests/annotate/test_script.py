"""The script stage end to end: on real pieces joined as a drama cuts (every shot in exactly one script with its
real duration, scenes changing where the source does), on shots synthesised with known camera moves, without
its source video, and on the music video after calibrate (characters, layout, ``load_dataset``)."""

from __future__ import annotations

import shutil

import datasets
import numpy as np
import pytest
from videos import ORDER, moving_window, read_frames, write_video

from annotate.config import ConfigError
from annotate.keyframes import KeyframesConfig, KeyframesStage
from annotate.runner import run_stage
from annotate.script import ScriptConfig, ScriptStage
from builder.fountain import export_fountain
from builder.publish import publish
from builder.script_text import render_script
from builder.shards import iter_shard, shard_paths
from builder.video_files import SHOTS_FILE

PIECE = 40


def records(folder, kind: str) -> list[dict]:
    return [s.record for p in shard_paths(folder) for s in iter_shard(p) if s.kind == kind]


def shot_of_frame(shots_file: dict, frame: int) -> int:
    return next(s["index"] for s in shots_file["shots"] if s["start_frame"] <= frame <= s["end_frame"])


def run_chain(video, folder, **settings):
    """The keyframes stage, then the script stage; returns the script stage's OUT."""
    run_stage(KeyframesStage(KeyframesConfig(every_s=1.0)), video, folder / "keyframes", progress=False)
    run_stage(ScriptStage(ScriptConfig(**settings)), folder / "keyframes", folder / "script", progress=False)
    return folder / "script"


@pytest.fixture(scope="module")
def joined_script(joined_keyframes, tmp_path_factory):
    """The script stage on the joined video's keyframes (a keyframe a second; ``conftest.joined_keyframes``)."""
    video, keyframes = joined_keyframes
    assert video.frames == len(ORDER) * PIECE
    out = tmp_path_factory.mktemp("joined-script") / "script"
    run_stage(ScriptStage(ScriptConfig()), keyframes, out, progress=False)
    return video, out


def test_every_shot_is_in_exactly_one_script_with_its_real_duration(joined_script):
    _, out = joined_script
    shots_file = SHOTS_FILE.read(out / "shots" / "joined.json")
    scripts = sorted(records(out, "shooting_script"), key=lambda r: r["scene"]["number"])
    assert [r["scene"]["number"] for r in scripts] == list(range(1, len(scripts) + 1))
    placed = [shot["shot_index"] for r in scripts for shot in r["shots"]]
    assert placed == [s["index"] for s in shots_file["shots"]]  # each once, in order, none left out
    spans = {s["index"]: s for s in shots_file["shots"]}
    for record in scripts:
        assert [s["number"] for s in record["shots"]] == list(range(1, len(record["shots"]) + 1))
        assert record["text"] == render_script(record)
        for shot in record["shots"]:
            span = spans[shot["shot_index"]]
            assert shot["duration_s"] == pytest.approx((span["end_frame"] - span["start_frame"] + 1) / 25, abs=1e-3)
            assert shot["camera_movement"] is not None and shot["camera_position"] is not None
            # the keyframes of the shot, and only they (a frame's key ends with its frame index)
            assert sorted(int(k.rsplit("_", 1)[1]) for k in shot["frame_keys"]) == span["keyframes"]
        assert record["scene"]["start_s"] == record["shots"][0]["start_s"]
    frames = records(out, "frame")
    assert len(frames) == sum(len(s["keyframes"]) for s in shots_file["shots"])  # frames pass through


def test_scenes_change_where_the_source_does(joined_script):
    video, out = joined_script
    shots_file = SHOTS_FILE.read(out / "shots" / "joined.json")
    scene_of = {shot["shot_index"]: r["scene"]["number"] for r in records(out, "shooting_script")
                for shot in r["shots"]}
    piece_scene = [scene_of[shot_of_frame(shots_file, k * PIECE + PIECE // 2)] for k in range(len(ORDER))]
    sources = ["bbb" if name == "bbb" else "music" for name, _ in ORDER]
    changes = [k for k in range(1, len(ORDER)) if sources[k] != sources[k - 1]]
    assert changes and all(piece_scene[k] != piece_scene[k - 1] for k in changes)
    assert piece_scene == sorted(piece_scene)  # scenes are consecutive
    assert len(set(piece_scene)) < len(ORDER)  # set-ups of one place stay together: not a scene per shot


@pytest.fixture(scope="module")
def moves(shared_data, repo, tmp_path_factory):
    """A clip of four shots: a still, a pan right, a still elsewhere, a zoom in (real frames; moves known)."""
    import av

    folder = tmp_path_factory.mktemp("moves")
    with av.open(str(repo / "samples" / "bigbuckbunny.mp4")) as container:
        bunny = [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i in (60, 100)]
    n = 30
    still_a = read_frames(shared_data / "transnetv2-test.mp4", 3100, 3100, (320, 180)) * n
    pan = moving_window(bunny[0], [(480 + 6 * k, 360, 640) for k in range(n)])
    still_b = read_frames(shared_data / "transnetv2-test.mp4", 1240, 1240, (320, 180)) * n
    zoom = moving_window(bunny[1], [(640, 360, 800 * 0.985 ** k) for k in range(n)])
    path = write_video(folder / "moves.mp4", still_a + pan + still_b + zoom)
    return path, n, ["static", "pan_right", "static", "zoom_in"]


def test_known_camera_moves_are_measured(moves, tmp_path):
    path, n, truth = moves
    out = run_chain(path, tmp_path)
    shots_file = SHOTS_FILE.read(out / "shots" / "moves.json")
    by_index = {shot["shot_index"]: shot for r in records(out, "shooting_script") for shot in r["shots"]}
    measured = [by_index[shot_of_frame(shots_file, k * n + n // 2)]["camera_movement"] for k in range(len(truth))]
    assert [m["kind"] for m in measured] == truth
    pan = measured[1]
    assert pan["pan"] == pytest.approx(-6 / 640 * 25, rel=0.1)  # frame widths per second, content leftwards
    assert measured[3]["zoom"] == pytest.approx(-np.log(0.985) * 25, rel=0.1)
    stats = (out / "script.stats.json").read_text()
    assert '"camera_pan_right": 1' in stats and '"camera_zoom_in": 1' in stats


def test_without_its_source_the_movement_is_null_and_counted(moves, tmp_path):
    path, _, _ = moves
    copy = shutil.copy(path, tmp_path / "gone.mp4")
    run_stage(KeyframesStage(KeyframesConfig(every_s=1.0)), copy, tmp_path / "keyframes", progress=False)
    (tmp_path / "gone.mp4").unlink()
    summary = run_stage(ScriptStage(ScriptConfig()), tmp_path / "keyframes", tmp_path / "script", progress=False)
    assert summary.done == 1 and summary.counts["camera_not_measured_source_missing"] == 1
    scripts = records(tmp_path / "script", "shooting_script")
    assert scripts and all(s["camera_movement"] is None and s["camera_position"] is None
                           for r in scripts for s in r["shots"])
    assert all(r["method"]["camera_movement"]["measured"] is False for r in scripts)
    assert all(s["duration_s"] > 0 for r in scripts for s in r["shots"])  # the rest is still there
    # --strict: a script it could only partly make fails the task instead
    strict = run_stage(ScriptStage(ScriptConfig(), strict=True), tmp_path / "keyframes", tmp_path / "strict",
                       progress=False)
    assert strict.failed == 1 and "source_missing" in (tmp_path / "strict" / "quarantine.jsonl").read_text()


@pytest.mark.parametrize("setting, value", [("horizontal_fov_deg", 180.0), ("max_speed_cm_s", 0.0),
                                            ("motion_max_samples", -1)])
def test_impossible_settings_are_refused(setting, value):
    with pytest.raises(ConfigError, match=setting):
        ScriptStage(ScriptConfig(**{setting: value})).setup(None)


def test_characters_and_layout_on_the_music_video(music_script):
    scripts = records(music_script, "shooting_script")
    shots = [shot for r in scripts for shot in r["shots"]]
    assert len(shots) == len(SHOTS_FILE.read(music_script / "shots" / "transnetv2-test.json")["shots"])
    with_people = [s for s in shots if s["characters"]]
    assert with_people and all(c["person_id"].startswith("C") and c["name"] for s in with_people
                               for c in s["characters"])
    assert all(s["shot_size_source"] == "face" for s in with_people)  # no model described these frames
    assert {s["layout"]["status"] for s in shots if s["layout"]} >= {"fitted", "too_few_points"}
    fitted = [s["layout"] for s in shots if s["layout"] and s["layout"]["status"] == "fitted"]
    assert all(len(f["projection"]) == 3 and f["rms_error_px"] >= 0 and f["correspondences"] >= 6 for f in fitted)
    # every person with a face got a place, and no character moves faster than the rule allows within a shot
    frames = records(music_script, "frame")
    people = [p for f in frames for p in f["people"] if p["face"] and p["face"]["bbox"]]
    assert people and all(p["location_3d"] and p["location_3d"][2] > 0 for p in people)
    track: dict = {}
    for f in sorted(frames, key=lambda f: f["time_s"]):
        for p in f["people"]:
            if p["person_id"] and p["location_3d"]:
                key = (f["shot_index"], p["person_id"])
                if key in track:
                    t0, point = track[key]
                    step = np.linalg.norm(np.subtract(p["location_3d"], point))
                    assert step <= 500.0 * (f["time_s"] - t0) + 0.2, (key, step)
                track[key] = (f["time_s"], p["location_3d"])
    # each shot's character location is where its frames put that character
    located = [(s, c) for s in with_people for c in s["characters"] if c["location_3d"]]
    assert located
    for shot, character in located[:20]:
        places = [p["location_3d"] for f in frames if f["shot_index"] == shot["shot_index"] for p in f["people"]
                  if p["person_id"] == character["person_id"]]
        assert character["location_3d"] == pytest.approx(np.median(places, axis=0), abs=0.11)


def test_published_scripts_load_and_export(music_script, tmp_path, monkeypatch):
    dataset_dir = tmp_path / "skyscript-100m"
    report = publish(music_script, dataset_dir)
    scripts = records(music_script, "shooting_script")
    assert report.counts["shooting_scripts"] == len(scripts)
    monkeypatch.chdir(tmp_path)
    rows = list(datasets.load_dataset(dataset_dir.name, "shooting_scripts", split="train"))
    assert sorted(r["json"]["script_id"] for r in rows) == sorted(r["script_id"] for r in scripts)
    row = rows[0]["json"]
    assert row["text"] == render_script(row) and row["shots"][0]["camera_movement"]["kind"]
    from jouvence.parser import JouvenceParser

    fountain = export_fountain(dataset_dir, tmp_path / "music.fountain")
    document = JouvenceParser().parseString(fountain.read_text(encoding="utf-8"))
    headers = [s.header for s in document.scenes if s.header]
    assert len(headers) == len(scripts) and all(h.endswith(f"#{n}#") for n, h in enumerate(headers, 1))
