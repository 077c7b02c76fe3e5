"""The one stage runner: tasks split across processes, shards per task, resume by completion markers.

Every stage is a :class:`Stage`: it lists its tasks (a video, an input shard) and turns one task into samples
for a :class:`builder.shards.ShardWriter`. The runner gives each process its share of the tasks with
``PartialState(cpu=not torch.cuda.is_available())`` (a plain ``PartialState()`` does not split on CPU), writes a
task's shards as ``OUT/{stage}-{task}-{n:06d}.tar`` and, when they are all in place, its marker
``OUT/_tasks/{task}.json``. A rerun skips marked tasks and redoes the others from scratch (their partial shards,
``*.tmp`` files and quarantine part removed first), so nothing is duplicated and nothing is lost. At the end
the main process merges the quarantine parts into ``OUT/quarantine.jsonl`` and sums the markers into
``OUT/{stage}.stats.json``, and copies the previous stages' summaries and shots files along (the card reads
the summaries). The output does not depend on
the number of processes.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
import traceback
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from tqdm import tqdm

from annotate.config import ConfigError, load_config
from annotate.errors import ModelError
from builder.shards import Quarantine, ShardWriter, merge_quarantine, stage_summaries, write_json_atomic

C = TypeVar("C")
TASKS = "_tasks"
SHOTS = "shots"


class InputError(ValueError):
    """The stage's input cannot be used at all (missing, empty, colliding ids): exit status 2."""


@dataclass(frozen=True)
class Task:
    """One unit of work; ``name`` is stable across reruns and names the task's shards and marker."""

    name: str
    payload: Any
    source: str


@dataclass
class RunSummary:
    """What one run did, summed over processes on the main process."""

    tasks: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    written: int = 0
    quarantined: int = 0
    counts: Counter = field(default_factory=Counter)


class Stage(ABC, Generic[C]):
    """A shard-producing step. Subclasses set ``name`` and ``config_class`` and implement the two methods."""

    name: str
    config_class: type

    def __init__(self, config: C) -> None:
        self.config = config

    @abstractmethod
    def tasks(self, in_path: Path) -> list[Task]:
        """Every task of the input, in a deterministic order (all processes must list the same)."""

    @abstractmethod
    def run_task(self, task: Task, writer: ShardWriter, quarantine: Quarantine) -> None:
        """Write the task's samples; quarantine what cannot be used; raise only when the task cannot run."""

    def setup(self, device: Any) -> None:
        """Load models once per process (optional)."""


class ShardStage(Stage[C]):
    """A stage that reads the previous stage's OUT folder: one task per input shard (:func:`shard_tasks`)."""

    def tasks(self, in_path: Path) -> list[Task]:
        return shard_tasks(in_path)


def shard_tasks(in_path: Path) -> list[Task]:
    """One task per shard of a stage folder (for stages that read the previous stage's OUT); the task is named
    after the shard without the previous stage's prefix (``keyframes-ep01-000000.tar`` -> ``ep01-000000``)."""
    from builder.shards import shard_paths

    shards = shard_paths(in_path) if in_path.is_dir() else []
    if not shards:
        raise InputError(f"{in_path}: no shards (IN is the previous stage's OUT folder)")
    names = [s.name.removesuffix(".tar") for s in shards]
    return [Task(n.split("-", 1)[1] if "-" in n else n, s, s.name) for n, s in zip(names, shards)]


def carry_metadata(in_path: Path, out: Path) -> list[Path]:
    """The previous stages' shots files and summaries travel on, for the stages and the card after them;
    returns the summaries carried."""
    if not in_path.is_dir():
        return []
    if (in_path / SHOTS).is_dir():
        (out / SHOTS).mkdir(exist_ok=True)
        for source in (in_path / SHOTS).glob("*.json"):
            shutil.copyfile(source, out / SHOTS / source.name)
    carried = stage_summaries(in_path)
    for source in carried:
        shutil.copyfile(source, out / source.name)
    return carried


def task_files(out: Path, stage: str, task: str) -> list[Path]:
    """Shards, stats and temporary files of one task (exact names: task ``a`` never matches task ``a-b``)."""
    pattern = re.compile(rf"^{re.escape(stage)}-{re.escape(task)}-\d{{6}}(\.tar|\.stats\.json)(\.tmp)?$")
    return [p for p in out.iterdir() if pattern.match(p.name)]


def _run_one(stage: Stage, task: Task, out: Path, process: int) -> dict[str, Any]:
    markers = out / TASKS
    part = markers / f"{task.name}.quarantine.jsonl"
    for stale in task_files(out, stage.name, task.name):
        stale.unlink()
    part.unlink(missing_ok=True)
    quarantine = Quarantine(part, stage.name)
    writer = ShardWriter(out, f"{stage.name}-{task.name}", quarantine, source=task.source,
                         max_count=getattr(stage.config, "shard_max_count", 1000))
    started = time.perf_counter()
    status, error = "done", None
    try:
        with writer:
            stage.run_task(task, writer, quarantine)
    except Exception as exc:  # a task that cannot run is quarantined whole; the other tasks go on
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        quarantine.add(task.name, "error", error + " | " + traceback.format_exc(limit=-1).strip().splitlines()[-1],
                       source=task.source)
    quarantined = sum(1 for _ in open(part, encoding="utf-8")) if part.exists() else 0
    marker = {
        "task": task.name, "source": task.source, "status": status, "error": error, "process": process,
        "written": writer.totals.written, "quarantined": quarantined,
        "shards": [p.name for p in writer.shards], "counts": dict(writer.totals.extra),
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_json_atomic(markers / f"{task.name}.json", marker)
    return marker


def run_stage(stage: Stage, in_path: str | Path, out: str | Path, progress: bool = True) -> RunSummary:
    """Run ``stage`` over ``in_path`` into ``out`` with this process's share of the tasks."""
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    out = Path(out)
    (out / TASKS).mkdir(parents=True, exist_ok=True)
    tasks = stage.tasks(Path(in_path))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InputError(f"{stage.name}: duplicate task names {sorted(n for n in set(names) if names.count(n) > 1)}")
    stage.setup(state.device)
    with state.split_between_processes(tasks) as mine:
        for task in tqdm(mine, desc=f"{stage.name} [{state.process_index}]", unit="task",
                         disable=not progress or not mine):
            marker = out / TASKS / f"{task.name}.json"
            if marker.exists() and json.loads(marker.read_text(encoding="utf-8"))["status"] == "done":
                continue
            _run_one(stage, task, out, state.process_index)
    state.wait_for_everyone()
    summary = RunSummary(tasks=len(tasks))
    for task in tasks:
        path = out / TASKS / f"{task.name}.json"
        if not path.exists():
            continue
        marker = json.loads(path.read_text(encoding="utf-8"))
        summary.done += marker["status"] == "done"
        summary.failed += marker["status"] == "failed"
        summary.written += marker["written"]
        summary.quarantined += marker["quarantined"]
        summary.counts.update(marker["counts"])
    if state.is_main_process:
        before = carry_metadata(Path(in_path), out)
        merge_quarantine([out / TASKS / f"{t.name}.quarantine.jsonl" for t in tasks], out / "quarantine.jsonl")
        write_json_atomic(out / f"{stage.name}.stats.json", {
            "stage": stage.name, "position": len(before), "tasks": summary.tasks, "done": summary.done,
            "failed": summary.failed, "written": summary.written, "quarantined": summary.quarantined,
            "counts": dict(summary.counts),
        })
    state.wait_for_everyone()
    return summary


def stage_main(stage_class: type[Stage], argv: list[str] | None = None) -> int:
    """``skyscript STAGE IN OUT [--config FILE] [--set k=v]... [--strict]``; exit 0 / 1 / 2 as documented.

    A stage's ``cli_options`` (``{"--backend": "backend"}``) are shorthands for ``--set backend=...``."""
    p = argparse.ArgumentParser(prog=f"skyscript {stage_class.name}", description=stage_class.__doc__)
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--config", help="YAML file with a section per stage")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting (repeatable)")
    p.add_argument("--strict", action="store_true", help="exit 1 when anything was quarantined")
    p.add_argument("--no-progress", action="store_true")
    options = getattr(stage_class, "cli_options", {})
    for flag, setting in options.items():
        p.add_argument(flag, dest=f"option_{setting}", metavar=setting.upper(), help=f"same as --set {setting}=...")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    overrides = args.overrides + [f"{s}={getattr(args, f'option_{s}')}" for s in options.values()
                                  if getattr(args, f"option_{s}") is not None]
    try:
        config = load_config(stage_class.config_class, stage_class.name, args.config, overrides)
        summary = run_stage(stage_class(config), args.input, args.output, progress=not args.no_progress)
    except (ConfigError, InputError, ModelError) as exc:
        print(f"skyscript {stage_class.name}: error: {exc}", file=sys.stderr)
        return 2
    print(f"{stage_class.name}: {summary.done}/{summary.tasks} task(s) done, {summary.failed} failed, "
          f"{summary.written} sample(s) written, {summary.quarantined} quarantined -> {args.output}")
    if summary.failed or (args.strict and summary.quarantined):
        return 1
    return 0
