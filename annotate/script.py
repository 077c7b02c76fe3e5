"""Script stage (paper Table 1, section 5.2): a video's shots grouped into scenes, one ``shooting_script`` record
per scene (``skyscript script IN OUT``; IN: the last frame stage's OUT, dialogue's, calibrate's or repair's).

One task per video, all its frames in key order (other samples pass through). From the video's shots file, its
character file when the calibrate stage ran, its frame records and its source video:

1. **Shots**: every shot of the shots file (also those whose keyframes were all dropped), with its real span;
   without a shots file, the shots the frames name, with no times (counted ``no_shots_file``).
2. **Camera movement** (``annotate.shot_frames``, ``annotate.camera_motion``): frames sampled across each shot
   from the source video in one decoding pass; corners tracked and a similarity fitted between neighbours; the
   class and its rates go to ``camera_movement``, the class in words to ``camera_position``. A source that cannot
   be read leaves them null (counted by reason; ``--strict`` fails the task instead); a source that fails
   mid-way keeps the shots measured before the failure.
3. **Scenes** (``annotate.scenes``): the colour of each shot's keyframes (``raw.jpg``, else ``jpg``; a shot
   without keyframes: its sampled source frames), the characters in it and a model's scene numbers.
4. **Layout** (``annotate.placement``, ``annotate.layout``): each person with a face box placed in 3D (its
   ``depth_m`` where given, else the face's size), the speed rule applied per character over the shot's
   keyframes, the positions written to the frames' ``people[].location_3d``, and the shot's camera fitted by the
   normalised DLT to the correspondences (status, projection, reprojection error).
5. **Fields** (``annotate.script_fields``) and ``text`` (``builder.script_text``: the Table 1 layout).

Each record's ``method`` gives the settings and says which numbers are measured and which rest on assumptions.
"""

from __future__ import annotations

import io
import logging
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from annotate import script_fields as fields
from annotate.camera_motion import CameraMotion, Thresholds, measure
from annotate.config import ConfigError, operational
from annotate.layout import MIN_POINTS, LayoutError, fit_projection
from annotate.placement import Pinhole, correspondences, limit_speed, locate_face
from annotate.runner import Task, VideoStage, stage_main
from annotate.scenes import SceneRule, ShotSummary, colour_histogram, group_scenes
from annotate.shot_frames import ShotFrames, sample_shots
from annotate.video import VideoError
from builder.contract import blank
from builder.errors import SkyscriptError
from builder.sample import Sample
from builder.script_text import render_script
from builder.shards import Quarantine, ShardWriter
from builder.video_files import SHOTS_FILE, source_video

LOG = logging.getLogger(__name__)

COLOUR_SIZE = (160, 90)  # keyframes are reduced to about this size before their colour is measured


class SourceUnavailable(SkyscriptError):
    """``--strict``: a video's camera movement could not be measured (its source is missing or unreadable)."""


@dataclass
class ScriptConfig:
    """Settings of the script stage."""

    scene_threshold: float = 0.6  # colour distance (0..1) above which a shot opens a new scene
    scene_with_characters: float = 0.75  # ... unless it shares a character with the scene and is within this
    scene_memory: int = 4  # how many of the scene's last shots a shot is compared with
    motion_per_second: float = 5.0  # frames sampled per second of a shot for its camera movement
    motion_max_samples: int = 25  # at most this many per shot
    motion_width: int = 320  # sampled frames are reduced to this width
    pan_threshold: float = 0.03  # pan/tilt rate (frame widths or heights per second) from which the camera moves
    zoom_threshold: float = 0.03  # zoom rate (log scale per second) from which the camera zooms
    horizontal_fov_deg: float = 60.0  # assumed field of view: the focal length of the layout's pinhole
    face_height_cm: float = 23.0  # assumed height of a face box (chin to hairline)
    camera_height_cm: float = 150.0  # assumed height of a level camera above the ground
    max_speed_cm_s: float = 500.0  # a character moving faster between keyframes of a shot is moved back
    min_face_score: float = 0.5  # privacy-stage face score from which a face sizes the shot
    source_root: str | None = operational(None)  # where the source videos are; default: the shots files' root
    shard_max_count: int = operational(1000)


@dataclass
class Located:
    """One person of one keyframe placed in 3D."""

    frame: int  # position of the frame in the shot's frames
    person: int  # position of the person in the frame's people
    key: str | None  # the character it belongs to (person_id, else a model's name)
    time_s: float
    centre: np.ndarray
    face: list[float]
    body: list[float] | None


class ScriptStage(VideoStage[ScriptConfig]):
    """Scenes of shots, measured camera movement and 3D layout: one shooting script per scene."""

    name = "script"
    config_class = ScriptConfig

    def setup(self, device) -> None:
        c = self.config
        positive = ("motion_per_second", "motion_max_samples", "motion_width", "pan_threshold", "zoom_threshold",
                    "face_height_cm", "camera_height_cm", "max_speed_cm_s", "scene_memory")
        for name in positive:
            if not getattr(c, name) > 0:
                raise ConfigError(f"{name} must be positive, got {getattr(c, name)}")
        if not 0 < c.horizontal_fov_deg < 180:
            raise ConfigError(f"horizontal_fov_deg must lie between 0 and 180, got {c.horizontal_fov_deg}")
        self.pinhole = Pinhole(c.horizontal_fov_deg, c.face_height_cm, c.camera_height_cm)
        self.rule = SceneRule(c.scene_threshold, c.scene_with_characters, c.scene_memory)
        self.thresholds = Thresholds(pan=c.pan_threshold, zoom=c.zoom_threshold)

    # ---- one video -------------------------------------------------------------------------------------------

    def run_video(self, task: Task, samples: list[Sample], writer: ShardWriter, quarantine: Quarantine) -> None:
        shots_file = SHOTS_FILE.find(self.input_dir(task), task.name)
        frames = [s for s in samples if s.kind == "frame"]
        writer.count("frames", len(frames))
        shots = self.shot_spans(shots_file, frames, writer)
        by_shot: dict[int, list[Sample]] = defaultdict(list)
        for sample in frames:
            by_shot[sample.record.get("shot_index")].append(sample)
        outside = sum(len(v) for k, v in by_shot.items() if k not in {s["index"] for s in shots})
        writer.count("frames_outside_shots", outside)
        motions, sampled = self.measure_shots(task.name, shots_file, shots, set(by_shot), writer)
        summaries = []
        for shot in shots:
            records = [f.record for f in by_shot[shot["index"]]]
            ids = frozenset(person_id for person_id, _ in fields.characters(records) if person_id)
            colour = self.colour(by_shot[shot["index"]], sampled.get(shot["index"]), writer)
            summaries.append(ShotSummary(shot["index"], colour, ids, fields.model_scene(records)))
        scene_of = group_scenes(summaries, self.rule)
        layouts, located = {}, {}
        for shot in shots:
            layouts[shot["index"]], located[shot["index"]] = self.layout(by_shot[shot["index"]], writer)
        for sample in samples:
            writer.write(sample)
        uses_model_scenes = any(s.model_scene is not None for s in summaries)
        for script in self.scripts(task.name, shots, scene_of, by_shot, motions, layouts, located,
                                   uses_model_scenes, writer):
            writer.write(Sample(script["script_id"], script))

    def shot_spans(self, shots_file: dict | None, frames: list[Sample], writer: ShardWriter) -> list[dict]:
        """The video's shots: the shots file's, else those the frames name (without times)."""
        if shots_file is not None:
            writer.count("shots", len(shots_file["shots"]))
            return shots_file["shots"]
        writer.count("no_shots_file")
        indices = sorted({f.record["shot_index"] for f in frames if f.record.get("shot_index") is not None})
        writer.count("shots", len(indices))
        return [{"index": i, "start_frame": None, "end_frame": None, "start_s": None, "end_s": None, "keyframes": []}
                for i in indices]

    def measure_shots(self, video_id: str, shots_file: dict | None, shots: list[dict], with_frames: set[int],
                      writer: ShardWriter) -> tuple[dict[int, CameraMotion], dict[int, ShotFrames]]:
        """Each shot's camera movement, and the sampled frames of the shots without frames (for their colour)."""
        c = self.config
        path = source_video(shots_file, c.source_root) if shots_file else None
        reason = "no_shots_file" if shots_file is None else "source_missing" if path is None else None
        detail = "the shots file gives no root or path; set source_root" if reason == "source_missing" else None
        motions: dict[int, CameraMotion] = {}
        sampled: dict[int, ShotFrames] = {}
        if reason is None:
            import cv2

            try:
                for shot in sample_shots(path, shots, shots_file["fps"], c.motion_per_second, c.motion_width,
                                         c.motion_max_samples):
                    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in shot.frames]
                    motions[shot.index] = measure(grey, shot.times, self.thresholds)
                    writer.count(f"camera_{motions[shot.index].kind}")
                    if shot.index not in with_frames:
                        sampled[shot.index] = shot
            except VideoError as exc:  # the shots measured before the failure keep their movement
                reason, detail = f"source_{exc.reason}", str(exc)
        if reason is not None:
            writer.count("camera_not_measured")
            writer.count(f"camera_not_measured_{reason}")
            message = f"{video_id}: camera movement not measured ({reason}" + (f": {detail})" if detail else ")")
            if self.strict:
                raise SourceUnavailable(message + "; fix source_root, or run without --strict to leave it null")
            LOG.warning(message)
        return motions, sampled

    def colour(self, frames: list[Sample], sampled: ShotFrames | None, writer: ShardWriter) -> np.ndarray | None:
        """The colour histogram of a shot: its keyframes, else its sampled source frames, else None (counted)."""
        images = []
        for frame in frames:
            data = frame.members.get("raw.jpg") or frame.members.get("jpg")
            if data:
                image = Image.open(io.BytesIO(data))
                image.draft("RGB", COLOUR_SIZE)
                images.append(np.asarray(image.convert("RGB")))
        if images:
            return colour_histogram(images)
        writer.count("shots_without_keyframes")
        if sampled is not None and sampled.frames:
            return colour_histogram(sampled.frames)
        writer.count("shots_without_colour")
        return None

    # ---- layout ----------------------------------------------------------------------------------------------

    def layout(self, frames: list[Sample], writer: ShardWriter) -> tuple[dict | None, dict[str, list[float]]]:
        """The shot's layout record and each character's location; the frames' people get their locations."""
        found: list[Located] = []
        for f, frame in enumerate(frames):
            record = frame.record
            for p, person in enumerate(record.get("people") or []):
                face = (person.get("face") or {}).get("bbox")
                if not face:
                    writer.count("people_without_face_box")
                    continue
                depth = person["depth_m"] * 100 if person.get("depth_m") else None
                centre = locate_face(face, record["width"], record["height"], self.pinhole, depth)
                found.append(Located(f, p, person.get("person_id") or person.get("name"),
                                     record.get("time_s") or 0.0, centre, face, person.get("bbox")))
        if not found:
            return None, {}
        violations = 0
        tracks: dict[str, list[Located]] = defaultdict(list)
        for item in found:
            if item.key is None:
                writer.count("people_located_unlinked")
            else:
                tracks[item.key].append(item)
        for track in tracks.values():
            track.sort(key=lambda i: i.time_s)
            limited, n = limit_speed([i.time_s for i in track], [i.centre for i in track], self.config.max_speed_cm_s)
            violations += n
            for item, point in zip(track, limited):
                item.centre = point
        writer.count("layout_speed_violations", violations)
        world, image = [], []
        for item in found:
            record = frames[item.frame].record
            w, i = correspondences(item.face, item.body, item.centre, record["width"], record["height"],
                                   self.pinhole)
            world.append(w)
            image.append(i)
            person = record["people"][item.person]
            person["location_3d"] = [round(float(v), 1) for v in item.centre]
        world_points, image_points = np.vstack(world), np.vstack(image)
        status, matrix, error = "too_few_points", None, None
        if len(world_points) >= MIN_POINTS:
            try:
                fitted = fit_projection(world_points, image_points)
                status, error = "fitted", round(fitted.rms_error, 4)
                matrix = [[float(f"{v:.6g}") for v in row] for row in fitted.matrix]
            except LayoutError:  # one depth only (one face, or faces of one size): the camera is not determined
                status = "degenerate"
        writer.count(f"layout_{status}")
        writer.count("people_located", len(found))
        for frame in frames:
            if any(p.get("location_3d") for p in frame.record.get("people") or []):
                frame.record["provenance"] = [*frame.record.get("provenance", []), self.provenance()]
        locations = {key: [round(float(v), 1) for v in np.median([i.centre for i in track], axis=0)]
                     for key, track in tracks.items()}
        return {"status": status, "projection": matrix, "rms_error_px": error,
                "correspondences": len(world_points), "speed_violations": violations}, locations

    # ---- records ---------------------------------------------------------------------------------------------

    def scripts(self, video_id: str, shots: list[dict], scene_of: list[int], by_shot: dict[int, list[Sample]],
                motions: dict[int, CameraMotion], layouts: dict[int, dict | None],
                located: dict[int, dict[str, list[float]]], uses_model_scenes: bool,
                writer: ShardWriter) -> list[dict[str, Any]]:
        """One shooting script per scene."""
        c = self.config
        method = {
            "scenes": {"threshold": c.scene_threshold, "with_characters": c.scene_with_characters,
                       "memory": c.scene_memory, "model_scene_numbers": uses_model_scenes},
            "camera_movement": {"measured": bool(motions), "samples_per_second": c.motion_per_second,
                                "width": c.motion_width, "pan_threshold": c.pan_threshold,
                                "zoom_threshold": c.zoom_threshold},
            "layout": {"horizontal_fov_deg": c.horizontal_fov_deg, "face_height_cm": c.face_height_cm,
                       "camera_height_cm": c.camera_height_cm, "max_speed_cm_s": c.max_speed_cm_s},
            "measured": MEASURED + (["camera_movement", "camera_position"] if motions else []),
            "assumed": ASSUMED,
        }
        scenes: dict[int, list[dict]] = defaultdict(list)
        event, last_text = 0, None
        for shot, scene in zip(shots, scene_of):
            records = [f.record for f in by_shot[shot["index"]]]
            text = fields.event_text(records)
            if text is not None and text != last_text:
                event += 1
            last_text = text if text is not None else last_text
            scenes[scene].append(self.shot(shot, len(scenes[scene]) + 1, by_shot[shot["index"]],
                                           motions.get(shot["index"]), layouts[shot["index"]],
                                           located[shot["index"]], {"number": event, "text": text} if text else None,
                                           writer))
        out = []
        for scene, scene_shots in sorted(scenes.items()):
            records = [f.record for s in scene_shots for f in by_shot[s["shot_index"]]]
            record = {**blank("shooting_script"), "script_id": f"{video_id}_scene{scene + 1:04d}",
                      "video_id": video_id,
                      "scene": {"number": scene + 1, **fields.scene_fields(records),
                                "start_s": scene_shots[0]["start_s"], "end_s": scene_shots[-1]["end_s"]},
                      "shots": scene_shots, "method": method, "provenance": [self.provenance()]}
            record["text"] = render_script(record)
            out.append(record)
        writer.count("scripts", len(out))
        return out

    def shot(self, shot: dict, number: int, frames: list[Sample], motion: CameraMotion | None, layout: dict | None,
             located: dict[str, list[float]], event: dict | None, writer: ShardWriter) -> dict[str, Any]:
        """One shot of a shooting script."""
        records = [f.record for f in frames]
        size, size_source = fields.shot_size(records, self.config.min_face_score)
        writer.count(f"shot_size_from_{size_source or 'nothing'}")
        subjects = fields.main_subject(records)
        start, end = shot["start_s"], shot["end_s"]
        return {
            "number": number, "shot_index": shot["index"],
            "start_s": None if start is None else round(start, 3), "end_s": None if end is None else round(end, 3),
            "shot_size": size, "shot_size_source": size_source,
            "camera_position": fields.MOVEMENT_WORDS.get(motion.kind) if motion else None,
            "camera_angle": None, "focus": fields.focus(records, subjects), "action": fields.action(records),
            "duration_s": None if start is None else round(end - start, 3),
            "main_subject": subjects, "highlight_score": None,
            "characters": [{"person_id": person_id, "name": name,
                            "location_3d": located.get(person_id or name)}
                           for person_id, name in fields.characters(records)],
            "event": event, "dialogue": fields.dialogue(records, start, end),
            "camera_movement": motion.as_record() if motion else None, "layout": layout,
            "frame_keys": [f.key for f in frames],
        }


MEASURED = ["scene boundaries: keyframe colour and shared characters (and a model's scene numbers where given)",
            "start_s, end_s, duration_s: the shot's frame span",
            "shot_size where shot_size_source is face: the largest face's height (Table 3)",
            "layout.rms_error_px: how far the fitted camera reprojects the correspondences"]
ASSUMED = ["location_3d: a level pinhole camera (method.layout: height, field of view) and faces of "
           "method.layout.face_height_cm, unless a person's depth_m was measured",
           "layout.projection: the DLT fitted to those 3D points and the boxes",
           "location_3d moved back where a character would move faster than method.layout.max_speed_cm_s"]


def main(argv: list[str] | None = None) -> int:
    return stage_main(ScriptStage, argv)


if __name__ == "__main__":
    sys.exit(main())
