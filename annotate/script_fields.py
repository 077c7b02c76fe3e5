"""The Table 1 fields of a shot and a scene, read from the frame records of their keyframes (in key order).

- **shot size**: where a model described the frames (extraction outcome ``direct`` or ``repaired_*``), the shot
  type of the most prominent person (largest box) per frame, the most frequent over the shot; else the largest
  keyframe face's height by Table 3's definitions (``annotate.people.shot_type_of_face``); else null.
- **characters**: the people with a ``person_id`` (or a model's name), by first appearance; **main subject**: their
  labels by summed box area over the shot, at most three (no people: the objects' names by score);
  **focus**: the main subjects with the age the records give.
- **action**: each labelled person's ``actions`` (``C01: walks to the door``), the distinct ones in order, at most
  three; **dialogue**: the frames' timed lines (subtitles, speech) that start in the shot, else each person's
  ``line`` with its speaker, untimed.
- **event text**: the first frame description of the shot; **scene**: the most frequent place, INT/EXT and time
  of day of its frames, and the first description.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from annotate.people import keyframe_faces, shot_type_of_face

MODEL_OUTCOMES = frozenset({"direct", "repaired_local", "repaired_llm"})
MOVEMENT_WORDS = {"static": "Stationary", "pan_left": "Panning left", "pan_right": "Panning right",
                  "tilt_up": "Tilting up", "tilt_down": "Tilting down", "zoom_in": "Zooming in",
                  "zoom_out": "Zooming out", "handheld": "Handheld", "complex": "Moving, several movements at once"}


def label(person: dict[str, Any]) -> str | None:
    """How a script names a person: a model's name, else the character id, else nothing."""
    return person.get("name") or person.get("person_id")


def _area(box: list[float] | None) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]) if box else 0.0


def prominence(person: dict[str, Any]) -> float:
    """The area of a person's body box, else of their face box."""
    return _area(person.get("bbox")) or _area((person.get("face") or {}).get("bbox"))


def _most_common(values: Iterable[Any]) -> Any:
    counts = Counter(v for v in values if v is not None)
    return counts.most_common(1)[0][0] if counts else None


def shot_size(records: list[dict[str, Any]], min_face_score: float) -> tuple[str | None, str | None]:
    """The shot's size and where it comes from (``extraction``, ``face`` or None)."""
    described = [r for r in records if (r.get("extraction") or {}).get("outcome") in MODEL_OUTCOMES]
    sizes = []
    for record in described:
        typed = [p for p in record.get("people") or [] if p.get("shot_type")]
        if typed:
            sizes.append(max(typed, key=prominence)["shot_type"])
    if sizes:
        return _most_common(sizes), "extraction"
    for record in records:
        faces = keyframe_faces(record, min_face_score)
        if faces:
            sizes.append(shot_type_of_face(max(b[3] - b[1] for b in faces), record["height"]))
    return (_most_common(sizes), "face") if sizes else (None, None)


def characters(records: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    """``(person_id, label)`` of the labelled people, by first appearance (one entry per id, else per name)."""
    seen: dict[str, tuple[str | None, str]] = {}
    for record in records:
        for person in record.get("people") or []:
            name = label(person)
            if name is not None:
                seen.setdefault(person.get("person_id") or name, (person.get("person_id"), name))
    return list(seen.values())


def main_subject(records: list[dict[str, Any]], limit: int = 3) -> list[str]:
    """The labelled people by summed box area, else the objects' names by score."""
    area: Counter = Counter()
    for record in records:
        for person in record.get("people") or []:
            if label(person) is not None:
                area[label(person)] += prominence(person) or 1e-9
    if area:
        return [name for name, _ in area.most_common(limit)]
    scored: dict[str, float] = {}
    for record in records:
        for thing in record.get("objects") or []:
            scored[thing["name"]] = max(scored.get(thing["name"], 0.0), thing.get("score") or 0.0)
    return sorted(scored, key=lambda n: -scored[n])[:limit]


def focus(records: list[dict[str, Any]], subjects: list[str]) -> str | None:
    """The main subjects with their ages where the records give them (``C01 (25-30), C02``)."""
    ages: dict[str, str] = {}
    for record in records:
        for person in record.get("people") or []:
            if label(person) in subjects and person.get("age") and label(person) not in ages:
                ages[label(person)] = str(person["age"])
    return ", ".join(s + (f" ({ages[s]})" if s in ages else "") for s in subjects) or None


def action(records: list[dict[str, Any]], limit: int = 3) -> str | None:
    """The distinct actions of the shot's people, in order."""
    found: list[str] = []
    for record in records:
        for person in record.get("people") or []:
            if person.get("actions"):
                text = f"{label(person)}: {person['actions']}" if label(person) else str(person["actions"])
                if text not in found:
                    found.append(text)
    return "; ".join(found[:limit]) or None


def dialogue(records: list[dict[str, Any]], start_s: float | None = None,
             end_s: float | None = None) -> list[dict[str, Any]]:
    """The shot's lines with their speaker and times: the timed lines of its frames' ``dialogue`` (subtitles,
    speech) that start within the shot's span (all of them when the shot has no times), in time order; without
    any, the people's ``line`` (a model's reading), untimed, consecutive repeats once."""
    names = {p["person_id"]: label(p) for r in records for p in r.get("people") or [] if p.get("person_id")}
    timed: dict[tuple, dict[str, Any]] = {}
    for record in records:
        for said in record.get("dialogue") or []:
            if start_s is None or end_s is None or start_s <= said["start_s"] < end_s:
                speaker = names.get(said["speaker"], said["speaker"])
                timed.setdefault((said["start_s"], said["text"]), {"speaker": speaker, "line": said["text"],
                                                                   "start_s": said["start_s"],
                                                                   "end_s": said["end_s"]})
    if any(record.get("dialogue") for record in records):
        return [timed[key] for key in sorted(timed)]
    lines: list[dict[str, Any]] = []
    for record in records:
        for person in record.get("people") or []:
            if person.get("line"):
                said = {"speaker": label(person), "line": str(person["line"]), "start_s": None, "end_s": None}
                if not lines or lines[-1] != said:
                    lines.append(said)
    return lines


def event_text(records: list[dict[str, Any]]) -> str | None:
    """The first description of the shot's frames."""
    return next((r["description"] for r in records if r.get("description")), None)


def scene_fields(records: list[dict[str, Any]]) -> dict[str, Any]:
    """``int_ext``, ``location``, ``time_of_day`` (the most frequent among the frames) and ``description``."""
    scenes = [r.get("scene") or {} for r in records]
    return {"int_ext": _most_common(s.get("int_ext") for s in scenes),
            "location": _most_common(s.get("name") for s in scenes),
            "time_of_day": _most_common(s.get("time_of_day") for s in scenes),
            "description": event_text(records)}


def model_scene(records: list[dict[str, Any]]) -> int | None:
    """The scene number a model gave the shot's frames (the most frequent), or None (the heuristic's numbers are
    measured colour changes, not a model's reading)."""
    return _most_common((r.get("scene") or {}).get("number") for r in records
                        if (r.get("extraction") or {}).get("outcome") in MODEL_OUTCOMES)
