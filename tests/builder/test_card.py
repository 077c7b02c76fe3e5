"""The dataset folder's README: YAML configs/dataset_info derived from the schemas, counts from stats."""

from __future__ import annotations

import json

import datasets
import pytest
import yaml
from factories import frame_sample, pair_record

from builder.card import render_card, write_card
from builder.cli import main
from builder.features import row_features
from builder.publish import publish
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, stats_path


@pytest.fixture()
def folder(tmp_path):
    with ShardWriter(tmp_path / "stage", "s", Quarantine(tmp_path / "q.jsonl", "t")) as w:
        for i in range(9):
            w.write(frame_sample(i))
        for i in range(2):
            w.write(Sample(f"pair{i}", pair_record(i)))
    publish(tmp_path / "stage", tmp_path / "skyscript-100m", max_count=4, progress=False)
    return tmp_path / "skyscript-100m"


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def test_yaml_lists_configs_with_data_and_their_features(folder):
    meta = front_matter((folder / "README.md").read_text())
    assert [c["config_name"] for c in meta["configs"]] == ["frames", "pairs"]
    assert meta["configs"][0]["default"] is True
    assert meta["configs"][1]["data_files"] == [{"split": "train", "path": "pairs/*.tar"}]
    for info in meta["dataset_info"]:
        assert datasets.Features._from_yaml_list(info["features"]) == row_features(info["config_name"])
    splits = {i["config_name"]: i["splits"][0] for i in meta["dataset_info"]}
    assert splits["frames"]["num_examples"] == 9 and splits["pairs"]["num_examples"] == 2
    total = sum(json.loads(p.read_text())["bytes"] for p in (folder / "frames").glob("*.stats.json"))
    assert splits["frames"]["num_bytes"] == total


def test_body_counts_come_from_stats(folder):
    text = (folder / "README.md").read_text()
    assert "| `frames` | 9 | 3 |" in text and "| `pairs` | 2 | 1 |" in text
    assert "| `shooting_scripts` | not built yet |" in text
    assert "${" not in text
    assert "| `attractiveness`" not in text and "| `people` | list of object |" in text
    # the stage summaries publish copied into pipeline.json become a table; `skyscript card` re-renders it
    assert "No stage summaries" in text
    summary = {"stage": "privacy", "position": 1, "done": 3, "failed": 0, "written": 9, "quarantined": 1,
               "counts": {"faces_on_keyframe": 17}}
    (folder / "pipeline.json").write_text(json.dumps([summary]))
    assert main(["card", str(folder)]) == 0
    text = (folder / "README.md").read_text()
    assert "| privacy | faces_on_keyframe | 17 |" in text and "| privacy | quarantined | 1 |" in text


def test_characters_and_face_decisions_are_counted(folder):
    assert "The calibrate stage did not run" in (folder / "README.md").read_text()
    summary = {"stage": "calibrate", "position": 4, "tasks": 2, "done": 2, "failed": 0, "written": 9,
               "quarantined": 0, "counts": {"characters": 5, "faces": 31, "conflicts_gender": 3, "tta_runs": 4,
                                            "adopted_face_gender": 29, "adopted_extraction_gender": 2,
                                            "vad_from_face": 20, "vad_from_extraction": 11}}
    (folder / "pipeline.json").write_text(json.dumps([summary]))
    assert main(["card", str(folder)]) == 0
    text = (folder / "README.md").read_text()
    assert "5 character(s) in 2 video(s), from 31 face(s)" in text
    assert "conflicts age 0, gender 3, emotion 0" in text and "ran 4 time(s)" in text
    assert "extraction's kept for age 0, gender 2, emotion 0" in text
    assert "from the face for 20 person(s), from the extraction for 11" in text


def test_shooting_scripts_are_summarised(folder):
    assert "The script stage did not run" in (folder / "README.md").read_text()
    summary = {"stage": "script", "position": 5, "tasks": 1, "done": 1, "failed": 0, "written": 40,
               "quarantined": 0, "counts": {"scripts": 3, "shots": 12, "camera_static": 7, "camera_pan_left": 5,
                                            "shot_size_from_face": 9, "shot_size_from_nothing": 3,
                                            "people_located": 14, "layout_fitted": 4, "layout_too_few_points": 2,
                                            "layout_speed_violations": 1}}
    (folder / "pipeline.json").write_text(json.dumps([summary]))
    assert main(["card", str(folder)]) == 0
    text = (folder / "README.md").read_text()
    assert "3 shooting script(s) (one per scene) from 12 shot(s) of 1 video(s)" in text
    assert "Camera movement measured: static 7, pan left 5; not measured" in text
    assert "0 from extraction, 9 from face, 3 from nothing" in text
    assert "fitted by the DLT for 4 shot(s), too few points for 2, all at one depth for 0; 1 position(s)" in text


def test_highlight_curves_are_summarised(folder):
    assert "The highlight stage did not run" in (folder / "README.md").read_text()
    summary = {"stage": "highlight", "position": 6, "tasks": 3, "done": 3, "failed": 0, "written": 50,
               "quarantined": 1, "counts": {"curves": 2, "peaks": 9, "curves_not_made_no_signals": 1,
                                            "shots_scored": 14, "shots_not_scored": 2,
                                            "curves_without_sound_no_audio_stream": 1,
                                            "curves_without_characters_no_vad": 2}}
    (folder / "pipeline.json").write_text(json.dumps([summary]))
    assert main(["card", str(folder)]) == 0
    text = (folder / "README.md").read_text()
    assert "2 curve(s) for 3 video(s) with 9 peak(s); 1 video(s) had nothing to make a curve from" in text
    assert "14 shot(s) scored, 2 not" in text
    assert "without characters (no_vad) 2; without sound (no_audio_stream) 1" in text


def test_dialogue_and_music_are_summarised(folder):
    assert "The dialogue stage did not run" in (folder / "README.md").read_text()
    summary = {"stage": "dialogue", "position": 5, "tasks": 2, "done": 2, "failed": 0, "written": 40,
               "quarantined": 0, "counts": {"lines_subtitle": 7, "lines_subtitle_and_speech": 5, "lines_speech": 2,
                                            "speech_turns_without_text": 3, "lines_assigned": 6,
                                            "lines_unassigned_no_person": 5, "lines_unassigned_several_people": 3,
                                            "bgm_music": 20, "bgm_no_music": 12, "bgm_null_no_audio_stream": 8}}
    (folder / "pipeline.json").write_text(json.dumps([summary]))
    assert main(["card", str(folder)]) == 0
    text = (folder / "README.md").read_text()
    assert "14 line(s) of dialogue in 2 video(s): 7 from subtitles alone, 5 from subtitles timed by speech, 2" in text
    assert "Speaker assigned to 6; unassigned: no person 5, several people 3." in text
    assert "Background music in 20 frame(s), none in 12; bgm null without an audio track in 8" in text


def test_restorations_are_summarised(folder):
    assert "The restore stage did not run" in (folder / "README.md").read_text()
    summary = {"stage": "restore", "position": 7, "tasks": 2, "done": 2, "failed": 0, "written": 300,
               "quarantined": 1, "counts": {"pairs": 180, "scripts": 3, "restoration_requests": 300,
                                            "restorations_dropped_near_duplicate": 70,
                                            "restorations_dropped_camera_vocabulary": 30,
                                            "restorations_dropped_lost_dialogue": 20, "scripts_without_pairs": 1}}
    (folder / "pipeline.json").write_text(json.dumps([summary]))
    assert main(["card", str(folder)]) == 0
    text = (folder / "README.md").read_text()
    assert "180 pair(s) from 3 shooting script(s) of 2 video(s); 300 request(s) to a model" in text
    assert "dropped: camera vocabulary 30; lost dialogue 20; near duplicate 70. 1 script(s) kept no" in text


def test_missing_stats_is_an_error(folder):
    stats_path(folder / "pairs" / "pairs-000000.tar").unlink()
    with pytest.raises(FileNotFoundError, match="pairs-000000.tar"):
        render_card(folder)


def test_load_dataset_uses_declared_types(folder):
    """Declared features win over inference: ints stay ints, nested structs keep every key."""
    dataset = datasets.load_dataset(str(folder), "frames", split="train")
    assert dataset.features["json"]["people"].feature["attractiveness"] == datasets.Value("int64")
    assert dataset.features["json"]["time_s"] == datasets.Value("float64")
    assert write_card(folder).name == "README.md"


def test_card_reads_as_the_hub_reads_it_and_checks_against_the_folder(folder):
    """huggingface_hub's DatasetCard/DatasetCardData read the card; a count or licence that disagrees fails."""
    from huggingface_hub import DatasetCard

    from builder.card import CardError, check_card

    metadata = check_card(folder)
    assert [c["config_name"] for c in metadata["configs"]] == ["frames", "pairs"]
    card = DatasetCard.load(folder / "README.md")
    assert card.data.license == "mit" and card.data.size_categories == ["n<1K"]
    readme = folder / "README.md"
    good = readme.read_text()
    readme.write_text(good.replace("num_examples: 9", "num_examples: 10"))
    with pytest.raises(CardError, match="config frames: dataset_info says 10 example.s., its shards' stats 9"):
        check_card(folder)
    readme.write_text(good.replace("license: mit\n", ""))
    with pytest.raises(CardError, match="no `license`"):
        check_card(folder)
    readme.write_text(good.replace("path: pairs/*.tar", "path: pairs/*.parquet"))
    with pytest.raises(CardError, match=r"config pairs: no file matches its data_files \['pairs/\*.parquet'\]"):
        check_card(folder)


@pytest.mark.parametrize("examples, category", [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"),
                                                (54_321, "10K<n<100K"), (1_000_000_000, "1B<n<10B")])
def test_size_category(examples, category):
    from builder.card import size_category

    assert size_category(examples) == category


def test_losses_beside_the_paper_and_reasons_by_stage(folder):
    pipeline = [
        {"stage": "keyframes", "position": 0, "tasks": 3, "done": 2, "failed": 1, "written": 96, "quarantined": 4,
         "quarantined_by_reason": {"no_acceptable_frame": 4}, "counts": {"keyframe_choices": 100,
                                                                         "keyframe_choices_without_acceptable_frame": 4}},
        {"stage": "privacy", "position": 1, "tasks": 2, "done": 2, "failed": 0, "written": 95, "quarantined": 1,
         "quarantined_by_reason": {"audit_failed": 1},
         "counts": {"frames": 95, "frames_repixelated": 3, "frames_passed_after_round_1": 2,
                    "frames_failed_every_round": 1, "frames_quarantined": 1}},
        {"stage": "repair", "position": 3, "tasks": 2, "done": 2, "failed": 0, "written": 93, "quarantined": 2,
         "quarantined_by_reason": {"lost": 2}, "counts": {"outcome_direct": 90, "outcome_repaired_local": 4,
                                                          "outcome_repaired_llm": 1, "outcome_lost": 2}},
    ]
    (folder / "pipeline.json").write_text(json.dumps(pipeline))
    text = render_card(folder)
    assert ("| keyframes dropped: no sharp, unoccluded frame in their part of the shot | 4 of 100 (4.0%) | "
            "5,441 of 139,534 (3.9%) |") in text
    assert "| model answers not readable as the JSON asked for (repaired or lost) | 7 of 97 (7.2%) | about 4% |" in text
    assert "| key information lost after repair (Table 6) | 2 of 97 (2.1%) |" in text
    for row in ("| keyframes | task failed (error) | 1 |", "| keyframes | no acceptable frame | 4 |",
                "| privacy | audit failed | 1 |", "| repair | lost | 2 |"):
        assert row in text
    assert ("95 frame(s) passed, 3 of them after being pixelated harder (2 in round 1); 1 failed every round and "
            "1 were quarantined") in text


def test_models_and_example_rows(folder):
    text = (folder / "README.md").read_text()
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance and sum(e["records"] for e in provenance if e["stage"] == "restore") == 2
    for entry in provenance:
        assert f"| {entry['stage']} | `{entry['model']}` |" in text
    assert "Example row: `__key__`: `" in text and "Not built yet." in text  # frames and pairs; not the others
    examples = [block.split("\n```", 1)[0] for block in text.split("```json\n")[1:]]
    assert len(examples) == 2
    records = [json.loads(block) for block in examples]
    assert {r["kind"] for r in records} == {"frame", "pair"}
    assert "skyscript-100m/frames/frames-{000000..000002}.tar" in text  # 9 frames, 4 per shard
