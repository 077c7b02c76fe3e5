"""The Table 1 fields read from frame records: which source sizes a shot, who is in it and in what order, what
they do and say, and the scene's place."""

from __future__ import annotations

from annotate import script_fields as fields
from builder.contract import blank


def frame(outcome: str | None = "direct", people=(), faces=(), height: int = 720, **values) -> dict:
    record = {**blank("frame"), "width": 1280, "height": height, "people": [dict(p) for p in people],
              "extraction": {"outcome": outcome, "request_id": None, "index": None, "image": None},
              "privacy": {"faces": [{"bbox": b, "score": 0.9, "origin": "keyframe"} for b in faces], "texts": [],
                          "detectors": [], "audit": None, "temporal": {"status": "off", "reason": None},
                          "jpg_sha256": "0" * 64}}
    record.update(values)
    return record


def someone(**values) -> dict:
    return {**blank("frame", "person"), **values}


BIG, SMALL = [100, 100, 700, 700], [900, 300, 1000, 400]


def test_shot_size_from_the_extraction_where_a_model_described_the_frames():
    records = [frame(people=[someone(shot_type="wide", bbox=SMALL), someone(shot_type="close_up", bbox=BIG)])] * 2
    assert fields.shot_size(records, 0.5) == ("close_up", "extraction")  # the most prominent person's


def test_shot_size_from_the_largest_face_otherwise():
    # the heuristic's people are measured, not a model's: its shot types do not count as the extraction's
    records = [frame("heuristic", people=[someone(shot_type="wide")], faces=[[0, 0, 50, 120], [0, 0, 80, 300]])]
    assert fields.shot_size(records, 0.5) == ("close_up", "face")  # 300 of 720 px: Table 3's close-up band
    assert fields.shot_size([frame("heuristic")], 0.5) == (None, None)


def test_characters_subjects_focus_action_and_dialogue():
    a = someone(person_id="C01", name="Lin Xia", age="25-30", bbox=SMALL, actions="grips her phone",
                line="You think a signature can buy my silence?")
    b = someone(person_id="C02", bbox=BIG, actions="slams the contract down", line="Sign it.")
    anonymous = someone(actions="walks past")
    records = [frame(people=[a, anonymous]), frame(people=[a, b]), frame(people=[b])]
    assert fields.characters(records) == [("C01", "Lin Xia"), ("C02", "C02")]
    assert fields.main_subject(records) == ["C02", "Lin Xia"]  # by summed box area
    assert fields.focus(records, ["C02", "Lin Xia"]) == "C02, Lin Xia (25-30)"
    assert fields.action(records) == "Lin Xia: grips her phone; walks past; C02: slams the contract down"
    assert fields.dialogue(records) == [  # a line repeated on consecutive frames is said once
        {"speaker": "Lin Xia", "line": "You think a signature can buy my silence?", "start_s": None, "end_s": None},
        {"speaker": "C02", "line": "Sign it.", "start_s": None, "end_s": None},
    ]


def test_timed_dialogue_of_the_frames_wins_and_stays_in_the_shot_it_starts_in():
    a = someone(person_id="C01", name="Lin Xia", line="a model's reading")
    said = [{"text": "Sign it.", "start_s": 4.0, "end_s": 5.5, "source": "subtitle", "speaker": "C02"},
            {"text": "Never.", "start_s": 2.0, "end_s": 3.0, "source": "subtitle+speech", "speaker": "C01"},
            {"text": "Next shot's line.", "start_s": 6.5, "end_s": 7.0, "source": "speech", "speaker": None}]
    records = [frame(people=[a], dialogue=said[1:2]), frame(people=[a], dialogue=said)]
    assert fields.dialogue(records, 1.0, 6.0) == [
        {"speaker": "Lin Xia", "line": "Never.", "start_s": 2.0, "end_s": 3.0},  # C01's label
        {"speaker": "C02", "line": "Sign it.", "start_s": 4.0, "end_s": 5.5},  # no label known: the id
    ]
    assert [d["line"] for d in fields.dialogue(records)] == ["Never.", "Sign it.", "Next shot's line."]


def test_without_people_the_objects_are_the_subject():
    things = [{**blank("frame", "object"), "name": "contract", "score": 0.4},
              {**blank("frame", "object"), "name": "phone", "score": 0.9}]
    assert fields.main_subject([frame(objects=things)]) == ["phone", "contract"]
    assert fields.focus([frame()], []) is None and fields.action([frame()]) is None


def test_scene_fields_and_a_models_scene_numbers():
    scene = {"number": 3, "name": "hospital corridor", "int_ext": "INT", "time_of_day": "NIGHT"}
    records = [frame(scene=scene, description=None), frame(scene=scene, description="A nurse runs."),
               frame(scene={**scene, "int_ext": "EXT"}, description="Later.")]
    assert fields.scene_fields(records) == {"int_ext": "INT", "location": "hospital corridor", "time_of_day": "NIGHT",
                                            "description": "A nurse runs."}
    assert fields.model_scene(records) == 3
    assert fields.model_scene([frame("heuristic", scene=scene)]) is None  # measured colour changes, not a model
