"""Who is who in one video: face embeddings clustered into characters, and the character file the script stage
reads (``builder.video_files.CHARACTERS_FILE``).

Method, in two steps:

1. **Tracks** within a shot: a face joins the track of the face in the shot's previous keyframe with faces whose
   box overlaps it most (IoU at least ``track_iou``; each track once per frame); a track's embedding is the mean
   of its faces' (one person seen several times in a shot is one sample, and a poor view is averaged out).
2. **Clustering** of the tracks: agglomerative, average linkage on Euclidean distance
   (``scipy.cluster.hierarchy``), cut at ``threshold``: two groups merge while the mean distance between their
   tracks is below it. dlib's embedding puts faces of one person within 0.6 of each other on LFW; average linkage
   lets a character gather many views while one stray face does not chain two people together.

Characters are numbered ``C01``, ``C02``, ... by their first appearance (key order, then left to right). Two faces
in one frame that land in one character are counted (``same_frame_merges``): a sign the threshold is too loose
for the material.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from annotate.people import iou
from builder.contract import SCHEMA_VERSION, Box

CLUSTERING = "tracks within shots (IoU), then agglomerative clustering of track means, average linkage, euclidean"


@dataclass(frozen=True)
class Sighting:
    """One embedded face: where it is (its order in the video: key order, then left to right)."""

    key: str
    frame_index: int
    time_s: float
    shot_index: int
    bbox: Box
    name: str | None  # a name a model gave the person with this face


def tracks(sightings: list[Sighting], min_iou: float) -> list[int]:
    """A track number per sighting (in video order): faces of consecutive keyframes of one shot whose boxes
    overlap by at least ``min_iou`` are one track."""
    out: list[int] = []
    previous: list[int] = []  # sightings of the last keyframe with faces
    current: list[int] = []  # sightings of this keyframe so far
    count = 0
    for i, sighting in enumerate(sightings):
        if current and sightings[current[0]].key != sighting.key:
            previous, current = current, []
        if previous and sightings[previous[0]].shot_index != sighting.shot_index:
            previous = []
        taken = {out[j] for j in current}
        options = [(iou(sightings[j].bbox, sighting.bbox), j) for j in previous if out[j] not in taken]
        score, best = max(options, default=(0.0, -1))
        if options and score >= min_iou:
            out.append(out[best])
        else:
            out.append(count)
            count += 1
        current.append(i)
    return out


def characters_of(sightings: list[Sighting], embeddings: np.ndarray, track_iou: float,
                  threshold: float) -> list[str]:
    """The character id of every sighting: tracks, their mean embeddings clustered, ids by first appearance."""
    track = np.asarray(tracks(sightings, track_iou), dtype=np.int64)
    count = int(track.max()) + 1 if len(track) else 0
    sums = np.zeros((count, embeddings.shape[1] if embeddings.ndim == 2 else 128))
    np.add.at(sums, track, embeddings)
    groups = cluster(sums / np.bincount(track, minlength=count)[:, None] if count else sums, threshold)
    first: dict[int, int] = {}
    for t in track:  # renumber by the first sighting of each group
        first.setdefault(groups[t], len(first))
    return character_ids([first[groups[t]] for t in track])


def cluster(embeddings: np.ndarray, threshold: float) -> list[int]:
    """A group number per embedding (rows in video order); groups numbered by first member."""
    if len(embeddings) == 0:
        return []
    if len(embeddings) == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage

    labels = fcluster(linkage(embeddings.astype(np.float64), method="average", metric="euclidean"),
                      t=threshold, criterion="distance")
    renumber: dict[int, int] = {}
    return [renumber.setdefault(int(label), len(renumber)) for label in labels]


def character_ids(groups: list[int]) -> list[str]:
    """``C01``, ``C02``, ... per sighting, numbered by first appearance (``groups`` come in video order)."""
    width = max(2, len(str(max(groups, default=0) + 1)))
    return [f"C{g + 1:0{width}d}" for g in groups]


def same_frame_merges(sightings: list[Sighting], ids: list[str]) -> int:
    """Faces sharing a frame and a character with an earlier face of that frame."""
    seen = Counter((s.key, i) for s, i in zip(sightings, ids))
    return sum(n - 1 for n in seen.values())


def character_file(video_id: str, method: dict, faces: dict, sightings: list[Sighting], ids: list[str],
                   shots: dict | None) -> dict:
    """The character file of one video (``schema/characters.schema.json``)."""
    spans = {s["index"]: s["end_s"] - s["start_s"] for s in (shots or {}).get("shots", [])}
    by_id: dict[str, list[Sighting]] = defaultdict(list)
    for sighting, character in zip(sightings, ids):
        by_id[character].append(sighting)
    characters = []
    for character in sorted(by_id):
        seen = by_id[character]
        names = Counter(s.name for s in seen if s.name)
        shot_list = sorted({s.shot_index for s in seen})
        characters.append({
            "id": character,
            "name": names.most_common(1)[0][0] if names else character,
            "name_source": "extraction" if names else "id",
            "frames": len({s.key for s in seen}),
            "shots": shot_list,
            "first_s": min(s.time_s for s in seen),
            "last_s": max(s.time_s for s in seen),
            "screen_time_s": round(sum(spans.get(i, 0.0) for i in shot_list), 3) if shots else None,
            "appearances": [{"key": s.key, "frame_index": s.frame_index, "time_s": s.time_s,
                             "shot_index": s.shot_index, "bbox": s.bbox} for s in seen],
        })
    return {"schema_version": SCHEMA_VERSION, "video_id": video_id, "method": method, "faces": faces,
            "characters": characters}
