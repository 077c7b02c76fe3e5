"""The Table 1 rendering of a shooting script: the paper's own example, line for line, and nothing printed for
what a record does not know."""

from __future__ import annotations

import re

from factories import shooting_script_record

from builder.script_text import render_script
from builder.contract import blank
from builder.validation import schema_problems


def table_1_lines(shared_data) -> list[str]:
    """The example of the paper's Table 1, one line per field (markdown headings and blank lines removed)."""
    text = (shared_data.parent / "paper" / "skyscript-100m-paper.md").read_text(encoding="utf-8")
    block = text.split("## **Refined shooting scripts**", 1)[1].split("(Other Detailed information", 1)[0]
    return [re.sub(r"^#+\s*", "", line).strip() for line in block.splitlines() if line.strip()]


def table_1_record() -> dict:
    shot = {**blank("shooting_script", "shot"), "number": 1, "shot_size": "wide",
            "camera_position": "Stationary, capturing the entire park scene.",
            "focus": "A couple, EMMA (late 20s) and JACK (early 30s), walking hand in hand along the path.",
            "action": "They walk leisurely, talking and smiling.", "highlight_score": 4.0,
            "characters": [{"person_id": None, "name": "Emma", "location_3d": [0, 165, 0]},
                           {"person_id": None, "name": "Jack", "location_3d": [60, 180, 0]}],
            "duration_s": 4.0, "camera_angle": "Eye Level", "main_subject": ["Emma", "Jack"],
            "event": {"number": 1, "text": "Emma and Jack walking in the park"}}
    return {**blank("shooting_script"), "script_id": "park_0001", "video_id": "park",
            "scene": {"number": 1, "int_ext": "EXT", "location": "Park", "time_of_day": "Day",
                      "description": "A sunny afternoon in a peaceful park. Birds are chirping, and a gentle breeze "
                                     "rustles the leaves. The park is dotted with blooming flowers and tall trees. A "
                                     "cobblestone path winds through the greenery.", "start_s": None, "end_s": None},
            "shots": [shot], "method": shooting_script_record()["method"]}


def test_the_papers_table_1_example_line_for_line(shared_data):
    record = table_1_record()
    record["text"] = render_script(record)
    assert schema_problems("park_0001", record, "shooting_script") == []
    assert record["text"].splitlines() == table_1_lines(shared_data)


def test_unknown_fields_leave_their_lines_out():
    record = table_1_record()
    shot = record["shots"][0]
    for key in ("camera_position", "focus", "highlight_score", "duration_s", "camera_angle", "shot_size"):
        shot[key] = None
    shot["characters"] = [{"name": "Emma", "location_3d": None}]
    shot["main_subject"], shot["event"] = [], None
    record["scene"].update(int_ext=None, time_of_day=None, description=None)
    assert render_script(record).splitlines() == [
        "SCENE 1 PARK", "SHOT 1", "ACTION: They walk leisurely, talking and smiling."]
    assert "None" not in render_script(shooting_script_record(3))


def test_dialogue_follows_the_event():
    record = table_1_record()
    record["shots"][0]["dialogue"] = [{"speaker": "Emma", "line": "Look at the roses."},
                                      {"speaker": None, "line": "Tickets, please."}]
    assert render_script(record).splitlines()[-2:] == ['EMMA: "Look at the roses."', 'UNKNOWN: "Tickets, please."']
