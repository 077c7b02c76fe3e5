"""People from the privacy stage's faces: which faces count, box overlap, shot type from a face's height."""

from __future__ import annotations

from annotate.people import iou, keyframe_faces, person_from_face, share_inside, shot_type_of_face


def test_shot_type_from_face_height():
    assert [shot_type_of_face(h, 100) for h in (90, 50, 20, 10, 3)] == \
           ["extreme_close_up", "close_up", "medium", "full", "wide"]


def test_keyframe_faces_keep_confident_keyframe_faces_once():
    faces = [{"bbox": [10, 10, 30, 30], "score": 0.9, "origin": "keyframe"},
             {"bbox": [12, 12, 31, 31], "score": 0.8, "origin": "keyframe"},  # the same face found twice
             {"bbox": [50, 10, 70, 30], "score": 0.3, "origin": "keyframe"},  # below the score
             {"bbox": [80, 10, 99, 30], "score": 0.9, "origin": "neighbour"},  # only on a neighbouring frame
             {"bbox": [50, 40, 60, 50], "score": None, "origin": "keyframe"}]
    assert keyframe_faces({"privacy": {"faces": faces}}, 0.5) == [[10, 10, 30, 30]]
    assert keyframe_faces({"privacy": None}, 0.5) == []


def test_box_overlap():
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == 50 / 150
    assert iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0
    assert share_inside([0, 0, 10, 10], [5, 0, 100, 100]) == 0.5
    assert share_inside([0, 0, 0, 10], [0, 0, 10, 10]) == 0.0  # an empty box lies nowhere


def test_person_from_face():
    person = person_from_face([10.0, 20.0, 30.0, 60.0], 100, "detector")
    assert person["face"]["bbox"] == [10.0, 20.0, 30.0, 60.0] and person["face"]["source"] == "detector"
    assert person["shot_type"] == "close_up" and person["person_id"] is None and person["face"]["age"] is None
