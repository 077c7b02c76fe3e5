"""Scenes from shots: colour, characters and a model's scene numbers, on pieces of real videos joined as a drama
cuts (``tests/videos.py``: the music video's places and the Big Buck Bunny clip)."""

from __future__ import annotations

import numpy as np
import pytest
from videos import ORDER, pieces

from annotate.scenes import SceneRule, ShotSummary, colour_histogram, group_scenes


@pytest.fixture(scope="module")
def joined_shots(shared_data) -> list[ShotSummary]:
    return [ShotSummary(i, colour_histogram(frames[::2])) for i, frames in enumerate(pieces(shared_data, 5))]


def test_the_scene_changes_where_the_source_does(joined_shots):
    scenes = group_scenes(joined_shots)
    assert scenes[0] == 0 and all(b - a in (0, 1) for a, b in zip(scenes, scenes[1:]))  # consecutive, in order
    sources = ["bbb" if name == "bbb" else "music" for name, _ in ORDER]
    for k in range(1, len(ORDER)):
        if sources[k] != sources[k - 1]:
            assert scenes[k] == scenes[k - 1] + 1, (k, ORDER[k - 1], ORDER[k])


def test_cutting_between_set_ups_of_one_place_stays_one_scene(joined_shots):
    scenes = group_scenes(joined_shots)
    arches = [k for k, (name, _) in enumerate(ORDER) if k >= 14]  # medium, wide, then medium again: the arches
    assert [ORDER[k][0] for k in arches] == ["arches_medium_c", "arches_wide_c", "arches_medium_a"]
    assert len({scenes[k] for k in arches}) == 1
    hall, close_up = ORDER.index(("hall_a", 0)), ORDER.index(("close_up_b", 0))
    assert scenes[close_up] == scenes[hall] + 1  # another place right after: a new scene
    # a place seen again after another scene is a new scene: scenes are consecutive
    assert scenes[-1] > scenes[ORDER.index(("arches_medium_a", 0))]


def test_a_models_scene_numbers_decide_where_given(joined_shots):
    numbered = [ShotSummary(s.index, s.histogram, model_scene=0 if s.index < 9 else 1) for s in joined_shots]
    assert group_scenes(numbered) == [0] * 9 + [1] * (len(joined_shots) - 9)


def test_shared_characters_keep_a_borderline_shot():
    a = np.zeros(256, np.float32)
    a[:128] = 1 / 128
    b = a.copy()
    b[:40] = 0
    b[128:168] = 1 / 128  # distance 0.56: above a strict threshold, below the one for shared characters
    rule = SceneRule(threshold=0.3, with_characters=0.6)
    assert group_scenes([ShotSummary(0, a), ShotSummary(1, b)], rule) == [0, 1]
    assert group_scenes([ShotSummary(0, a, frozenset({"C01"})), ShotSummary(1, b, frozenset({"C01", "C02"}))],
                        rule) == [0, 0]
    assert group_scenes([], rule) == []
