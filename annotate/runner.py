"""The one stage runner: tasks split across processes, shards per task, resume by completion markers that know
what produced them.

Every stage is a :class:`Stage`: it lists its tasks and turns one task into samples for a
:class:`builder.shards.ShardWriter`. Three task shapes:

- a stage's own (the keyframes stage: one task per video file);
- :class:`ShardStage`: one task per input shard, its output one shard of the same name
  (``privacy-ep01-000000.tar`` -> ``repair-ep01-000000.tar``: names never grow along the chain);
- :class:`VideoStage`: one task per video, gathering that video's samples from every input shard in key order
  (found from the shards' stats), its output ``{stage}-{video_id}-{n:06d}.tar``; a stage that works on the
  whole video at once implements ``run_video`` (every record kind carries its ``video_id``).

:class:`FrameStage` is the one loop of the frame-by-frame stages: frames go through the stage in batches, every
other sample passes through unchanged, all in key order.

The runner gives each process its share of the tasks with ``PartialState(cpu=not torch.cuda.is_available())``
(a plain ``PartialState()`` does not split on CPU). When a task's shards are all in place it writes the
task's marker ``OUT/_tasks/{task}.json``: status, counts and the task's *fingerprint* (the sha of the settings
that decide the output, the stage's code/prompt version, and the identity of its input: shard or video names
with size and mtime). A rerun skips a finished task with the same fingerprint and redoes failed and missing
ones from scratch (their partial shards, ``*.tmp`` files and quarantine part removed first), so nothing is
duplicated and nothing is lost. A finished task with another fingerprint (or one whose input is gone) stops
the run before any work, naming what changed (exit status 2); ``--overwrite`` redoes those tasks. At the end
the main process merges the quarantine parts into ``OUT/quarantine.jsonl``, sums the markers into
``OUT/{stage}.stats.json`` and copies the previous stages' summaries and per-video files along (the card reads
the summaries). The output does not depend on the number of processes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Iterable, Iterator, TypeVar

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from annotate.config import load_config, output_settings, settings_sha
from builder.contract import provenance_entry
from builder.errors import SkyscriptError, UsageError
from builder.sample import Sample
from builder.shards import (STATS_SUFFIX, Quarantine, ShardWriter, iter_shard, merge_quarantine, shard_paths,
                            stage_summaries, stats_path, video_of, write_json_atomic)
from builder.video_files import VIDEO_FILES, VideoFile

C = TypeVar("C")
TASKS = "_tasks"


class InputError(UsageError):
    """The stage's input cannot be used at all (missing, empty, colliding ids): exit status 2."""


class ResumeError(UsageError):
    """OUT holds finished tasks made from other settings, code or input: exit status 2 (``--overwrite``)."""


@dataclass(frozen=True)
class Task:
    """One unit of work; ``name`` is stable across reruns and names the task's shards and marker;
    ``inputs`` identifies what the task reads (``{name, size, mtime_ns}`` per file)."""

    name: str
    payload: Any
    source: str
    inputs: tuple[dict, ...] = ()


def file_identity(path: Path, name: str | None = None) -> dict:
    """``{name, size, mtime_ns}`` of a file: a changed input changes this."""
    stat = path.stat()
    return {"name": name or path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


@dataclass
class RunSummary:
    """What one run did, summed over processes on the main process."""

    tasks: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    written: int = 0
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)  # quarantined items by reason
    counts: Counter = field(default_factory=Counter)


class Stage(ABC, Generic[C]):
    """A shard-producing step. Subclasses set ``name`` and ``config_class`` and implement the two methods.

    ``code_version`` changes when the stage's code changes what it writes for the same settings; a stage that
    sends prompts adds their sha in :meth:`version`. ``strict`` (``--strict``) asks the stage to fail a task
    rather than write a frame it could only partly protect or describe."""

    name: str
    config_class: type
    code_version: str = "1"
    single_shard: bool = False  # one output shard per task, named after the task (ShardStage)
    writes: tuple[VideoFile, ...] = ()  # per-video files this stage writes (named after the task) instead of carrying

    def __init__(self, config: C, strict: bool = False) -> None:
        self.config = config
        self.strict = strict
        self.settings = settings_sha(config)

    @abstractmethod
    def tasks(self, in_path: Path) -> list[Task]:
        """Every task of the input, in a deterministic order (all processes must list the same)."""

    @abstractmethod
    def run_task(self, task: Task, writer: ShardWriter, quarantine: Quarantine) -> None:
        """Write the task's samples; quarantine what cannot be used; raise only when the task cannot run."""

    def setup(self, device: Any) -> None:
        """Check settings and load models once per process (optional); raise a SkyscriptError for bad ones."""

    def task_side_files(self, out: Path, task: str) -> list[Path]:
        """Files beside the shards that this stage writes for one task (removed when the task is redone): its
        per-video files (``writes``)."""
        return [kind.path(out, task) for kind in self.writes]

    def version(self) -> str:
        """The code (and prompt) version recorded in task markers."""
        return self.code_version

    def provenance(self, model: str | None = None, revision: str | None = None,
                   prompt_sha: str | None = None) -> dict:
        """This stage's ``provenance`` item, with its settings sha."""
        return provenance_entry(self.name, model=model, revision=revision, prompt_sha=prompt_sha,
                                settings_sha=self.settings)


class ShardStage(Stage[C]):
    """One task per input shard of the previous stage's OUT folder; its output keeps the shard's name."""

    single_shard = True

    def tasks(self, in_path: Path) -> list[Task]:
        shards = input_shards(in_path)
        return [Task(s.name.removesuffix(".tar").split("-", 1)[-1], s, s.name, (file_identity(s),)) for s in shards]

    def samples(self, task: Task) -> Iterable[Sample]:
        return iter_shard(task.payload)


class VideoStage(Stage[C]):
    """One task per video: its samples from every input shard, in key order (one video in memory at a time; a
    shard holding several videos is read once per video, so the stages before keep one video per shard)."""

    def tasks(self, in_path: Path) -> list[Task]:
        holders: dict[str, list[Path]] = defaultdict(list)
        for shard in input_shards(in_path):
            for video in videos_in(shard):
                if not video:
                    raise InputError(f"{shard}: samples without a video_id (every record kind has one)")
                holders[video].append(shard)
        return [Task(video, tuple(shards), video, tuple(file_identity(s) for s in shards))
                for video, shards in sorted(holders.items())]

    def samples(self, task: Task) -> Iterable[Sample]:
        found = [s for shard in task.payload for s in iter_shard(shard) if video_of(s) == task.name]
        return sorted(found, key=lambda s: s.key)

    @staticmethod
    def input_dir(task: Task) -> Path:
        """The previous stage's OUT, where the video's per-video files (shots, signals, characters) lie."""
        return Path(task.payload[0]).parent

    def run_task(self, task: Task, writer: ShardWriter, quarantine: Quarantine) -> None:
        """The video's samples go to :meth:`run_video`."""
        self.run_video(task, list(self.samples(task)), writer, quarantine)

    def run_video(self, task: Task, samples: list[Sample], writer: ShardWriter, quarantine: Quarantine) -> None:
        """One video's samples in key order, for stages that work on a whole video at once (the frame-by-frame
        stages use :class:`FrameStage`'s loop instead)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither run_video nor run_task")


def input_shards(in_path: Path) -> list[Path]:
    """The shards of the previous stage's OUT folder, or an InputError."""
    shards = shard_paths(in_path) if in_path.is_dir() else []
    if not shards:
        raise InputError(f"{in_path}: no shards (IN is the previous stage's OUT folder)")
    return shards


def videos_in(shard: Path) -> list[str]:
    """The video ids of a shard's samples, from its stats (or, without stats, from its records)."""
    stats = stats_path(shard)
    if stats.exists():
        videos = json.loads(stats.read_text(encoding="utf-8")).get("videos")
        if videos is not None:
            return sorted(videos)
    return sorted({video_of(sample) for sample in iter_shard(shard)})


class FrameStage(Stage[C]):
    """The frame-by-frame loop: frames in batches through :meth:`frames`, other samples through unchanged, in
    the order of the task's samples. Combine with a task shape: ``class S(FrameStage, VideoStage[Config])``."""

    samples: Any  # the task shape's: ShardStage.samples or VideoStage.samples

    def begin(self, task: Task, writer: ShardWriter) -> None:
        """Called before a task's first sample (per-task state)."""

    def end(self) -> None:
        """Called after a task's last sample, also when it failed (release per-task resources)."""

    def cut(self, batch: list[Sample], following: Sample) -> bool:
        """Whether ``batch`` goes to :meth:`frames` before ``following`` joins it (default: one frame at a time)."""
        return True

    @abstractmethod
    def frames(self, batch: list[Sample], writer: ShardWriter, quarantine: Quarantine) -> Iterator[Sample]:
        """The batch's frames as they should be written; a frame not yielded must have been quarantined."""

    def run_task(self, task: Task, writer: ShardWriter, quarantine: Quarantine) -> None:
        self.begin(task, writer)
        batch: list[Sample] = []

        def flush() -> None:
            for done in self.frames(batch, writer, quarantine) if batch else ():
                writer.write(done)
            batch.clear()

        try:
            for sample in self.samples(task):
                if sample.kind != "frame":
                    flush()
                    writer.write(sample)
                    continue
                if batch and self.cut(batch, sample):
                    flush()
                batch.append(sample)
            flush()
        finally:
            self.end()


def carry_metadata(in_path: Path, out: Path, own: tuple[VideoFile, ...] = ()) -> list[Path]:
    """The previous stages' per-video files (shots, characters; not the kinds in ``own``, which this stage
    writes) and summaries travel on, for the stages and the card after them; returns the summaries carried."""
    if not in_path.is_dir():
        return []
    for kind in VIDEO_FILES:
        if kind not in own and (in_path / kind.folder).is_dir():
            (out / kind.folder).mkdir(exist_ok=True)
            for source in (in_path / kind.folder).glob("*.json"):
                shutil.copyfile(source, out / kind.folder / source.name)
    carried = stage_summaries(in_path)
    for source in carried:
        shutil.copyfile(source, out / source.name)
    return carried


def task_files(out: Path, stage: Stage, task: str) -> list[Path]:
    """Shards, stats and temporary files of one task (exact names: task ``a`` never matches task ``a-b``)."""
    number = "" if stage.single_shard else r"-\d{6}"
    pattern = re.compile(rf"^{re.escape(stage.name)}-{re.escape(task)}{number}(\.tar|{re.escape(STATS_SUFFIX)})"
                         r"(\.tmp)?$")
    return [p for p in out.iterdir() if pattern.match(p.name)] + [
        path for path in stage.task_side_files(out, task) if path.exists()]


def fingerprint(stage: Stage, task: Task) -> dict[str, Any]:
    """What decides a task's output: settings, code version and input identity."""
    return {"settings_sha": stage.settings, "settings": json.loads(json.dumps(output_settings(stage.config),
                                                                               default=str)),
            "version": stage.version(), "inputs": list(task.inputs)}


def check_settings(stage: Stage, out: Path) -> None:
    """A :class:`ResumeError` when ``out`` holds tasks finished with other settings or code than ``stage``'s
    (inputs aside): lets a whole pipeline refuse a changed rerun before any stage works."""
    why: Counter = Counter()
    for path in sorted((out / TASKS).glob("*.json")) if (out / TASKS).is_dir() else ():
        marker = json.loads(path.read_text(encoding="utf-8"))
        old = marker.get("fingerprint") or {}
        if marker.get("status") == "done":
            why.update(_changes(old, {**fingerprint(stage, Task(marker["task"], None, "")), "inputs": old.get("inputs")}))
    if why:
        raise resume_error(stage, out, why)


def resume_error(stage: Stage, out: Path, why: Counter, stale: list[str] = ()) -> ResumeError:
    """The error naming what changed (the three most common changes, and tasks gone from the input)."""
    parts = [f"{n} task(s): {w}" for w, n in why.most_common(3)]
    if stale:
        parts.append(f"{len(stale)} task(s) no longer in the input ({', '.join(stale[:3])})")
    return ResumeError(f"{out} holds finished {stage.name} work made differently: " + "; ".join(parts)
                       + ". Rerun with --overwrite to redo those tasks, or write to another OUT")


def _changes(old: dict, new: dict) -> list[str]:
    """What differs between a marker's fingerprint and the current one, in words."""
    changes = []
    if old.get("settings_sha") != new["settings_sha"]:
        before, after = old.get("settings") or {}, new["settings"]
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        changes.append("settings " + (", ".join(f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in keys)
                                      or f"sha {old.get('settings_sha')} -> {new['settings_sha']}"))
    if old.get("version") != new["version"]:
        changes.append(f"code/prompt version {old.get('version')} -> {new['version']}")
    if old.get("inputs") != new["inputs"]:
        before = {i["name"]: i for i in old.get("inputs") or []}
        after = {i["name"]: i for i in new["inputs"]}
        names = sorted(n for n in set(before) | set(after) if before.get(n) != after.get(n))
        state = {n: "new" if n not in before else "gone" if n not in after else "changed" for n in names}
        changes.append("input " + ", ".join(f"{n} ({state[n]})" for n in names[:3])
                       + (f" and {len(names) - 3} more" if len(names) > 3 else ""))
    return changes


def read_marker(out: Path, task: str) -> dict | None:
    path = out / TASKS / f"{task}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def check_resume(stage: Stage, tasks: list[Task], out: Path, overwrite: bool) -> tuple[list[str], list[str]]:
    """Finished tasks whose fingerprint changed, and tasks of an earlier run that the input no longer has; a
    :class:`ResumeError` naming what changed unless ``overwrite``."""
    changed, why = [], Counter()
    for task in tasks:
        marker = read_marker(out, task.name)
        if marker is None or marker.get("status") != "done":
            continue
        changes = _changes(marker.get("fingerprint") or {}, fingerprint(stage, task))
        if changes:
            changed.append(task.name)
            why.update(changes)
    names = {t.name for t in tasks}
    stale = sorted(p.name.removesuffix(".json") for p in (out / TASKS).glob("*.json")
                   if p.name.removesuffix(".json") not in names)
    if (changed or stale) and not overwrite:
        raise resume_error(stage, out, why, stale)
    return changed, stale


def _run_one(stage: Stage, task: Task, out: Path, process: int) -> dict[str, Any]:
    markers = out / TASKS
    part = markers / f"{task.name}.quarantine.jsonl"
    for stale in task_files(out, stage, task.name):
        stale.unlink()
    part.unlink(missing_ok=True)
    (markers / f"{task.name}.json").unlink(missing_ok=True)
    quarantine = Quarantine(part, stage.name)
    writer = ShardWriter(out, f"{stage.name}-{task.name}", quarantine, source=task.source,
                         max_count=getattr(stage.config, "shard_max_count", 1000), single=stage.single_shard)
    started = time.perf_counter()
    status, error = "done", None
    try:
        with writer:
            stage.run_task(task, writer, quarantine)
    except Exception as exc:  # a task that cannot run is quarantined whole; the other tasks go on
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        quarantine.add(task.name, "error", error + " | " + traceback.format_exc(limit=-1).strip().splitlines()[-1],
                       source=task.source)
    reasons = Counter(json.loads(line)["reason"] for line in open(part, encoding="utf-8")) if part.exists() \
        else Counter()
    marker = {
        "task": task.name, "source": task.source, "status": status, "error": error, "process": process,
        "written": writer.totals.written, "quarantined": sum(reasons.values()),
        "quarantined_by_reason": dict(sorted(reasons.items())),
        "shards": [p.name for p in writer.shards], "counts": dict(writer.totals.extra),
        "seconds": round(time.perf_counter() - started, 3), "fingerprint": fingerprint(stage, task),
    }
    write_json_atomic(markers / f"{task.name}.json", marker)
    return marker


def _remove_task(stage: Stage, out: Path, task: str) -> None:
    for path in task_files(out, stage, task):
        path.unlink()
    for suffix in (".json", ".quarantine.jsonl"):
        (out / TASKS / f"{task}{suffix}").unlink(missing_ok=True)


LOG = logging.getLogger(__name__)
_FOLLOWING: list[int] = []  # the launcher's pid, once a process follows it


def follow_launcher(interval_s: float = 1.0) -> None:
    """Under ``accelerate launch``/``torchrun``, exit this worker within ``interval_s`` once its launcher is gone.

    Their workers run in sessions of their own, so killing the launcher's process group (a job killed from a
    terminal or by a scheduler) would leave them working beside the rerun, writing the same tasks."""
    if _FOLLOWING or "TORCHELASTIC_RUN_ID" not in os.environ:
        return
    _FOLLOWING.append(os.getppid())

    def watch() -> None:
        while os.getppid() == _FOLLOWING[0]:
            time.sleep(interval_s)
        LOG.error("the launcher (pid %d) is gone: stopping this worker", _FOLLOWING[0])
        os._exit(1)

    threading.Thread(target=watch, name="follow-launcher", daemon=True).start()


class StageProgress:
    """The stage's one progress bar, on the main process: tasks finished by every process (the markers written
    since the bar started, polled every ``interval_s``, beside the ``skipped`` ones already done), rate and ETA;
    it closes after every process finished (at the end, every marker of the stage's tasks counts)."""

    def __init__(self, stage: str, tasks: list[Task], markers: Path, skipped: int, enabled: bool,
                 interval_s: float = 2.0) -> None:
        self.names, self.markers, self.skipped, self.interval_s = {t.name for t in tasks}, markers, skipped, interval_s
        self.started = time.time()
        self.bar = tqdm(total=len(tasks), initial=skipped, desc=stage, unit="task", disable=not enabled,
                        dynamic_ncols=True)
        self.stop = threading.Event()
        self.poller = threading.Thread(target=self._poll, daemon=True) if not self.bar.disable else None

    def finished(self, everything: bool = False) -> int:
        """Tasks done or failed: the skipped ones plus the markers of this run's tasks written since the bar
        started (``everything``: every marker of this run's tasks, once all processes are done)."""
        return (0 if everything else self.skipped) + sum(
            1 for entry in os.scandir(self.markers) if entry.name.endswith(".json") and entry.name[:-5] in self.names
            and (everything or entry.stat().st_mtime >= self.started))

    def _poll(self) -> None:
        while not self.stop.wait(self.interval_s):
            self.bar.update(self.finished() - self.bar.n)

    def __enter__(self) -> "StageProgress":
        if self.poller:
            self.poller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.poller:
            self.stop.set()
            self.poller.join()
            self.bar.update(self.finished(everything=True) - self.bar.n)
        self.bar.close()


def run_stage(stage: Stage, in_path: str | Path, out: str | Path, progress: bool = True,
              overwrite: bool = False) -> RunSummary:
    """Run ``stage`` over ``in_path`` into ``out`` with this process's share of the tasks; ``overwrite`` redoes
    finished tasks made differently (otherwise they stop the run with a :class:`ResumeError`)."""
    import torch
    from accelerate import PartialState

    follow_launcher()
    state = PartialState(cpu=not torch.cuda.is_available())
    out = Path(out)
    (out / TASKS).mkdir(parents=True, exist_ok=True)
    tasks = stage.tasks(Path(in_path))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InputError(f"{stage.name}: duplicate task names {sorted(n for n in set(names) if names.count(n) > 1)}")
    changed, stale = check_resume(stage, tasks, out, overwrite)
    stage.setup(state.device)
    state.wait_for_everyone()
    if state.is_main_process:
        for name in stale:
            _remove_task(stage, out, name)
    redo = set(changed)
    finished = {t.name for t in tasks if t.name not in redo and (read_marker(out, t.name) or {}).get("status") == "done"}
    with StageProgress(stage.name, tasks, out / TASKS, len(finished), progress and state.is_main_process):
        with state.split_between_processes(tasks) as mine:
            for task in mine:
                if task.name not in finished:
                    _run_one(stage, task, out, state.process_index)
        state.wait_for_everyone()
    summary = RunSummary(tasks=len(tasks))
    for task in tasks:
        marker = read_marker(out, task.name)
        if marker is None:
            continue
        summary.done += marker["status"] == "done"
        summary.failed += marker["status"] == "failed"
        summary.written += marker["written"]
        summary.quarantined += marker["quarantined"]
        summary.reasons.update(marker.get("quarantined_by_reason", {}))
        summary.counts.update(marker["counts"])
    if state.is_main_process:
        before = carry_metadata(Path(in_path), out, stage.writes)
        merge_quarantine([out / TASKS / f"{t.name}.quarantine.jsonl" for t in tasks], out / "quarantine.jsonl")
        write_json_atomic(out / f"{stage.name}.stats.json", {
            "stage": stage.name, "position": len(before), "tasks": summary.tasks, "done": summary.done,
            "failed": summary.failed, "written": summary.written, "quarantined": summary.quarantined,
            "quarantined_by_reason": dict(sorted(summary.reasons.items())), "counts": dict(summary.counts), "settings_sha": stage.settings, "version": stage.version(),
        })
    state.wait_for_everyone()
    return summary


def setup_logging() -> None:
    """Warnings and errors of the stages on stderr, one line each (``WARNING annotate.privacy: ...``)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def stage_main(stage_class: type[Stage], argv: list[str] | None = None) -> int:
    """``skyscript STAGE IN OUT [--config FILE] [--set k=v]... [--strict] [--overwrite]``; exit 0 / 1 / 2 as
    documented. A stage's ``cli_options`` (``{"--backend": "backend"}``) are shorthands for ``--set backend=...``;
    its ``cli_flags`` (``{"--send-raw-images": "send_raw_images"}``) set a boolean setting to true."""
    p = argparse.ArgumentParser(prog=f"skyscript {stage_class.name}", description=stage_class.__doc__)
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--config", help="YAML file with a section per stage")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting (repeatable)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when anything was quarantined; fail what could only partly be done")
    p.add_argument("--overwrite", action="store_true",
                   help="redo finished tasks that were made with other settings, code or input")
    p.add_argument("--no-progress", action="store_true")
    options = getattr(stage_class, "cli_options", {})
    for flag, setting in options.items():
        p.add_argument(flag, dest=f"option_{setting}", metavar=setting.upper(), help=f"same as --set {setting}=...")
    flags = getattr(stage_class, "cli_flags", {})
    for flag, setting in flags.items():
        p.add_argument(flag, dest=f"flag_{setting}", action="store_true", help=f"same as --set {setting}=true")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    overrides = args.overrides + [f"{s}={getattr(args, f'option_{s}')}" for s in options.values()
                                  if getattr(args, f"option_{s}") is not None]
    overrides += [f"{s}=true" for s in flags.values() if getattr(args, f"flag_{s}")]
    setup_logging()
    try:
        config = load_config(stage_class.config_class, stage_class.name, args.config, overrides)
        with logging_redirect_tqdm():
            summary = run_stage(stage_class(config, strict=args.strict), args.input, args.output,
                                progress=not args.no_progress, overwrite=args.overwrite)
    except SkyscriptError as exc:
        print(f"skyscript {stage_class.name}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.exit_code
    print(f"{stage_class.name}: {summary.done}/{summary.tasks} task(s) done, {summary.failed} failed, "
          f"{summary.written} sample(s) written, {summary.quarantined} quarantined -> {args.output}")
    if summary.failed:
        print(f"{stage_class.name}: failed tasks are listed in {Path(args.output) / 'quarantine.jsonl'} "
              "(reason error); run the same command again to retry them", file=sys.stderr)
    if summary.failed or (args.strict and summary.quarantined):
        return 1
    return 0
