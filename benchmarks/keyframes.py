"""Keyframes stage throughput beside its two unavoidable parts: decoding and TransNetV2 inference.

For each video prints frames/s of (1) decoding alone with PyAV (to 48x27 RGB, what the model needs), and
``ffmpeg -f null`` when the binary exists, (2) TransNetV2 inference alone on those frames (batched windows) with the stage's
backend (``shots_backend=auto``: OpenVINO on a CPU), and with PyTorch, (3) the whole stage in steady state (model
loaded; shards, JPEGs, shots and signals files written), then the stage's overhead over (1)+(2), and what the
highlight signals cost inside it: the audio decoded and measured alone, and motion activity alone on the decoded
small frames. The whole stage also runs with ``shots_overlap=false`` (one window at a time, waiting for decoding),
and when its backend is not torch, with ``shots_precision=f32`` (what a CPU without bf16 gets) and
``shots_backend=torch``; each says whether it found the same shots and keyframes as the default. The stage is
compared with decoding plus TransNetV2 in PyTorch alone (the issue's aim: at least 4x on a CPU with bf16, 1.3x with
f32 only; whether this CPU has AMX/AVX512-BF16 is printed, and the load average, as other work on the machine slows
OpenVINO more than PyTorch). Each measurement is the shortest of ``--repeat`` rounds (default 2) in which every one
runs in turn, so a machine whose speed drifts during the run slows both sides of a ratio alike. Run:
``.venv/bin/python benchmarks/keyframes.py [VIDEO ...]`` (default: the music video in ../shared/data and the bundled
720p clip).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BUNDLED_CLIP, MUSIC_VIDEO, REPO, best_interleaved, bf16_flags, figure

sys.path.insert(0, str(REPO))

import av  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from annotate.inputs import discover_videos  # noqa: E402
from annotate.keyframes import KeyframesConfig, KeyframesStage  # noqa: E402
from annotate.runner import Task  # noqa: E402
from annotate.shots import INPUT_SIZE, TransNetV2Stream  # noqa: E402
from annotate.signals import MotionMeter, SoundMeter  # noqa: E402
from annotate.video import Converter  # noqa: E402
from builder.shards import Quarantine, ShardWriter  # noqa: E402


def decode_small(path: Path) -> np.ndarray:
    """Every frame at TransNetV2's input size, converted as the stage converts them (one reused scaler)."""
    small = Converter("rgb24", "AREA")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return np.stack([small.array(f, (INPUT_SIZE[1], INPUT_SIZE[0])) for f in container.decode(stream)])


def sound_alone(path: Path) -> None:
    """The audio stream demuxed, decoded and measured as the stage does, without the video."""
    meter = SoundMeter(KeyframesConfig.signals_step_s)
    meter.set_origin(0.0)
    with av.open(str(path)) as container:
        if container.streams.audio:
            for frame in container.decode(audio=0):
                meter.add(frame)


def motion_alone(frames: np.ndarray) -> None:
    meter = MotionMeter(KeyframesConfig.signals_step_s)
    for index, frame in enumerate(frames):
        meter.add(frame, index / 25)


def ffmpeg_null(path: Path) -> float | None:
    if not shutil.which("ffmpeg"):
        return None
    start = time.perf_counter()
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-an", "-f", "null", "-"], check=True)
    return time.perf_counter() - start


def variants(stage: KeyframesStage, device: str) -> dict[str, KeyframesStage]:
    """The default stage beside what it is compared with: without overlap, and when its backend is not torch,
    OpenVINO forced to f32 (what a CPU without bf16 gets) and the torch backend."""
    configs = {"default": None, "shots_overlap=false": KeyframesConfig(shots_overlap=False)}
    if not stage.shots_runtime.startswith("torch"):
        if stage.shots_runtime != "openvino-f32":
            configs["shots_precision=f32"] = KeyframesConfig(shots_precision="f32")
        configs["shots_backend=torch"] = KeyframesConfig(shots_backend="torch")
    stages = {"default": stage}
    for label, config in configs.items():
        if config is not None:
            stages[label] = KeyframesStage(config)
            stages[label].setup(device)
    return stages


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("videos", nargs="*", type=Path,
                   default=[MUSIC_VIDEO, BUNDLED_CLIP])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--profile", action="store_true", help="print where the stage's time goes")
    args = p.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    stage = KeyframesStage(KeyframesConfig())
    stage.setup(device)
    stages = variants(stage, device)
    reference = stages.get("shots_backend=torch")
    torch_model = (reference or stage).stream.model
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), PyAV {av.__version__}, "
          f"device {stage.device}, TransNetV2 backend {stage.shots_runtime}, CPU bf16 flags: {bf16_flags()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    for path in args.videos:
        frames = decode_small(path)
        n = len(frames)
        t_ffmpeg = ffmpeg_null(path)

        def infer(model=stage.stream.model) -> None:
            stream = TransNetV2Stream(model, stage.stream.batch_size, overlap=True)
            for i in range(0, n, 50):
                stream.feed(frames[i:i + 50])
            stream.finish()

        [video] = discover_videos(path)
        out = Path(tempfile.mkdtemp())
        shots: dict[str, list[list[int]]] = {}  # each variant's last run's shots and keyframes

        def whole(label: str = "default") -> None:
            folder = out / label
            folder.mkdir(exist_ok=True)
            with ShardWriter(folder, "bench", Quarantine(folder / "q.jsonl", "bench")) as writer:
                stages[label].run_task(Task(video.video_id, video, video.relative), writer,
                                       Quarantine(folder / "q.jsonl", "b"))
            found = json.loads((folder / "shots" / f"{video.video_id}.json").read_text())["shots"]
            shots[label] = [[shot["start_frame"], shot["end_frame"], shot["keyframes"]] for shot in found]

        calls = {"decode": lambda: decode_small(path), "infer": infer}
        if reference:
            calls["torch"] = lambda: infer(torch_model)
        calls |= {label: lambda label=label: whole(label) for label in stages}
        calls |= {"sound": lambda: sound_alone(path), "motion": lambda: motion_alone(frames)}
        measured = best_interleaved(calls, args.repeat)
        t_decode, t_infer, t_sound, t_motion = (measured[k] for k in ("decode", "infer", "sound", "motion"))
        t_torch = measured.get("torch", t_infer)
        times = {label: measured[label] for label in stages}
        t_stage = times["default"]
        base = t_decode + t_infer
        print(f"\n{path.name}: {n} frames, load average {os.getloadavg()[0]:.1f}")
        print(f"  {'decode alone (PyAV -> 48x27)':38s} {n / t_decode:9.0f} frames/s")
        if t_ffmpeg:
            print(f"  {'decode alone (ffmpeg -f null)':38s} {n / t_ffmpeg:9.0f} frames/s")
        print(f"  {'TransNetV2 inference alone':38s} {n / t_infer:9.0f} frames/s  ({stage.shots_runtime})")
        if reference:
            print(f"  {'TransNetV2 inference alone, PyTorch':38s} {n / t_torch:9.0f} frames/s")
        print(f"  {'decode + inference (sum of the two)':38s} {n / base:9.0f} frames/s")
        for label, seconds in times.items():
            same = "" if label == "default" else \
                f"  (same shots and keyframes as the default: {'yes' if shots[label] == shots['default'] else 'NO'})"
            print(f"  {'whole stage, ' + label:38s} {n / seconds:9.0f} frames/s{same}")
        print(f"  stage / (decode + inference) time: {t_stage / base:.3f}  (aim: <= 1.10)")
        figure("keyframes", f"whole stage, {path.name}", n / t_stage, "frames/s", "decode + inference", n / base)
        figure("keyframes", f"whole stage, {path.name}", n / t_stage, "frames/s", "shots_overlap=false",
               n / times["shots_overlap=false"])
        if reference:
            torch_base = t_decode + t_torch
            print(f"  {'decode + TransNetV2 in PyTorch alone':38s} {n / torch_base:9.0f} frames/s")
            print(f"  whole stage ({stage.shots_runtime}) / (decode + PyTorch alone): {torch_base / t_stage:.2f}x "
                  f"(aim: >= 4x with bf16, >= 1.3x with f32 only); {len(shots['default'])} shots")
            figure("keyframes", f"whole stage ({stage.shots_runtime}), {path.name}", n / t_stage, "frames/s",
                   "decode + TransNetV2 in PyTorch alone", n / torch_base)
            if "shots_precision=f32" in times:
                print(f"  whole stage, openvino-f32 / (decode + PyTorch alone): "
                      f"{torch_base / times['shots_precision=f32']:.2f}x (a CPU without bf16)")
                figure("keyframes", f"whole stage (openvino-f32), {path.name}", n / times["shots_precision=f32"],
                       "frames/s", "decode + TransNetV2 in PyTorch alone", n / torch_base)
        print(f"  {'signals: audio decode + sound energy':38s} {t_sound:9.3f} s ({t_sound / t_stage:.1%} of the stage)")
        print(f"  {'signals: motion activity':38s} {t_motion:9.3f} s ({t_motion / t_stage:.1%} of the stage)")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(whole)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
