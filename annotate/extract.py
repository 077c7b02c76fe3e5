"""Extraction stage: key information per keyframe (``skyscript extract IN OUT --backend ...``).

Backends (``backend`` setting):

- ``heuristic`` (default, offline, CPU): measured signals only, and it says so in provenance. People come from
  the faces the privacy stage found (their box, and ``shot_type`` from the face's height in the frame by the
  Table 3 definitions); ``scene.number`` changes when a shot's keyframe looks unlike the previous shot's
  (colour histograms); ``time_of_day`` is DAY or NIGHT from exposure. Every other field stays null.
- ``transformers``: a local image-text-to-text model (``model``: hub id or path), see ``annotate.vlm_transformers``.
- ``openai``: an OpenAI-compatible server (``endpoint``, ``model``), see ``annotate.vlm_openai``.

Model backends send the Table 3 prompt (``annotate/prompts``) with ``images_per_request`` unpixelated keyframes
(``raw.jpg``) per request and store the raw answer as the sample's ``answer.txt``, with the request id and
the image's index in ``extraction``; the repair stage parses it. Answers are cached (``cache`` setting, by
default ``OUT/_cache/responses.sqlite``) by model, revision, prompt sha, generation settings and images.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from annotate.config import settings_sha
from annotate.errors import ModelError
from annotate.prompt import extraction_prompt
from annotate.runner import ShardStage, Task, stage_main
from annotate.vlm import ChatModelStage, ChatRequest, GenerationSettings, ModelCallError, make_client
from builder.contract import blank
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter, iter_shard

HEURISTIC = "heuristic-v1"
#: Table 3's shot types from the face's height as a share of the frame's height (lower bounds)
SHOT_BY_FACE_HEIGHT = (("extreme_close_up", 0.75), ("close_up", 0.35), ("medium", 0.15), ("full", 0.07),
                       ("wide", 0.0))


@dataclass
class ExtractConfig:
    """Settings of the extraction stage (``--backend openai --endpoint URL --model NAME``)."""

    backend: str = "heuristic"  # heuristic, transformers or openai
    model: str | None = None  # hub id or local path (transformers), served model name (openai)
    revision: str | None = None
    endpoint: str | None = None  # e.g. http://127.0.0.1:8000/v1
    api_key_env: str = "OPENAI_API_KEY"  # name of the environment variable holding the key
    images_per_request: int = 1
    concurrency: int = 8
    timeout_s: float = 120.0
    retries: int = 4
    max_new_tokens: int = 1024
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 4  # transformers: requests per generate call
    device: str = "auto"
    dtype: str = "auto"
    prompt_version: str = "v1"
    cache: str | None = None  # response cache file; default OUT/_cache/responses.sqlite
    scene_change: float = 0.5  # heuristic: histogram distance (0..1) that starts a new scene
    night_max_brightness: float = 70.0  # heuristic: mean gray level at or below which a frame is NIGHT
    shard_max_count: int = 1000


def shot_type_of_face(face_height: float, frame_height: int) -> str:
    """Table 3's shot type from how much of the frame's height a face takes."""
    share = face_height / frame_height
    return next(name for name, low in SHOT_BY_FACE_HEIGHT if share >= low)


def _merge_boxes(boxes: list[list[float]]) -> list[list[float]]:
    """Boxes of one face found several times (keyframe, neighbours) become one: the first of each overlap group."""
    kept: list[list[float]] = []
    for box in boxes:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        if not any(k[0] <= cx <= k[2] and k[1] <= cy <= k[3] for k in kept):
            kept.append(box)
    return kept


def _histogram(image: Image.Image) -> np.ndarray:
    hist = np.asarray(image.convert("RGB").resize((64, 36)).histogram(), dtype=np.float64)
    return hist / hist.sum()


class ExtractStage(ChatModelStage, ShardStage[ExtractConfig]):
    """Describe every keyframe: the heuristic baseline, or a VLM with the Table 3 prompt."""

    name = "extract"
    config_class = ExtractConfig
    cli_options = {"--backend": "backend", "--model": "model", "--endpoint": "endpoint",
                   "--api-key-env": "api_key_env", "--images-per-request": "images_per_request"}

    def setup(self, device) -> None:
        c = self.config
        self.settings = settings_sha(c)
        self.generation = GenerationSettings(c.max_new_tokens, c.temperature, c.top_p, c.seed)
        if c.images_per_request < 1:
            raise ModelError("images_per_request must be at least 1")
        if c.backend == "heuristic":
            self.client = None
            return
        if c.backend not in ("transformers", "openai"):
            raise ModelError(f"backend {c.backend!r}: use heuristic, transformers or openai")
        client = make_client(c, str(device))
        self.client = client
        self.prompt = extraction_prompt(c.prompt_version, c.images_per_request)

    # ---- heuristic ---------------------------------------------------------------------------------------

    def heuristic(self, frames: list[Sample], writer: ShardWriter) -> list[Sample]:
        out, scene, previous = [], 0, {}
        last_shot: tuple[str, int] | None = None
        for sample in frames:
            record = dict(sample.record)
            image = Image.open(io.BytesIO(sample.members.get("raw.jpg") or sample.members["jpg"]))
            shot = (record["video_id"], record["shot_index"])
            if shot != last_shot:
                hist = _histogram(image)
                before = previous.get(record["video_id"])
                if before is not None and 0.5 * np.abs(hist - before).sum() >= self.config.scene_change:
                    scene += 1
                    writer.count("heuristic_scene_changes")
                previous[record["video_id"]], last_shot = hist, shot
            brightness = float(np.asarray(image.convert("L")).mean())
            record["scene"] = {"number": scene, "name": None, "int_ext": None,
                               "time_of_day": "NIGHT" if brightness <= self.config.night_max_brightness else "DAY"}
            faces = _merge_boxes([f["bbox"] for f in (record.get("privacy") or {}).get("faces", [])])
            people = []
            for box in faces:
                person = blank("frame", "person")
                person["shot_type"] = shot_type_of_face(box[3] - box[1], record["height"])
                person["face"] = {"bbox": box, "age": None, "gender": None, "emotion": None, "race": None,
                                  "source": "privacy-stage face detector"}
                people.append(person)
            record["people"] = people
            record["extraction"] = {"outcome": "direct", "request_id": None, "index": None}
            record["provenance"] = [*record.get("provenance", []), self._provenance(HEURISTIC, None)]
            writer.count("people", len(people))
            out.append(Sample(sample.key, record, sample.members))
        return out

    def _provenance(self, model: str, prompt_sha: str | None) -> dict:
        return {"stage": self.name, "model": model, "revision": self.config.revision if self.client else None,
                "prompt_sha": prompt_sha, "settings_sha": self.settings}

    # ---- model backends ----------------------------------------------------------------------------------

    def ask(self, task: Task, frames: list[Sample], writer: ShardWriter) -> list[Sample]:
        n = self.config.images_per_request
        groups = [frames[i:i + n] for i in range(0, len(frames), n)]
        requests = []
        for k, group in enumerate(groups):  # the last group may be smaller: its prompt says how many images
            p = self.prompt if len(group) == n else extraction_prompt(self.config.prompt_version, len(group))
            images = tuple(s.members.get("raw.jpg") or s.members["jpg"] for s in group)
            requests.append((ChatRequest(f"{task.name}-{k:05d}", p.system, p.user, images), p.sha))
        client = self.cached_client(Path(writer.folder))
        answers = client.complete([r for r, _ in requests], self.generation)
        failed = [a for a in answers if isinstance(a, ModelCallError)]
        if failed:  # the task fails and is retried on the next run; answers so far are cached
            raise failed[0]
        out = []
        for (request, sha), group, answer in zip(requests, groups, answers):
            writer.count("requests")
            for index, sample in enumerate(group):
                record = dict(sample.record)
                record["extraction"] = {"outcome": None, "request_id": request.request_id, "index": index}
                record["provenance"] = [*record.get("provenance", []), self._provenance(client.model, sha)]
                out.append(Sample(sample.key, record, {**sample.members, "answer.txt": answer.encode("utf-8")}))
        return out

    def run_task(self, task: Task, writer: ShardWriter, quarantine: Quarantine) -> None:
        samples = list(iter_shard(task.payload))
        frames = [s for s in samples if s.kind == "frame"]
        done = {s.key: s for s in (self.heuristic(frames, writer) if self.client is None
                                   else self.ask(task, frames, writer))}
        writer.count("frames", len(frames))
        for sample in samples:
            writer.write(done.get(sample.key, sample))


def main(argv: list[str] | None = None) -> int:
    return stage_main(ExtractStage, argv)


if __name__ == "__main__":
    sys.exit(main())
