"""Camera vocabulary: what a plain script must not say, found in shooting-script text and taken out of prose."""

from __future__ import annotations

import pytest
from factories import shooting_script_record

from annotate.camera_terms import camera_terms, without_camera


def test_every_camera_line_of_a_table1_script_is_found():
    text = shooting_script_record(0)["text"]
    camera_lines = [line for line in text.splitlines()
                    if line.startswith(("SHOT ", "CAMERA POSITION", "Highlight Score", "3D Location", "Camera Detail",
                                        "Event Number"))]
    assert camera_lines
    assert all(camera_terms(line) for line in camera_lines), [line for line in camera_lines if not camera_terms(line)]


@pytest.mark.parametrize("text, found", [
    ("A close-up of her trembling hands.", ["close-up"]),
    ("EXTREME CLOSE-UP on the letter", ["EXTREME CLOSE-UP"]),
    ("Wide shot: the village at night.", ["Wide shot"]),
    ("The camera pans left to the door.", ["camera", "pans left"]),
    ("Seen from a low angle, he towers over her.", ["low angle"]),
    ("She steps out of frame.", ["out of frame"]),
    ("TIME: 5 seconds.", ["TIME: 5 seconds"]),
    ("我们看到她的特写。", ["特写"]),
    ("镜头缓缓推进。", ["镜头"]),
])
def test_camera_terms_are_found(text, found):
    assert camera_terms(text) == found


@pytest.mark.parametrize("text", [
    "Two shots ring out in the alley.",
    "They close up the shop at night.",
    "She cannot focus on the letter.",
    "He wears glasses with thick lenses and carries a 9mm pistol.",
    "The background is full of bottles; a photo frame hangs on the wall.",
    "He was framed for the theft, and the police are tracking him.",
])
def test_everyday_words_are_not_camera_terms(text):
    assert camera_terms(text) == []


def test_dialogue_is_exempt():
    line = "Get the camera, and zoom in on his face!"
    assert camera_terms(f'JOE\n{line}\n') != []
    assert camera_terms(f'JOE\n{line}\n', exempt=[line]) == []


def test_without_camera_keeps_what_a_sentence_shows():
    text = ("A close-up of a man waiting. In a wide shot, the village sleeps. The camera slowly pans left to the "
            "door. Rain falls.")
    cleaned, removed, dropped = without_camera(text)
    assert cleaned == "A man waiting. The village sleeps. Rain falls."
    assert (removed, dropped) == (2, 1)
    assert camera_terms(cleaned) == []
