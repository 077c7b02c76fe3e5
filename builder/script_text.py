"""A shooting script record rendered in the layout of the paper's Table 1 (the record's ``text``).

One line per field, in Table 1's order; a field that is null (or an empty list) leaves its line out, and a
line whose parts are all null is left out too: nothing prints "None". Shot sizes are written as Table 1 writes
them (``WIDE SHOT``), 3D locations as ``(x,y,z)`` in centimetres, times in seconds, event numbers with three
digits; dialogue follows the event, one ``NAME: "line"`` per line.
"""

from __future__ import annotations

from typing import Any

SHOT_SIZE_WORDS = {"wide": "WIDE SHOT", "full": "FULL SHOT", "medium": "MEDIUM SHOT", "close_up": "CLOSE-UP",
                   "extreme_close_up": "EXTREME CLOSE-UP"}


def _number(value: float) -> str:
    return f"{value:g}"


def scene_heading(scene: dict[str, Any]) -> str:
    """``SCENE 1 EXT. PARK - DAY`` (parts that are null left out)."""
    heading = f"SCENE {scene['number']}"
    if scene.get("int_ext"):
        heading += f" {scene['int_ext']}."
    if scene.get("location"):
        heading += f" {scene['location'].upper()}"
    if scene.get("time_of_day"):
        heading += f" - {scene['time_of_day'].upper()}"
    return heading


def shot_lines(shot: dict[str, Any]) -> list[str]:
    """The lines of one shot."""
    size = SHOT_SIZE_WORDS.get(shot.get("shot_size") or "")
    lines = [f"SHOT {shot['number']}" + (f": {size}" if size else "")]
    for label, key in (("CAMERA POSITION", "camera_position"), ("FOCUS", "focus"), ("ACTION", "action")):
        if shot.get(key):
            lines.append(f"{label}: {shot[key]}")
    if shot.get("highlight_score") is not None:
        lines.append(f"Highlight Score: {shot['highlight_score']:.1f}")
    located = [f'3D Location of "{c["name"]}": ({",".join(_number(v) for v in c["location_3d"])})'
               for c in shot.get("characters") or [] if c.get("location_3d")]
    if located:
        lines.append(" ".join(located))
    details = []
    if shot.get("duration_s") is not None:
        details.append(f"Camera Detail-Time: {_number(round(shot['duration_s'], 2))} seconds")
    if size:
        details.append(f"Camera Detail-Shot Size: {size}")
    if shot.get("camera_angle"):
        details.append(f"Camera Detail-Camera Angle: {shot['camera_angle']}")
    if shot.get("main_subject"):
        details.append(f"Camera Detail-Main Subject: ({', '.join(shot['main_subject'])})")
    if details:
        lines.append(" ".join(details))
    event = shot.get("event") or {}
    if event.get("number") is not None:
        lines.append(f"Event Number: {event['number']:03d}")
    if event.get("text"):
        lines.append(f"Event: {event['text']}")
    for said in shot.get("dialogue") or []:
        lines.append(f'{(said.get("speaker") or "UNKNOWN").upper()}: "{said["line"]}"')
    return lines


def render_script(record: dict[str, Any]) -> str:
    """The whole record in Table 1's layout."""
    scene = record["scene"]
    lines = [scene_heading(scene)]
    if scene.get("description"):
        lines += ["DESCRIPTION:", scene["description"]]
    for shot in record["shots"]:
        lines += shot_lines(shot)
    return "\n".join(lines)
