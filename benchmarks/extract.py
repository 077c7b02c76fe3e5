"""Extraction and repair throughput: the heuristic backend, the repair stage, and the openai client's
requests/s against a local server at concurrency 1, 8 and 32.

- heuristic: frames/s of the extract stage (steady state) on the bundled clip's keyframes (through privacy);
- repair: records/s on 2,000 answers (80% valid, 15% locally repairable, 5% lost), beside plain ``json.loads``
  of the same answers as the baseline;
- openai: requests/s of ``OpenAIClient.complete`` on 256 one-image requests to a real HTTP server on
  127.0.0.1 that answers after ``--latency-ms`` (default 100), beside the ideal ``concurrency / latency``.

Run: ``.venv/bin/python benchmarks/extract.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from chat_server import ChatServer, Reply, official_answer  # noqa: E402
from common import figure  # noqa: E402
from factories import jpeg_bytes  # noqa: E402

from annotate.extract import ExtractConfig, ExtractStage  # noqa: E402
from annotate.keyframes import KeyframesConfig, KeyframesStage  # noqa: E402
from annotate.privacy import PrivacyConfig, PrivacyStage  # noqa: E402
from annotate.repair import RepairConfig, RepairStage  # noqa: E402
from annotate.runner import run_stage  # noqa: E402
from annotate.vlm import ChatRequest, GenerationSettings  # noqa: E402
from annotate.vlm_openai import OpenAIClient  # noqa: E402
from builder.contract import blank  # noqa: E402
from builder.sample import Sample  # noqa: E402
from builder.shards import Quarantine, ShardWriter, iter_shard, shard_paths  # noqa: E402


def timed_task(stage, folder: Path, out: Path) -> float:
    """Seconds for the stage's one task over ``folder`` (the previous stage's OUT), models already loaded."""
    [task] = stage.tasks(folder)
    start = time.perf_counter()
    with ShardWriter(out, "bench", Quarantine(out / "q.jsonl", "bench")) as writer:
        stage.run_task(task, writer, Quarantine(out / "q.jsonl", "bench"))
    return time.perf_counter() - start


def heuristic(work: Path) -> None:
    run_stage(KeyframesStage(KeyframesConfig(every_s=0.25)), REPO / "samples" / "bigbuckbunny.mp4", work / "kf",
              progress=False)
    run_stage(PrivacyStage(PrivacyConfig(temporal_radius=0)), work / "kf", work / "privacy", progress=False)
    [shard] = shard_paths(work / "privacy")
    n = sum(1 for _ in iter_shard(shard))
    stage = ExtractStage(ExtractConfig())
    stage.setup("cpu")
    seconds = min(timed_task(stage, work / "privacy", work / f"h{i}") for i in range(3))
    print(f"heuristic extract: {n / seconds:8.1f} frames/s ({n} 720p frames)")
    figure("extract", "heuristic extract stage (720p keyframes)", n / seconds, "frames/s")


def answers(n: int) -> list[str]:
    good = official_answer(1)
    out = []
    for i in range(n):
        if i % 20 == 19:
            out.append("I'm sorry, I cannot describe this image.")
        elif i % 20 >= 16:
            out.append(f"Here is the JSON:\n{good[:-1]},")  # prose, a missing brace, a trailing comma
        else:
            out.append(good)
    return out


def repair(work: Path, n: int) -> None:
    texts = answers(n)
    folder = work / "answers"
    with ShardWriter(folder, "extract-bench", Quarantine(work / "q.jsonl", "b"), max_count=n) as writer:
        for k, text in enumerate(texts):
            record = blank("frame")
            record.update(video_id="bench", shot_index=0, frame_index=k, width=32, height=18,
                          extraction={"outcome": None, "request_id": f"r{k}", "index": 0, "image": "raw"})
            assert writer.write(Sample(f"bench_{k:07d}", record, {"raw.jpg": jpeg_bytes(32, 18, k % 7),
                                                                   "answer.txt": text.encode()}))
    stage = RepairStage(RepairConfig())
    stage.setup("cpu")
    seconds = min(timed_task(stage, folder, work / f"r{i}") for i in range(2))
    start = time.perf_counter()
    for text in texts:
        try:
            json.loads(text)
        except ValueError:
            pass
    baseline = time.perf_counter() - start
    print(f"repair stage:      {n / seconds:8.0f} records/s ({n} answers: 80% valid, 15% repairable, 5% lost); "
          f"json.loads alone {n / baseline:,.0f}/s")
    figure("extract", "repair stage", n / seconds, "records/s", "json.loads alone", n / baseline)


def openai(latency_ms: float, requests: int) -> None:
    image = jpeg_bytes(320, 180, 1)
    with ChatServer(lambda body, attempt: Reply(official_answer(1), delay_s=latency_ms / 1000)) as server:
        for concurrency in (1, 8, 32):
            client = OpenAIClient(server.endpoint, "bench", concurrency=concurrency, retries=0)
            batch = [ChatRequest(f"r{i}", "system", "describe", (image,)) for i in range(requests)]
            start = time.perf_counter()
            replies = client.complete(batch, GenerationSettings())
            seconds = time.perf_counter() - start
            assert all(isinstance(r, str) for r in replies)
            ideal = concurrency / (latency_ms / 1000)
            print(f"openai client, concurrency {concurrency:2d}: {requests / seconds:7.1f} requests/s "
                  f"(ideal at {latency_ms:.0f} ms latency: {ideal:.1f})")
            figure("extract", f"openai client, concurrency {concurrency}", requests / seconds, "requests/s",
                   f"ideal: concurrency / {latency_ms:.0f} ms", ideal)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--answers", type=int, default=2000)
    p.add_argument("--requests", type=int, default=256)
    p.add_argument("--latency-ms", type=float, default=100.0)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp())
    try:
        heuristic(work)
        repair(work, args.answers)
        openai(args.latency_ms, args.requests)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
