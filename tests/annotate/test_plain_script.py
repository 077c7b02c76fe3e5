"""The template restorer's layout on a full shooting script: heading, description, cast, action, dialogue, and
nothing a camera decides."""

from __future__ import annotations

from factories import shooting_script_record

from annotate.camera_terms import camera_terms
from annotate.plain_script import characters, dialogue_lines, heading, render_plain


def test_plain_script_keeps_the_story_and_drops_the_camera():
    record = shooting_script_record(1)
    record["scene"]["description"] = "A close-up of the rain on the window. The office is dark."
    record["shots"][0]["event"]["text"] = "The camera pans left to the door. Someone knocks."
    plain = render_plain(record)
    text = plain.text
    assert text.startswith(f"SCENE {record['scene']['number']}\n{heading(record['scene'])}\n\nDESCRIPTION:\n"
                           "The rain on the window. The office is dark.")
    assert camera_terms(text, exempt=dialogue_lines(record)) == []
    assert "Someone knocks." in text and "pans" not in text
    assert plain.counts == {"camera_phrases_removed": 1, "sentences_dropped_camera": 1}
    for name in characters(record):
        assert name.upper() in text.upper()
    for shot in record["shots"]:
        for said in shot["dialogue"]:
            assert f"{said['speaker'].upper()}\n{said['line']}" in text
    for number in ("SHOT 1", "Highlight Score", "3D Location", "Camera Detail", "Event Number"):
        assert number not in text


def test_heading_leaves_out_what_is_unknown():
    assert heading({"int_ext": "INT", "location": "office", "time_of_day": "night"}) == "INT. OFFICE - NIGHT"
    assert heading({"int_ext": None, "location": None, "time_of_day": "DAY"}) == "DAY"
    assert heading({"int_ext": None, "location": None, "time_of_day": None}) == ""
