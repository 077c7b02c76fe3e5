"""Extraction stage: key information per keyframe (``skyscript extract IN OUT --backend ...``).

Backends (``backend`` setting):

- ``heuristic`` (default, offline, CPU): measured signals only, and it says so (outcome ``heuristic``,
  provenance ``heuristic-v1``). People come from the faces the privacy stage found *on the keyframe itself*
  with a score of at least ``person_min_score`` (faces found only on neighbouring frames by the privacy
  stage's fail-safe, tuned to over-detect, never become people): their box, and ``shot_type`` from the face's
  height in the frame by the Table 3 definitions. ``scene.number`` counts from 0 per video and changes when a
  shot's keyframe looks unlike the previous shot's (colour histograms); ``time_of_day`` is DAY or NIGHT from
  exposure. Every other field stays null.
- ``transformers``: a local image-text-to-text model (``model``: hub id or path), see ``annotate.vlm_transformers``.
- ``openai``: an OpenAI-compatible server (``endpoint``, ``model``), see ``annotate.vlm_openai``.

Model backends send the Table 3 prompt (``annotate/prompts``) with ``images_per_request`` keyframes per request
and store the raw answer as the sample's ``answer.txt``, with the request id, the image's index and which
image the model saw in ``extraction``; the repair stage parses it. Which image: the unpixelated ``raw.jpg`` to a
model on this machine (``transformers``, or an endpoint on loopback), because descriptions of people need their
faces; the pixelated ``jpg`` to an endpoint elsewhere unless ``send_raw_images`` (``--send-raw-images``) says
so on purpose. Answers are cached (``cache`` setting, by default ``OUT/_cache/responses.sqlite``) by model,
revision, prompt sha, generation settings and images. A video is processed ``requests_in_flight`` requests at a
time, so memory stays bounded for any length.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from annotate.chat_models import MODEL_BACKENDS, ChatModelStage, ModelSettings, is_loopback, make_client
from annotate.config import operational
from annotate.errors import ModelError
from annotate.people import keyframe_faces, person_from_face
from annotate.prompt import extraction_prompt
from annotate.runner import FrameStage, Task, VideoStage, stage_main
from annotate.vlm import ChatRequest, ModelCallError
from builder.sample import Sample
from builder.shards import Quarantine, ShardWriter

HEURISTIC = "heuristic-v1"


@dataclass
class ExtractConfig(ModelSettings):
    """Settings of the extraction stage (``--backend openai --endpoint URL --model NAME``)."""

    backend: str = "heuristic"  # heuristic, transformers or openai
    images_per_request: int = 1
    send_raw_images: bool = False  # send raw.jpg (faces visible) to an endpoint that is not on this machine
    requests_in_flight: int = operational(64)  # requests of a video prepared and sent together
    person_min_score: float = 0.5  # heuristic: keyframe face score from which a face becomes a person
    scene_change: float = 0.5  # heuristic: histogram distance (0..1) that starts a new scene
    night_max_brightness: float = 70.0  # heuristic: mean gray level at or below which a frame is NIGHT
    shard_max_count: int = operational(1000)


def _histogram(image: Image.Image) -> np.ndarray:
    hist = np.asarray(image.convert("RGB").resize((64, 36)).histogram(), dtype=np.float64)
    return hist / hist.sum()


class ExtractStage(ChatModelStage, FrameStage, VideoStage[ExtractConfig]):
    """Describe every keyframe: the heuristic baseline, or a VLM with the Table 3 prompt."""

    name = "extract"
    config_class = ExtractConfig
    cli_options = {"--backend": "backend", "--model": "model", "--endpoint": "endpoint",
                   "--api-key-env": "api_key_env", "--images-per-request": "images_per_request"}
    cli_flags = {"--send-raw-images": "send_raw_images"}

    def version(self) -> str:
        if self.config.backend == "heuristic":
            return f"{self.code_version}+{HEURISTIC}"
        one, many = (extraction_prompt(self.config.prompt_version, n).sha for n in (1, 2))  # both format variants
        return f"{self.code_version}+prompt:{one}+{many}"

    def setup(self, device) -> None:
        c = self.config
        if c.images_per_request < 1:
            raise ModelError("images_per_request must be at least 1")
        if c.backend == "heuristic":
            self.client = None
            return
        if c.backend not in MODEL_BACKENDS:
            raise ModelError(f"backend {c.backend!r}: use heuristic, {' or '.join(MODEL_BACKENDS)}")
        self.client = make_client(c, str(device))
        self.prompt = extraction_prompt(c.prompt_version, c.images_per_request)
        local = c.backend == "transformers" or is_loopback(c.endpoint)
        self.image = "raw" if local or c.send_raw_images else "pixelated"

    def begin(self, task: Task, writer: ShardWriter) -> None:
        self.task, self.requests_sent = task, 0
        self.scene, self.last_histogram, self.last_shot = 0, None, None

    def cut(self, batch: list[Sample], following: Sample) -> bool:
        if self.client is None:
            return True
        return len(batch) >= self.config.images_per_request * self.config.requests_in_flight

    def frames(self, batch: list[Sample], writer: ShardWriter, quarantine: Quarantine) -> Iterator[Sample]:
        writer.count("frames", len(batch))
        if self.client is None:
            return (self.heuristic(s, writer) for s in batch)
        return iter(self.ask(batch, writer))

    # ---- heuristic ---------------------------------------------------------------------------------------

    def heuristic(self, sample: Sample, writer: ShardWriter) -> Sample:
        """One frame from measured signals (frames of one video arrive in order: the scene count is per video)."""
        record = dict(sample.record)
        image = Image.open(io.BytesIO(sample.members.get("raw.jpg") or sample.members["jpg"]))
        if record["shot_index"] != self.last_shot:
            histogram = _histogram(image)
            if self.last_histogram is not None and \
                    0.5 * np.abs(histogram - self.last_histogram).sum() >= self.config.scene_change:
                self.scene += 1
                writer.count("heuristic_scene_changes")
            self.last_histogram, self.last_shot = histogram, record["shot_index"]
        brightness = float(np.asarray(image.convert("L")).mean())
        record["scene"] = {"number": self.scene, "name": None, "int_ext": None,
                           "time_of_day": "NIGHT" if brightness <= self.config.night_max_brightness else "DAY"}
        faces = keyframe_faces(record, self.config.person_min_score)
        writer.count("faces_not_people", len((record.get("privacy") or {}).get("faces", [])) - len(faces))
        people = [person_from_face(box, record["height"], "privacy-stage face detector") for box in faces]
        record["people"] = people
        record["extraction"] = {"outcome": "heuristic", "request_id": None, "index": None, "image": None}
        record["provenance"] = [*record.get("provenance", []), self.provenance(model=HEURISTIC)]
        writer.count("people", len(people))
        return Sample(sample.key, record, sample.members)

    # ---- model backends ----------------------------------------------------------------------------------

    def ask(self, frames: list[Sample], writer: ShardWriter) -> list[Sample]:
        n, member = self.config.images_per_request, "raw.jpg" if self.image == "raw" else "jpg"
        groups = [frames[i:i + n] for i in range(0, len(frames), n)]
        requests = []
        for group in groups:  # the last group may be smaller: its prompt says how many images
            p = self.prompt if len(group) == n else extraction_prompt(self.config.prompt_version, len(group))
            images = tuple(s.members[member] for s in group)
            requests.append((ChatRequest(f"{self.task.name}-{self.requests_sent:05d}", p.system, p.user, images),
                             p.sha))
            self.requests_sent += 1
        client = self.cached_client(Path(writer.folder))
        answers = client.complete([r for r, _ in requests], self.config.generation())
        failed = [a for a in answers if isinstance(a, ModelCallError)]
        if failed:  # the task fails and is retried on the next run; answers so far are cached
            raise failed[0]
        out = []
        for (request, sha), group, answer in zip(requests, groups, answers):
            writer.count("requests")
            writer.count(f"images_sent_{self.image}", len(group))
            for index, sample in enumerate(group):
                record = dict(sample.record)
                record["extraction"] = {"outcome": None, "request_id": request.request_id, "index": index,
                                        "image": self.image}
                record["provenance"] = [*record.get("provenance", []),
                                        self.provenance(client.model, self.config.revision, sha)]
                out.append(Sample(sample.key, record, {**sample.members, "answer.txt": answer.encode("utf-8")}))
        return out


def main(argv: list[str] | None = None) -> int:
    return stage_main(ExtractStage, argv)


if __name__ == "__main__":
    sys.exit(main())
