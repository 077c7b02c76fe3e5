"""People from the faces the privacy stage found: which faces count, and the person record one becomes (used by
the extraction's heuristic and by the calibrate stage for faces no model described)."""

from __future__ import annotations

from builder.contract import Box, blank

#: Table 3's shot types from the face's height as a share of the frame's height (lower bounds)
SHOT_BY_FACE_HEIGHT = (("extreme_close_up", 0.75), ("close_up", 0.35), ("medium", 0.15), ("full", 0.07),
                       ("wide", 0.0))


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    inter = _intersection(a, b)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def share_inside(box: Box, outer: Box) -> float:
    """How much of ``box``'s area lies inside ``outer`` (0..1)."""
    area = (box[2] - box[0]) * (box[3] - box[1])
    return _intersection(box, outer) / area if area > 0 else 0.0


def _intersection(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def shot_type_of_face(face_height: float, frame_height: int) -> str:
    """Table 3's shot type from how much of the frame's height a face takes."""
    share = face_height / frame_height
    return next(name for name, low in SHOT_BY_FACE_HEIGHT if share >= low)


def keyframe_faces(record: dict, min_score: float) -> list[Box]:
    """The faces the privacy stage found on the keyframe itself with at least ``min_score`` (faces found only on
    neighbouring frames by its fail-safe, tuned to over-detect, are not people), one box per face: a box whose
    centre lies in an earlier one is the same face found twice."""
    kept: list[Box] = []
    for face in (record.get("privacy") or {}).get("faces", []):
        if face["origin"] != "keyframe" or face["score"] is None or face["score"] < min_score:
            continue
        box = face["bbox"]
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if not any(k[0] <= cx <= k[2] and k[1] <= cy <= k[3] for k in kept):
            kept.append(box)
    return kept


def person_from_face(box: Box, frame_height: int, source: str) -> dict:
    """A person record known only by its face: the face's box and the shot type its height implies."""
    person = blank("frame", "person")
    person["shot_type"] = shot_type_of_face(box[3] - box[1], frame_height)
    person["face"] = {**blank("frame", "face"), "bbox": box, "source": source}
    return person
