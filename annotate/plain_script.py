"""A shooting script as the plain script a writer starts from (the paper's Table 7, Script Generation), and the
parts of it every restoration must keep.

The layout, one block per part, parts that are null left out::

    SCENE 1
    INT. QUIET WESTERN RESTAURANT - NIGHT

    DESCRIPTION:
    Indoors, a restaurant. A table is set for two.

    CHARACTERS: Anna, C02

    Anna — sitting at the table, holding a glass of wine.

    ANNA
    It's so tiring to keep spending money.

Each shot adds its event text (when it says something the scene description does not) and its people's actions,
then its dialogue, in shot order. Everything a camera decides is left out: shot numbers and sizes, camera
position, angle, movement and focus, durations, highlight scores, 3D locations; camera phrases inside the
descriptions are taken out (``annotate.camera_terms.without_camera``) and counted. Dialogue is kept verbatim.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from annotate.camera_terms import without_camera

UNKNOWN_SPEAKER = "UNKNOWN"


@dataclass
class PlainScript:
    """A rendered plain script and what it had to leave out."""

    text: str
    counts: Counter = field(default_factory=Counter)


def dialogue_lines(record: dict[str, Any]) -> list[str]:
    """Every line of dialogue of a shooting script, in order (repeats kept: each must survive)."""
    return [said["line"] for shot in record["shots"] for said in shot.get("dialogue") or [] if said["line"].strip()]


def characters(record: dict[str, Any]) -> list[str]:
    """The names of the script's characters and speakers, by first appearance."""
    names: list[str] = []
    for shot in record["shots"]:
        for name in [c["name"] for c in shot.get("characters") or []] + \
                    [s["speaker"] for s in shot.get("dialogue") or [] if s.get("speaker")]:
            if name not in names:
                names.append(name)
    return names


def heading(scene: dict[str, Any]) -> str:
    """``INT. LOCATION - TIME`` with the parts the scene has (empty when it has none)."""
    place = " ".join(p for p in ((scene["int_ext"] + ".") if scene.get("int_ext") else None,
                                 (scene.get("location") or "").upper() or None) if p)
    return " - ".join(p for p in (place, (scene.get("time_of_day") or "").upper()) if p)


def _clean(text: str | None, counts: Counter) -> str:
    if not text:
        return ""
    cleaned, removed, dropped = without_camera(" ".join(text.split()))
    counts += Counter({"camera_phrases_removed": removed, "sentences_dropped_camera": dropped})  # positive only
    return cleaned


def _actions(action: str | None, counts: Counter) -> list[str]:
    """The shot's ``action`` (``C01: walks; C02: sits``) as action lines (``C01 — walks.``)."""
    lines = []
    for part in re.split(r";\s*", action or ""):
        who, sep, what = part.partition(": ")
        what = _clean(what if sep else part, counts)
        if what:
            lines.append(f"{who} — {what}" if sep else what)
    return [line if line[-1] in ".!?。！？" else line + "." for line in lines]


def render_plain(record: dict[str, Any]) -> PlainScript:
    """The plain script of one shooting script record."""
    counts: Counter = Counter()
    scene = record["scene"]
    blocks = ["\n".join(p for p in (f"SCENE {scene['number']}", heading(scene)) if p)]
    description = _clean(scene.get("description"), counts)
    if description:
        blocks.append(f"DESCRIPTION:\n{description}")
    cast = characters(record)
    if cast:
        blocks.append("CHARACTERS: " + ", ".join(cast))
    said_before = {description}
    for shot in record["shots"]:
        event = _clean((shot.get("event") or {}).get("text"), counts)
        if event and event not in said_before:
            blocks.append(event)
            said_before.add(event)
        actions = [a for a in _actions(shot.get("action"), counts) if a not in said_before]
        if actions:
            blocks.append("\n".join(actions))
            said_before.update(actions)
        for said in shot.get("dialogue") or []:
            if said["line"].strip():
                blocks.append(f"{(said.get('speaker') or UNKNOWN_SPEAKER).upper()}\n{said['line'].strip()}")
    return PlainScript("\n\n".join(blocks), counts)
