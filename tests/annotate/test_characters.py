"""Characters: tracks within shots, clustering of track embeddings, ids by first appearance, the character file."""

from __future__ import annotations

import numpy as np
from factories import shots_file_record

from annotate.characters import Sighting, character_file, characters_of, cluster, same_frame_merges, tracks
from builder.validation import schema_problems


def sighting(frame: int, shot: int, box, name=None) -> Sighting:
    return Sighting(f"v_{shot:04d}_{frame:07d}", frame, frame / 25, shot, box, name)


def test_tracks_follow_overlapping_faces_within_a_shot_only():
    left, right = [10.0, 10.0, 30.0, 30.0], [60.0, 10.0, 80.0, 30.0]
    seen = [sighting(0, 0, left), sighting(0, 0, right),  # two faces in one frame: two tracks
            sighting(12, 0, [12.0, 10.0, 32.0, 30.0]), sighting(12, 0, [61.0, 11.0, 81.0, 31.0]),
            sighting(24, 1, left)]  # the same place in the next shot: a new track
    assert tracks(seen, 0.2) == [0, 1, 0, 1, 2]
    assert tracks(seen, 0.99) == [0, 1, 2, 3, 4]  # too strict: nothing links


def test_a_track_takes_one_face_per_frame():
    box = [10.0, 10.0, 30.0, 30.0]
    assert tracks([sighting(0, 0, box), sighting(12, 0, box), sighting(12, 0, [11.0, 10.0, 31.0, 30.0])], 0.2) \
        == [0, 0, 1]


def test_clustering_separates_people_and_numbers_by_first_appearance():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=128), rng.normal(size=128)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)  # two people ~1.4 apart
    noisy = [p + rng.normal(scale=0.02, size=128) for p in (b, a, b, a, a)]
    assert cluster(np.stack(noisy), 0.6) == [0, 1, 0, 1, 1]
    assert cluster(np.stack(noisy), 5.0) == [0, 0, 0, 0, 0]
    assert cluster(np.zeros((0, 128)), 0.6) == []
    seen = [sighting(k * 30, k, [10.0, 10.0, 30.0, 30.0]) for k in range(5)]  # one face per shot
    assert characters_of(seen, np.stack(noisy), 0.2, 0.6) == ["C01", "C02", "C01", "C02", "C02"]
    assert same_frame_merges(seen, ["C01"] * 5) == 0
    both = [sighting(0, 0, [0.0, 0.0, 9.0, 9.0]), sighting(0, 0, [20.0, 0.0, 29.0, 9.0])]
    assert same_frame_merges(both, ["C01", "C01"]) == 1


def test_character_file_follows_its_schema_with_times_from_the_shots_file():
    seen = [sighting(12, 0, [1.0, 2.0, 21.0, 22.0], name="Lin Xia"), sighting(37, 1, [1.0, 2.0, 21.0, 22.0]),
            sighting(62, 2, [5.0, 5.0, 25.0, 25.0])]
    shots = shots_file_record("v", shots=3)
    method = {"embedding": "e", "clustering": "c", "threshold": 0.6, "track_iou": 0.2, "min_face_px": 20,
              "min_face_score": 0.5}
    faces = {"detected": 3, "embedded": 3, "too_small": 0, "unaligned": 0}
    data = character_file("v", method, faces, seen, ["C01", "C01", "C02"], shots)
    assert schema_problems("v", data, "characters") == []
    first, second = data["characters"]
    assert (first["name"], first["name_source"], second["name"], second["name_source"]) == \
           ("Lin Xia", "extraction", "C02", "id")
    assert first["frames"] == 2 and first["shots"] == [0, 1] and first["screen_time_s"] == 2.0  # two 1 s shots
    assert (first["first_s"], first["last_s"]) == (12 / 25, 37 / 25)
    assert [a["key"] for a in first["appearances"]] == [seen[0].key, seen[1].key]
    assert character_file("v", method, faces, seen, ["C01", "C01", "C02"], None)["characters"][0][
        "screen_time_s"] is None
