"""``skyscript export fountain IN OUT.fountain``: a video's shooting scripts as a Fountain screenplay
(https://fountain.io/syntax).

Per shooting script (in scene order): a scene heading (``EXT. PARK - DAY``, forced with a leading ``.`` when the
record has no INT/EXT, and the scene number as ``#n#``), the scene description as action, then per shot a note
with its camera details (``[[SHOT 1: WIDE SHOT; camera position ...; time 4 s]]``), its action, its event as a
note, and its dialogue (character cue and line; a line with no known speaker under ``UNKNOWN``). Action is
forced with ``!`` so that no description is read as a heading or transition, and character cues with ``@``.
IN is a stage folder or a dataset folder (its ``shooting_scripts/`` shards).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from builder.errors import SkyscriptError
from builder.script_text import SHOT_SIZE_WORDS
from builder.shards import iter_shard, shard_paths


class ExportError(SkyscriptError):
    """Nothing (or not one video) to export."""


def _heading(scene: dict[str, Any]) -> str:
    place = (scene.get("location") or f"SCENE {scene['number']}").upper()
    time = f" - {scene['time_of_day'].upper()}" if scene.get("time_of_day") else ""
    if scene.get("int_ext"):
        return f"{scene['int_ext']}. {place}{time} #{scene['number']}#"
    return f".{place}{time} #{scene['number']}#"


def _camera_note(shot: dict[str, Any]) -> str:
    parts = [f"SHOT {shot['number']}" + (f": {SHOT_SIZE_WORDS[shot['shot_size']]}" if shot.get("shot_size") else "")]
    for label, key in (("camera position", "camera_position"), ("camera angle", "camera_angle"), ("focus", "focus")):
        if shot.get(key):
            parts.append(f"{label} {shot[key]}")
    if shot.get("duration_s") is not None:
        parts.append(f"time {shot['duration_s']:g} s")
    if shot.get("main_subject"):
        parts.append(f"main subject {', '.join(shot['main_subject'])}")
    if shot.get("highlight_score") is not None:
        parts.append(f"highlight {shot['highlight_score']:.1f}")
    located = [f"{c['name']} ({','.join(f'{v:g}' for v in c['location_3d'])})"
               for c in shot.get("characters") or [] if c.get("location_3d")]
    if located:
        parts.append("3D " + ", ".join(located))
    return "[[" + "; ".join(p.replace("]]", "] ]") for p in parts) + "]]"


def _cue(speaker: str | None) -> str:
    return "@" + (speaker or "UNKNOWN").upper()


def _action(text: str) -> str:
    return "\n".join("!" + line for line in text.splitlines() if line.strip())


def to_fountain(scripts: list[dict[str, Any]], title: str) -> str:
    """The screenplay of one video's shooting scripts."""
    blocks = [f"Title: {title}\nCredit: SkyScript-100M shooting scripts"]
    for script in sorted(scripts, key=lambda s: s["scene"]["number"]):
        scene = script["scene"]
        blocks.append(_heading(scene))
        if scene.get("description"):
            blocks.append(_action(scene["description"]))
        for shot in script["shots"]:
            blocks.append(_camera_note(shot))
            if shot.get("action"):
                blocks.append(_action(shot["action"]))
            event = shot.get("event") or {}
            if event.get("text"):
                number = f" {event['number']:03d}" if event.get("number") is not None else ""
                blocks.append(f"[[EVENT{number}: {event['text']}]]")
            for said in shot.get("dialogue") or []:
                blocks.append(f"{_cue(said.get('speaker'))}\n{said['line']}")
    return "\n\n".join(blocks) + "\n"


def shooting_scripts(folder: Path) -> Iterable[dict[str, Any]]:
    """The shooting script records of a stage folder or a dataset folder (validated when their shards were
    written)."""
    root = folder / "shooting_scripts" if (folder / "shooting_scripts").is_dir() else folder
    for shard in shard_paths(root):
        for sample in iter_shard(shard):
            if sample.kind == "shooting_script":
                yield sample.record


def export_fountain(folder: str | Path, output: str | Path, video: str | None = None) -> Path:
    """Write ``video``'s shooting scripts in ``folder`` (the only video's, when not given) to ``output``."""
    folder, output = Path(folder), Path(output)
    by_video: dict[str, list[dict[str, Any]]] = {}
    for record in shooting_scripts(folder):
        by_video.setdefault(record["video_id"], []).append(record)
    if not by_video:
        raise ExportError(f"{folder}: no shooting scripts (the script stage's OUT, or a dataset folder)")
    if video is None and len(by_video) > 1:
        raise ExportError(f"{folder} holds {len(by_video)} videos ({', '.join(sorted(by_video)[:3])}, ...): "
                          "choose one with --video")
    video = video or next(iter(by_video))
    if video not in by_video:
        raise ExportError(f"{folder}: no shooting scripts of video {video!r}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(to_fountain(by_video[video], video), encoding="utf-8")
    return output
