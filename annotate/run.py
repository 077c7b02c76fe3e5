"""The whole pipeline in one command: ``skyscript run VIDEOS OUT --config FILE``, or under accelerate
``accelerate launch [--multi_gpu --num_processes N] -m annotate.run VIDEOS OUT --config FILE``.

Every stage named by the config's ``stages`` runs in pipeline order (:data:`builder.contract.STAGES`), each
into ``OUT/work/<stage>/`` from the previous one's folder (the first, ``keyframes``, from VIDEOS), through the
one stage runner (:func:`annotate.runner.run_stage`): every process of the launch takes its share of each
stage's tasks. Then the main process publishes the last stage's folder into the dataset folder
(``OUT/skyscript-100m/`` or ``--dataset-dir``), card included, and prints one table of counts per stage and
reason, the configs as ``load_dataset`` gives them, the card's path and the pictures' (contact sheets,
highlight plots).

The config file holds ``stages`` (a list; default every stage), ``publish`` (:class:`PublishConfig`) and one
section per stage (that stage's settings, as its ``--config``); ``--set SECTION.KEY=VALUE`` overrides any value
(``--set keyframes.every_s=2``, ``--set stages=keyframes,privacy``); ``skyscript config show`` prints the
effective config. Unknown sections and keys are errors.

Rerunning the same command resumes: finished tasks are skipped by their markers and unfinished ones redone from
scratch, so a killed run loses nothing and duplicates nothing. A rerun with other settings or code stops before
any work (exit 2), naming what changed, unless ``--overwrite``. Exit status: 0 done, 1 tasks failed (rerun to
retry them; the dataset folder is not rebuilt unless ``--allow-partial``), 2 bad usage or settings.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from tqdm.contrib.logging import logging_redirect_tqdm

from annotate.config import ConfigError, build_config, read_config_file, settings_sha
from annotate.runner import RunSummary, Stage, check_settings, run_stage, setup_logging
from builder.contract import STAGES
from builder.errors import SkyscriptError

WORK = "work"
DATASET_NAME = "skyscript-100m"
RUN_SECTIONS = ("stages", "publish")


@dataclass
class PublishConfig:
    """Settings of the last step, publishing the dataset folder."""

    max_count: int | None = None  # samples per shard in every config (default: 1000; pairs 50,000)
    shards_multiple_of: int = 1  # every config's shard count a multiple of this (training ranks x workers)


@dataclass
class RunConfig:
    """The effective config of a run: the stages to run and every section's typed settings."""

    stages: tuple[str, ...]
    settings: dict[str, Any]  # stage name -> its config dataclass (every stage, run or not)
    publish: PublishConfig


def stage_class(name: str) -> type[Stage]:
    """The :class:`Stage` subclass of ``annotate.<name>``."""
    module = importlib.import_module(f"annotate.{name}")
    for value in vars(module).values():
        if (isinstance(value, type) and issubclass(value, Stage) and value.__module__ == module.__name__
                and getattr(value, "name", None) == name):
            return value
    raise LookupError(f"annotate.{name} defines no stage named {name!r}")


def parse_stages(value: Any) -> tuple[str, ...]:
    """A list (or comma-separated text) of stage names: known, each once, in pipeline order, keyframes first."""
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else list(value or [])
    unknown = [n for n in names if n not in STAGES]
    if unknown or not names:
        raise ConfigError(f"stages: unknown {unknown or 'empty list'}; known, in order: {', '.join(STAGES)}")
    order = [STAGES.index(n) for n in names]
    if order != sorted(set(order)):
        raise ConfigError(f"stages {names}: each stage once, in pipeline order ({', '.join(STAGES)})")
    if names[0] != STAGES[0]:
        raise ConfigError(f"stages {names}: the first stage must be {STAGES[0]} (it reads the videos)")
    return tuple(names)


def load_run_config(path: str | Path | None = None, overrides: list[str] = ()) -> RunConfig:
    """The file's sections over every section's defaults, then ``SECTION.KEY=VALUE`` overrides."""
    data = read_config_file(path)
    known = (*RUN_SECTIONS, *STAGES)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; known: {', '.join(known)}")
    stages = data.get("stages", STAGES)
    grouped: dict[str, list[str]] = {section: [] for section in known}
    for item in overrides:
        key, sep, value = item.partition("=")
        section, dot, setting = key.partition(".")
        if key == "stages" and sep:
            stages = value
        elif not sep or not dot or section not in grouped:
            raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE with SECTION one of {', '.join(known)}"
                              " (or stages=a,b,...)")
        else:
            grouped[section].append(f"{setting}={value}")
    settings = {name: build_config(stage_class(name).config_class, name, data.get(name), grouped[name])
                for name in STAGES}
    return RunConfig(parse_stages(stages), settings, build_config(PublishConfig, "publish", data.get("publish"),
                                                                  grouped["publish"]))


def show_config(config: RunConfig) -> str:
    """The effective config as YAML that ``--config`` reads back, with each stage's settings sha."""
    parts = [yaml.safe_dump({"stages": list(config.stages)}, sort_keys=False),
             yaml.safe_dump({"publish": dataclasses.asdict(config.publish)}, sort_keys=False)]
    for name, settings in config.settings.items():
        state = "runs" if name in config.stages else "not in stages"
        parts.append(f"# {name} ({state}): settings sha {settings_sha(settings)}\n"
                     + yaml.safe_dump({name: dataclasses.asdict(settings)}, sort_keys=False, allow_unicode=True))
    return "\n".join(parts)


@dataclass
class PipelineResult:
    """What a run did: each stage's summary (main process), and the dataset folder when it was published."""

    summaries: dict[str, RunSummary]
    dataset_dir: Path | None


def run_pipeline(videos: str | Path, out: str | Path, config: RunConfig, dataset_dir: str | Path | None = None,
                 overwrite: bool = False, allow_partial: bool = False, strict: bool = False,
                 progress: bool = True) -> PipelineResult:
    """Every stage of ``config`` in order into ``OUT/work/<stage>``, then (main process) the dataset folder.

    Settings are checked against every stage's finished work before any stage runs. Publishing is refused with
    a :class:`builder.publish.PublishError` when tasks failed, unless ``allow_partial``."""
    from accelerate import PartialState
    import torch

    out = Path(out)
    work = out / WORK
    stages = [stage_class(name)(config.settings[name], strict=strict) for name in config.stages]
    if not overwrite:
        for stage in stages:
            check_settings(stage, work / stage.name)
    summaries: dict[str, RunSummary] = {}
    source = Path(videos)
    for stage in stages:
        summaries[stage.name] = run_stage(stage, source, work / stage.name, progress=progress, overwrite=overwrite)
        source = work / stage.name
    if not PartialState(cpu=not torch.cuda.is_available()).is_main_process:
        return PipelineResult(summaries, None)
    print(counts_table(work, config.stages))
    from builder.publish import publish

    target = Path(dataset_dir) if dataset_dir is not None else out / DATASET_NAME
    publish(source, target, max_count=config.publish.max_count, progress=progress, allow_partial=allow_partial,
            shards_multiple_of=config.publish.shards_multiple_of)
    return PipelineResult(summaries, target)


def counts_table(work: Path, stages: tuple[str, ...]) -> str:
    """One row per stage (from its summary): tasks, failed, written, quarantined, and quarantined by reason."""
    rows = [("stage", "tasks", "failed", "written", "quarantined", "quarantined by reason")]
    for name in stages:
        summary = json.loads((work / name / f"{name}.stats.json").read_text(encoding="utf-8"))
        reasons = summary.get("quarantined_by_reason", {})
        rows.append((name, f"{summary['tasks']:,}", f"{summary['failed']:,}", f"{summary['written']:,}",
                     f"{summary['quarantined']:,}", ", ".join(f"{r} {n:,}" for r, n in reasons.items()) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) if i in (0, 5) else cell.rjust(w) for i, (cell, w)
                               in enumerate(zip(row, widths))).rstrip() for row in rows)


def pictures(out: Path, stages: tuple[str, ...], limit: int) -> list[Path]:
    """Contact sheets of the first ``limit`` videos (from the last stage's folder, so they show the published,
    pixelated keyframes once privacy ran) and their highlight plots."""
    from builder.contact_sheet import render

    last = out / WORK / stages[-1]
    (out / "pictures").mkdir(exist_ok=True)
    made = []
    for shots in sorted((last / "shots").glob("*.json"))[:limit]:
        made.append(render(shots, out / "pictures" / f"{shots.stem}.contact.png"))
        plot = out / WORK / "highlight" / "plots" / f"{shots.stem}.png"
        if plot.exists():
            made.append(plot)
    return made


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skyscript run", description=__doc__.split("\n\n")[0])
    p.add_argument("videos", metavar="VIDEOS", help="a video file or a folder of videos")
    p.add_argument("output", metavar="OUT", help="work folder (OUT/work/<stage>) and default dataset folder's parent")
    p.add_argument("--config", help="YAML file: stages, publish and one section per stage (configs/demo.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one value (repeatable), e.g. keyframes.every_s=2 or stages=keyframes,privacy")
    p.add_argument("--dataset-dir", help=f"the dataset folder to build (default: OUT/{DATASET_NAME})")
    p.add_argument("--overwrite", action="store_true",
                   help="redo finished tasks that were made with other settings, code or input")
    p.add_argument("--allow-partial", action="store_true",
                   help="publish although some tasks failed (the card says so)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when anything was quarantined; fail what could only partly be done")
    p.add_argument("--pictures", type=int, default=3, metavar="N",
                   help="contact sheets (and highlight plots) of the first N videos (default 3; 0: none)")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging()
    try:
        config = load_run_config(args.config, args.overrides)
        with logging_redirect_tqdm():
            result = run_pipeline(args.videos, args.output, config, args.dataset_dir, overwrite=args.overwrite,
                                  allow_partial=args.allow_partial, strict=args.strict,
                                  progress=not args.no_progress)
        if result.dataset_dir is None:
            return 0  # not the main process: it printed nothing and published nothing
        from builder.show import loaded_configs

        for line in loaded_configs(result.dataset_dir):
            print(line)
        print(f"card: {result.dataset_dir / 'README.md'}")
        for picture in pictures(Path(args.output), config.stages, args.pictures):
            print(f"picture: {picture}")
    except SkyscriptError as exc:
        print(f"skyscript run: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.exit_code
    quarantined = sum(s.quarantined for s in result.summaries.values())
    return 1 if args.strict and quarantined else 0


def config_main(argv: list[str] | None = None) -> int:
    """``skyscript config show [--config FILE] [--set SECTION.KEY=VALUE]...``"""
    p = argparse.ArgumentParser(prog="skyscript config", description="print the effective config of a run")
    p.add_argument("action", choices=["show"])
    p.add_argument("--config", help="YAML file (default: every stage with its defaults)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        print(show_config(load_run_config(args.config, args.overrides)), end="")
    except SkyscriptError as exc:
        print(f"skyscript config: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
