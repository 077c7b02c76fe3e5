"""``skyscript export fountain``: a video's shooting scripts as a screenplay that a Fountain parser from the
package index (jouvence) reads back with every scene, character and line."""

from __future__ import annotations

from factories import shooting_script_record

from builder.cli import main
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter


def scripts(videos: dict[str, list[int]]) -> list[dict]:
    """Factory shooting scripts ``i`` of each video (scene number ``i``)."""
    return [{**shooting_script_record(i), "video_id": video, "script_id": f"{video}_{i:04d}"}
            for video, indices in videos.items() for i in indices]


def write_scripts(folder, records: list[dict]) -> None:
    with ShardWriter(folder, "script-x", Quarantine(folder / "q.jsonl", "t")) as writer:
        for record in records:
            assert writer.write(Sample(record["script_id"], record))


def test_every_scene_character_and_line_comes_back(tmp_path):
    from jouvence.document import TYPE_CHARACTER, TYPE_DIALOG
    from jouvence.parser import JouvenceParser

    records = scripts({"ep01": [2, 0, 1]})
    records[2]["shots"][0]["dialogue"].append({"speaker": None, "line": "Who said that?", "start_s": None,
                                               "end_s": None})
    write_scripts(tmp_path / "script", records)
    out = tmp_path / "ep01.fountain"
    assert main(["export", "fountain", str(tmp_path / "script"), str(out)]) == 0
    document = JouvenceParser().parseString(out.read_text(encoding="utf-8"))
    scenes = [s for s in document.scenes if s.header]
    ordered = sorted(records, key=lambda r: r["scene"]["number"])
    assert len(scenes) == len(records)
    for scene, record in zip(scenes, ordered):
        place, time = record["scene"]["location"].upper(), record["scene"]["time_of_day"].upper()
        assert scene.header == f"{record['scene']['int_ext']}. {place} - {time} #{record['scene']['number']}#"
        cues = [p.text for p in scene.paragraphs if p.type == TYPE_CHARACTER]
        lines = [p.text for p in scene.paragraphs if p.type == TYPE_DIALOG]
        said = [d for shot in record["shots"] for d in shot["dialogue"]]
        assert cues == [(d["speaker"] or "unknown").upper() for d in said] and lines == [d["line"] for d in said]
        text = "\n".join(p.text for p in scene.paragraphs)
        assert all(f"SHOT {shot['number']}" in text and shot["action"] in text for shot in record["shots"])
    assert document.title_values["title"] == "ep01"


def test_no_scripts_or_several_videos_are_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["export", "fountain", str(tmp_path / "empty"), str(tmp_path / "x.fountain")]) == 1
    assert "no shooting scripts" in capsys.readouterr().err
    write_scripts(tmp_path / "two", scripts({"ep01": [0], "ep02": [1]}))
    assert main(["export", "fountain", str(tmp_path / "two"), str(tmp_path / "x.fountain")]) == 1
    assert "--video" in capsys.readouterr().err and not (tmp_path / "x.fountain").exists()
    assert main(["export", "fountain", str(tmp_path / "two"), str(tmp_path / "x.fountain"), "--video", "ep02"]) == 0
    assert "#1#" in (tmp_path / "x.fountain").read_text()
