"""The scale plan's figures (docs/scale.md): what one hour of 720p video costs per stage, what the published
dataset stores per frame, per record and per hour, and what the paper's 2,000 hours would take on N machines.

It makes a 720p test video from the bundled CC-BY clip (``samples/bigbuckbunny.mp4``, 1280x720, 25 fps, 5.28 s):
the clip repeated up to ``--seconds`` (default 60), re-encoded as H.264 (libx264, CRF 23, preset veryfast) with
its sound as stereo AAC, in a temporary folder. Then it runs the whole pipeline once, as a user would:
``skyscript run VIDEO OUT --config configs/demo.yaml`` (one process), and measures from outside, polling every
0.2 s, when each stage starts (its ``OUT/work/<stage>/_tasks`` folder appears) and ends (its
``<stage>.stats.json`` summary appears), the process's CPU time at those moments (``/proc/PID/stat``: every
thread) and its peak memory. From the run's own records it reads each stage's task seconds (the task markers'
``seconds``), samples written and counts (the summaries), and the published dataset folder's shards per config
(``OUT/skyscript-100m/<config>/*.tar``, the JPEG members of ``frames`` summed apart).

It prints, per stage: task seconds (the runner's), stage wall seconds and the part outside the tasks (model loading
in ``setup``, carrying files), CPU seconds and cores busy, each per hour of video (x 3600 / video seconds); storage
per frame, per record and per hour; and the projection for the paper's 2,000 hours (core-hours, wall time on
N = 1, 10, 100 machines of ``--cores`` cores, assuming linear scaling over processes: ``accelerate launch``
multi-node gives each process whole videos), with the paper's counts beside. The load average is printed before,
during and after: on a machine shared with other work, wall times are inflated (CPU seconds much less so).

What is not measured: the model backends (the paper's InternVL2-Llama3-76B extraction, the LLM repair and
100 restorations per shooting script) need GPUs; the demo config runs the offline backends (heuristic extraction,
template restoration). The request counts they would need per hour are printed instead.

Run: ``.venv/bin/python benchmarks/scale.py [--seconds S] [--cores C] [--set SECTION.KEY=VALUE ...] [--keep DIR]
[--source CLIP]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

from common import BUNDLED_CLIP, REPO, bf16_flags, cpu, figure, text_table

import av  # noqa: E402

sys.path.insert(0, str(REPO))

from builder.contract import STAGES  # noqa: E402

SKYSCRIPT = REPO / ".venv" / "bin" / "skyscript"
DATASET = "skyscript-100m"
CONFIGS = ("frames", "shooting_scripts", "highlight_curves", "pairs")
TICK = os.sysconf("SC_CLK_TCK")

# The paper's counts (abstract, section 1, section 3.2): 6,660 dramas of about 100 episodes each, about 80,000
# episodes, about 2,000 hours, 10 TB of video, about 10,000,000 shooting scripts, 100 restorations each -> 1e9
# pairs; 500 dramas analysed held 134,093 valid + 5,441 invalid keyframes; about 4% of the answers needed the
# JSON repair step.
PAPER = {"dramas": 6660, "episodes": 80_000, "hours": 2000, "video_bytes": 10e12, "scripts": 10_000_000,
         "restorations": 100, "pairs": 1_000_000_000, "sample_dramas": 500, "sample_valid": 134_093,
         "sample_invalid": 5_441, "repair_share": 0.04}
MACHINES = (1, 10, 100)


# ---- the test input ----------------------------------------------------------------------------------------------

def make_video(source: Path, target: Path, seconds: float) -> dict:
    """``source`` repeated up to ``seconds``: H.264 (CRF 23, veryfast) and stereo AAC, timestamps continuous."""
    with av.open(str(source)) as probe:
        video = probe.streams.video[0]
        fps, width, height = video.average_rate, video.codec_context.width, video.codec_context.height
        audio = probe.streams.audio[0] if probe.streams.audio else None
        rate = audio.codec_context.sample_rate if audio else None
    frames_wanted = round(seconds * fps)
    samples_wanted = round(seconds * rate) if rate else 0
    out = av.open(str(target), "w")
    encoder = out.add_stream("libx264", rate=fps)
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.options = {"crf": "23", "preset": "veryfast"}
    sound = out.add_stream("aac", rate=rate) if rate else None
    if sound:
        sound.layout = "stereo"
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate) if rate else None
    frames = samples = 0
    try:
        while frames < frames_wanted or samples < samples_wanted:
            with av.open(str(source)) as clip:
                streams = [clip.streams.video[0]] + ([clip.streams.audio[0]] if sound else [])
                for packet in clip.demux(*streams):
                    for frame in packet.decode():
                        if isinstance(frame, av.VideoFrame):
                            if frames < frames_wanted:
                                frame.pts, frame.time_base = frames, 1 / Fraction(fps)
                                frames += 1
                                out.mux(encoder.encode(frame))
                        else:
                            for chunk in resampler.resample(frame):
                                if samples < samples_wanted:
                                    chunk.pts, chunk.time_base = samples, Fraction(1, rate)
                                    samples += chunk.samples
                                    out.mux(sound.encode(chunk))
        out.mux(encoder.encode())
        if sound:
            out.mux(sound.encode())
    finally:
        out.close()
    return {"frames": frames, "fps": float(fps), "seconds": frames / float(fps), "width": width, "height": height,
            "audio": bool(sound), "bytes": target.stat().st_size}


# ---- the run, watched from outside --------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of the process (all its threads) and its waited-for children, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(f) for f in fields[11:15]) / TICK  # utime stime cutime cstime (fields 14-17)


def peak_rss(pid: int) -> int | None:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def watch_run(video: Path, out: Path, config: Path, overrides: list[str], log: Path) -> dict:
    """Run the pipeline; every stage's start/end time and CPU time, publishing's, the load average during it."""
    work = out / "work"
    command = [str(SKYSCRIPT), "run", str(video), str(out), "--config", str(config), "--no-progress",
               "--pictures", "0"] + [f"--set={o}" for o in overrides]
    events: dict[str, tuple[float, float]] = {}  # "start:stage" / "end:stage" -> (time, cpu)
    loads, rss = [], 0
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONUNBUFFERED="1")
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
        def look(now: float, cpu: float) -> None:
            for stage in STAGES:
                for event, path in (("start", work / stage / "_tasks"), ("end", work / stage / f"{stage}.stats.json")):
                    if f"{event}:{stage}" not in events and path.exists():
                        events[f"{event}:{stage}"] = (now, cpu)
            if "end:publish" not in events and (out / DATASET / "README.md").exists():
                events["end:publish"] = (now, cpu)

        last_cpu, polls = 0.0, 0
        try:
            while process.poll() is None:
                now, cpu = time.perf_counter(), cpu_seconds(process.pid)
                last_cpu = cpu if cpu is not None else last_cpu
                rss = max(rss, peak_rss(process.pid) or 0)
                look(now, last_cpu)
                if polls % 25 == 0:  # every 5 s
                    loads.append(os.getloadavg()[0])
                polls += 1
                time.sleep(0.2)
        finally:
            if process.poll() is None:  # interrupted: the run goes too
                process.kill()
                process.wait()
    ended = time.perf_counter()
    children = os.times()
    look(ended, children.children_user + children.children_system)  # what appeared after the last poll
    return {"command": command, "returncode": process.returncode, "started": started, "ended": ended,
            "events": events, "loads": loads, "peak_rss": rss,
            "cpu_total": children.children_user + children.children_system}


# ---- what the run recorded --------------------------------------------------------------------------------------

def stage_records(work: Path, stage: str) -> dict:
    """The stage's summary and the sum of its task markers' seconds."""
    summary = json.loads((work / stage / f"{stage}.stats.json").read_text(encoding="utf-8"))
    markers = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((work / stage / "_tasks").glob("*.json"))]
    return {"summary": summary, "task_seconds": sum(m.get("seconds", 0.0) for m in markers),
            "tasks": len(markers)}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def dataset_storage(dataset: Path) -> dict[str, dict]:
    """Per config: shards, their bytes on disk, records (from the shards' stats), the members' bytes by extension,
    and ``bytes``: what the records take inside a shard (each member's 512-byte header and its data padded to
    512 bytes), without the end-of-archive padding to 10 KiB that a shard of one record is mostly made of."""
    storage = {}
    for config in CONFIGS:
        shards = sorted((dataset / config).glob("*.tar"))
        records = sum(json.loads(s.with_name(s.name.removesuffix(".tar") + ".stats.json").read_text())["written"]
                      for s in shards)
        members: dict[str, int] = {}
        inside = 0
        for shard in shards:
            with tarfile.open(shard) as tar:
                for member in tar.getmembers():
                    inside += 512 + -(-member.size // 512) * 512
                    if member.isfile():
                        ext = member.name.rsplit(".", 1)[-1]
                        members[ext] = members.get(ext, 0) + member.size
        storage[config] = {"shards": len(shards), "on_disk": sum(s.stat().st_size for s in shards),
                           "bytes": inside, "records": records, "members": members}
    return storage


# ---- the report ----------------------------------------------------------------------------------------------------

def num(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "—"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.{digits}f}"


def size(n: float | None) -> str:
    if n is None:
        return "—"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def duration(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:,.1f} days"
    if hours >= 1:
        return f"{hours:,.1f} h"
    return f"{hours * 60:,.0f} min"


def machine_lines() -> list[str]:
    model, _ = cpu()
    bf16 = bf16_flags(", ")
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "annotate", "builder", "configs"], cwd=REPO,
                                 capture_output=True, text=True, check=True).stdout.split("\n")
        changed = [line[3:] for line in changed if line.strip()]
        code = f"commit {head}" + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")
    except (OSError, subprocess.SubprocessError):
        code = "unknown (no git)"
    return [f"machine: {os.cpu_count()} CPU cores, {model} (bf16: {bf16}); GPU: none lent (CPU only)",
            f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; Python {platform.python_version()}; code: {code}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the test video (default 60)")
    parser.add_argument("--cores", type=int, default=32, help="cores per machine in the projection (default 32)")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "demo.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="passed on to skyscript run (repeatable)")
    parser.add_argument("--keep", type=Path, help="keep the test video and the run's OUT folder here")
    parser.add_argument("--source", type=Path, default=BUNDLED_CLIP,
                        help="the clip repeated into the test video (default: the bundled 720p clip)")
    args = parser.parse_args()
    if not args.source.exists():
        print(f"{args.source} is missing", file=sys.stderr)
        return 2
    for line in machine_lines():
        print(line)
    cores_here = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          f"({cores_here} cores usable)")

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # killed: the temporary folder still goes
    base = args.keep or Path(tempfile.mkdtemp(prefix="skyscript-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    video, out = base / "scale-720p.mp4", base / "out"
    shutil.rmtree(out, ignore_errors=True)
    try:
        t0 = time.perf_counter()
        made = make_video(args.source, video, args.seconds)
        print(f"input: {made['width']}x{made['height']} {made['fps']:g} fps, {made['seconds']:.2f} s "
              f"({made['frames']} frames), H.264 CRF 23 + {'stereo AAC' if made['audio'] else 'no sound'}, "
              f"{size(made['bytes'])} ({made['bytes'] * 8 / made['seconds'] / 1e6:.2f} Mbit/s), made in "
              f"{time.perf_counter() - t0:.1f} s from {args.source.name} (repeated)")
        command_line = ["skyscript run", str(video.name), "OUT", "--config",
                        str(args.config.relative_to(REPO) if args.config.is_relative_to(REPO) else args.config)]
        print("run: " + " ".join(command_line + [f"--set {o}" for o in args.overrides]))
        run = watch_run(video, out, args.config, args.overrides, base / "run.log")
        if run["returncode"] != 0:
            print((base / "run.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            print(f"skyscript run exited {run['returncode']}", file=sys.stderr)
            return 1
        report(args, made, run, out, cores_here, load_before)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


def report(args, made: dict, run: dict, out: Path, cores_here: int, load_before: tuple) -> None:
    work, video_s = out / "work", made["seconds"]
    per_hour = 3600.0 / video_s
    stages = [s for s in STAGES if (work / s / f"{s}.stats.json").exists()]
    events = run["events"]
    wall = run["ended"] - run["started"]
    load_after = os.getloadavg()
    loads = run["loads"] or [load_after[0]]
    print(f"load average during the run (1-min, sampled every 5 s): mean {sum(loads) / len(loads):.2f}, "
          f"max {max(loads):.2f}; after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")

    # -- per stage
    rows, task_total = [], 0.0
    per_stage = {}
    first_start = events.get(f"start:{stages[0]}", (run["started"], 0.0))
    keyframes = stage_records(work, "keyframes")["summary"]["written"]  # the keyframes stage writes frames only
    for stage in stages:
        rec = stage_records(work, stage)
        start, end = events.get(f"start:{stage}"), events.get(f"end:{stage}")
        stage_wall = end[0] - start[0] if start and end else None
        stage_cpu = end[1] - start[1] if start and end else None
        outside = stage_wall - rec["task_seconds"] if stage_wall is not None else None
        per_stage[stage] = {"task": rec["task_seconds"], "wall": stage_wall, "cpu": stage_cpu,
                            "written": rec["summary"]["written"], "counts": rec["summary"].get("counts", {})}
        task_total += rec["task_seconds"]
        busy = stage_cpu / stage_wall if stage_cpu is not None and stage_wall else None
        rows.append((stage, num(rec["task_seconds"]), num(stage_wall),
                     "<0.2" if outside is not None and outside < 0.2 else num(outside), num(stage_cpu),
                     num(busy, 2), num(stage_cpu / keyframes if stage_cpu is not None and keyframes else None, 3),
                     num(rec["task_seconds"] * per_hour),
                     num(stage_cpu * per_hour if stage_cpu is not None else None), f"{rec['summary']['written']:,}"))
    last = events.get(f"end:{stages[-1]}")
    publish = events.get("end:publish")
    if last and publish:
        p_wall, p_cpu = publish[0] - last[0], publish[1] - last[1]
        per_stage["publish"] = {"task": None, "wall": p_wall, "cpu": p_cpu}
        rows.append(("publish", "—", num(p_wall), "—", num(p_cpu), num(p_cpu / p_wall if p_wall else None, 2),
                     "—", "—", num(p_cpu * per_hour), "—"))
    startup_wall = first_start[0] - run["started"]
    startup_cpu = first_start[1]
    rows.append(("(startup: imports, config)", "—", num(startup_wall), "—", num(startup_cpu), "—", "—", "—",
                 num(startup_cpu * per_hour), "—"))
    rows.append(("total (whole process)", num(task_total), num(wall), "—", num(run["cpu_total"]),
                 num(run["cpu_total"] / wall, 2), num(run["cpu_total"] / keyframes if keyframes else None, 3),
                 num(task_total * per_hour), num(run["cpu_total"] * per_hour), "—"))
    print(f"\nper stage, one process on {cores_here} cores; video {video_s:.2f} s; x {per_hour:.1f} for one hour of "
          "video. task s: the runner's task markers; stage wall: the stage's folder appearing to its summary "
          "(outside tasks = wall - task s: model loading in setup, carrying files; polled every 0.2 s); CPU s: the "
          "process's CPU time (every thread) over the stage")
    print(text_table(("stage", "task s", "stage wall s", "outside tasks s", "CPU s", "cores busy",
                      "CPU s / keyframe", "task s / video h", "CPU s / video h", "written"), rows, set(range(1, 10))))
    print(f"peak memory of the process: {size(run['peak_rss'])}; keyframes: {keyframes} "
          f"({keyframes / video_s * 60:.1f} per minute of video)")
    # -- storage
    dataset = out / DATASET
    storage = dataset_storage(dataset)
    srows = []
    for config, s in storage.items():
        per_record = s["bytes"] / s["records"] if s["records"] else None
        srows.append((config, f"{s['records']:,}", f"{s['shards']}", size(s["on_disk"]), size(s["bytes"]),
                      size(per_record), num(s["records"] * per_hour), size(s["bytes"] * per_hour)))
    frames = storage["frames"]
    jpeg = frames["members"].get("jpg", 0)
    jpeg_per_frame = jpeg / frames["records"] if frames["records"] else None
    json_per_frame = frames["members"].get("json", 0) / frames["records"] if frames["records"] else None
    published = sum(s["bytes"] for s in storage.values())
    work_bytes = folder_bytes(work)
    print(f"\nstorage of the published dataset folder ({DATASET}/<config>/*.tar): on disk, and the records inside "
          "(tar headers included, the end-of-archive padding of these one-record shards not), which is what scales")
    print(text_table(("config", "records", "shards", "on disk", "records' bytes", "per record", "records / video h",
                      "per video h"), srows, set(range(1, 8))))
    print("members: " + "; ".join(f"{config} " + ", ".join(f"{ext} {size(n / s['records'])}" for ext, n in
                                                          sorted(s["members"].items()))
                                  for config, s in storage.items() if s["records"]) + " (per record)")
    print(f"frames: JPEG (pixelated, {made['width']}x{made['height']} at most, quality 90) {size(jpeg_per_frame)} per "
          f"frame, JSON record {size(json_per_frame)} per frame")
    print(f"published total {size(published)} = {size(published * per_hour)} per hour of video; the work folders "
          f"(OUT/work: every stage's shards, raw.jpg included; kept for resuming, deletable once published) {size(work_bytes)} = "
          f"{size(work_bytes * per_hour)} per hour; input video {size(made['bytes'] * per_hour)} per hour (the "
          f"paper's: {size(PAPER['video_bytes'] / PAPER['hours'])} per hour)")

    # -- projection
    hours = PAPER["hours"]
    scale = per_hour * hours / 3600  # this run's seconds -> hours for the paper's 2,000 hours
    cpu_h = {stage: v["cpu"] * scale for stage, v in per_stage.items() if v["cpu"] is not None}
    parallel_h = sum(h for stage, h in cpu_h.items() if stage != "publish")
    serial_h = cpu_h.get("publish", 0.0)  # the main process publishes alone, after every stage
    total_h = parallel_h + serial_h
    publish_wall = per_stage.get("publish", {}).get("wall") or 0.0
    stages_wall = (last[0] if last else run["ended"]) - first_start[0]
    stages_wall_core_h = stages_wall * cores_here * scale  # the machine held throughout
    print(f"\nprojection for the paper's {hours:,} hours of 720p video (x {per_hour * hours:,.0f} this run): "
          "core-hours from the stages' CPU seconds (the startup, once per process, left out); assumes linear "
          "scaling over processes")
    prow = [(stage, num(h), f"{100 * h / total_h:.0f}%") for stage, h in cpu_h.items()]
    prow.append(("total", num(total_h), "100%"))
    print(text_table(("stage", "core-hours", "share"), prow, {1, 2}))
    print("each stage's figure includes its setup (model loading) once per this run's video, and publish's its fixed "
          "part (the card, its imports) too: both over-count a little at scale, publish most")
    print(f"pessimistic bound: this run's stage wall time x {cores_here} cores (the machine held, load included): "
          f"{num(stages_wall_core_h)} core-hours for the stages, publish {num(publish_wall * scale)} h on one core")
    mrows = []
    for n in MACHINES:
        cores = n * args.cores
        mrows.append((f"{n} x {args.cores} cores", f"{cores:,}", duration(parallel_h / cores + serial_h),
                      duration(stages_wall_core_h / cores + publish_wall * scale)))
    print(text_table(("machines", "processes' cores", "wall (CPU s)", "wall (pessimistic)"), mrows, {1, 2, 3}))
    print(f"wall = the stages' core-hours / cores + publishing ({duration(serial_h)} on the main process alone, "
          f"the same for every N). Tasks are per video: {PAPER['episodes']:,} episodes (about "
          f"{hours * 3600 / PAPER['episodes']:.0f} s each) give each of {MACHINES[-1] * args.cores:,} processes "
          f"about {PAPER['episodes'] / (MACHINES[-1] * args.cores):.0f} videos per stage; at "
          f"{size(run['peak_rss'])} peak per process, {args.cores} processes need about "
          f"{size(run['peak_rss'] * args.cores)} of memory per machine. The launch, on each machine R of N: "
          "accelerate launch --multi_gpu --num_machines N --machine_rank R --main_process_ip HOST0 "
          "--main_process_port 29500 --num_processes TOTAL -m annotate.run VIDEOS OUT --config FILE")
    print(f"storage for {hours:,} hours at this run's density: published {size(published * per_hour * hours)} "
          f"(frames {size(frames['bytes'] * per_hour * hours)}), work folders {size(work_bytes * per_hour * hours)}, "
          f"input video {size(made['bytes'] * per_hour * hours)}")

    # -- the paper's counts beside
    per_drama = (PAPER["sample_valid"] + PAPER["sample_invalid"]) / PAPER["sample_dramas"]
    paper_keyframes = per_drama * PAPER["dramas"]
    paper_kf_h = paper_keyframes / hours
    scripts = storage["shooting_scripts"]["records"]
    pairs = storage["pairs"]["records"]
    restore_n = 100
    pair_bytes = storage["pairs"]["bytes"] / pairs if pairs else None
    frame_bytes = frames["bytes"] / frames["records"] if frames["records"] else None
    script_bytes = storage["shooting_scripts"]["bytes"] / scripts if scripts else None
    crow = [
        ("keyframes (frames)", f"{keyframes * per_hour:,.0f}", f"{paper_kf_h:,.0f}", f"{paper_keyframes:,.0f}",
         size(frame_bytes * paper_keyframes if frame_bytes else None)),
        ("shooting scripts", f"{scripts * per_hour:,.0f}", f"{PAPER['scripts'] / hours:,.0f}",
         f"{PAPER['scripts']:,}", size(script_bytes * PAPER["scripts"] if script_bytes else None)),
        ("pairs", f"{pairs * per_hour:,.0f}", f"{PAPER['pairs'] / hours:,.0f}", f"{PAPER['pairs']:,}",
         size(pair_bytes * PAPER["pairs"] if pair_bytes else None)),
    ]
    print("\nthe paper's counts beside this run's (per hour of video); the paper's keyframes are an estimate: "
          f"{PAPER['sample_valid']:,} + {PAPER['sample_invalid']:,} keyframes in {PAPER['sample_dramas']} dramas = "
          f"{per_drama:.0f} per drama x {PAPER['dramas']:,} dramas")
    print(text_table(("records", "this run / video h", "paper / video h", f"paper, {hours:,} h",
                      "stored at this run's bytes per record"), crow, {1, 2, 3, 4}))
    print(f"model requests the paper's setup (configs/paper.yaml) would send, per hour of video: extraction VLM "
          f"(InternVL2-Llama3-76B, 1 keyframe per request) {keyframes * per_hour:,.0f} at this run's density, "
          f"{paper_kf_h:,.0f} at the paper's; JSON repair LLM about {PAPER['repair_share']:.0%} of those "
          f"({PAPER['repair_share'] * paper_kf_h:,.0f} at the paper's); restoration LLM {restore_n} per shooting script: "
          f"{scripts * per_hour * restore_n:,.0f} at this run's scripts per hour, "
          f"{PAPER['scripts'] / hours * restore_n:,.0f} at the paper's ({PAPER['pairs']:,} in all). Not measured here "
          "(no GPU lent): divide by a server's requests per second.")

    figure("scale", "pipeline CPU per hour of 720p video", total_h / hours, "core-hours", better="lower")
    if "keyframes" in cpu_h:
        figure("scale", "keyframes stage CPU per hour of video", per_stage["keyframes"]["cpu"] * per_hour / 3600,
               "core-hours", better="lower")
    if "privacy" in cpu_h:
        figure("scale", "privacy stage CPU per hour of video", per_stage["privacy"]["cpu"] * per_hour / 3600,
               "core-hours", better="lower")
    figure("scale", f"wall for {hours:,} h on 10 x {args.cores}-core machines",
           (parallel_h / (10 * args.cores) + serial_h) / 24, "days", better="lower")
    figure("scale", "published bytes per hour of video", published * per_hour / 1e9, "GB", better="lower")
    if jpeg_per_frame:
        figure("scale", "JPEG bytes per published frame", jpeg_per_frame / 1e3, "kB", better="lower")
    print(f"\nwhole run: {wall:.1f} s wall for {video_s:.2f} s of video ({wall / video_s:.1f}x real time on "
          f"{cores_here} cores under load {sum(loads) / len(loads):.2f})")


if __name__ == "__main__":
    sys.exit(main())
