"""``make bench``: every benchmark in turn, then one table of their headline figures beside their baselines.

Each benchmark script runs as a subprocess of the virtual environment's Python (``.venv/bin/python``), one after
another, with quick but meaningful arguments (``BENCHMARKS`` below). What a script prints goes to
``out/bench/NAME.log``, not to the terminal; the figures it declares with ``common.figure`` come back through the
file named by ``$SKYSCRIPT_BENCH_FIGURES``. Then one table: benchmark | figure | value | unit | baseline |
baseline value | ratio, the ratio being value / baseline oriented so that above 1 means better than the baseline;
beside it the machine (CPUs, CPU model, bf16/AMX flags, torch's threads) and each benchmark's status and duration.
The same is written as Markdown to ``out/bench.md``.

A benchmark whose inputs are missing (``../shared/data``, ``out/demo/work/highlight``) is listed with the reason
and not run; one that crashes or runs past ``--timeout`` is listed with the last line it printed and does not stop
the others. The exit status is 1 when a benchmark crashed or timed out, else 0.

Run: ``.venv/bin/python benchmarks/run_all.py [--only NAME ...] [--timeout S] [--markdown PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import BUNDLED_CLIP, FIGURES_ENV, MUSIC_VIDEO, REPO, cpu, text_table

PYTHON = REPO / ".venv" / "bin" / "python"
SHARED = REPO.parent / "shared" / "data"
OFFICIAL = SHARED / "official-sample-en.first5.json"
DEMO_SCRIPTS = REPO / "out" / "demo" / "work" / "highlight"
LOGS = REPO / "out" / "bench"


@dataclass
class Plan:
    """How one benchmark runs here: its arguments, or why it cannot run, and what it leaves out."""

    args: list[str] = field(default_factory=list)
    skip: str | None = None  # why it cannot run
    notes: list[str] = field(default_factory=list)  # what it leaves out, and why


def videos_plan(args: list[str] | None = None, pass_videos: bool = False) -> Plan:
    """A benchmark of the sample videos: the bundled clip, and the music video when ``../shared/data`` has it."""
    if not BUNDLED_CLIP.exists():
        return Plan(skip=f"{BUNDLED_CLIP.relative_to(REPO)} is missing")
    plan = Plan(list(args or []))
    videos = [BUNDLED_CLIP] + ([MUSIC_VIDEO] if MUSIC_VIDEO.exists() else [])
    if not MUSIC_VIDEO.exists():
        plan.notes.append(f"music video left out ({MUSIC_VIDEO} missing)")
    if pass_videos:
        plan.args += [str(v) for v in videos]
    return plan


def extract_plan() -> Plan:
    if not BUNDLED_CLIP.exists():
        return Plan(skip=f"{BUNDLED_CLIP.relative_to(REPO)} is missing")
    return Plan(["--requests", "64"])


def restore_plan() -> Plan:
    plan = Plan(["--requests", "64"])
    if not DEMO_SCRIPTS.exists():
        plan.notes.append("demo scripts left out (out/demo/work/highlight missing: run `make demo`)")
    if not OFFICIAL.exists():
        plan.notes.append(f"official-sample scripts left out ({OFFICIAL} missing)")
    if not DEMO_SCRIPTS.exists() and not OFFICIAL.exists():
        plan.skip = "no shooting scripts: out/demo/work/highlight (`make demo`) and ../shared/data are both missing"
    return plan


def faces_plan() -> Plan:
    return Plan(["--repeat", "20"], notes=["speed only: accuracy needs --calibrated OUT / --labelled DIR"])


def privacy_plan() -> Plan:
    plan = videos_plan()
    if not plan.skip:
        plan.notes.append("speed only (--recall takes about 10 minutes)")
    return plan


def scale_plan() -> Plan:
    if not BUNDLED_CLIP.exists():
        return Plan(skip=f"{BUNDLED_CLIP.relative_to(REPO)} is missing")
    return Plan(["--seconds", "30"], notes=["30 s of video (docs/scale.md's figures: 60 s, the default)"])


# name -> plan (the arguments are chosen for a run of minutes, not hours, on 2 cores)
BENCHMARKS = {
    "validation": lambda: Plan(["--n", "1000"]),
    "reading": lambda: Plan(["--n", "2000"]),
    "streaming": lambda: Plan(),  # its defaults: 2-3 minutes on 2 cores
    "restore": restore_plan,
    "extract": extract_plan,
    "faces": faces_plan,
    "highlight": videos_plan,
    "script": videos_plan,
    "dialogue": videos_plan,
    "keyframes": lambda: videos_plan(["--repeat", "2"], pass_videos=True),
    "privacy": privacy_plan,
    "scale": scale_plan,  # the whole pipeline once on 30 s of 720p video: several minutes
}


@dataclass
class Result:
    name: str
    plan: Plan
    status: str = "not run"  # ok | crashed | timed out | not run
    seconds: float | None = None
    reason: str | None = None
    figures: list[dict] = field(default_factory=list)


def last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return (lines[-1] if lines else "(no output)")[:160]


def run_one(name: str, plan: Plan, timeout: float, work: Path) -> Result:
    result = Result(name, plan)
    if plan.skip:
        result.reason = plan.skip
        return result
    figures = work / f"{name}.jsonl"
    log = LOGS / f"{name}.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env[FIGURES_ENV] = str(figures)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("HF_DATASETS_OFFLINE", "1")
    command = [str(PYTHON), str(REPO / "benchmarks" / f"{name}.py"), *plan.args]
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the benchmark and what it started (servers, workers)
            process.wait()
            code = None
    result.seconds = time.perf_counter() - started
    if figures.exists():
        result.figures = [json.loads(line) for line in figures.read_text().splitlines() if line.strip()]
    if code is None:
        result.status, result.reason = "timed out", f"ran past --timeout {timeout:g} s"
    elif code != 0:
        result.status, result.reason = "crashed", f"exit {code}: {last_line(log)}"
    else:
        result.status = "ok"
        if not result.figures:
            result.reason = "declared no figures"
    return result


# ---- the machine -------------------------------------------------------------------------------------------------

def machine() -> list[tuple[str, str]]:
    model, flags = cpu()
    wanted = ("avx512_bf16", "amx_bf16", "amx_tile", "amx_int8")
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    probe = ("import json, torch; print(json.dumps({'version': torch.__version__, 'threads': torch.get_num_threads(), "
             "'cuda': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))")
    try:
        found = subprocess.run([str(PYTHON), "-c", probe], capture_output=True, text=True, timeout=300, check=True)
        torch = json.loads(found.stdout.strip().splitlines()[-1])
        torch_line = f"{torch['version']}, {torch['threads']} threads"
        gpu = torch["cuda"] or "none (CPU only)"
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        torch_line, gpu = f"unknown ({type(exc).__name__})", "unknown"
    return [
        ("CPUs", f"{os.cpu_count()} ({usable} usable)"),
        ("CPU model", model),
        ("bf16/AMX flags", ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in wanted) if flags else "unknown"),
        ("torch", torch_line),
        ("GPU", gpu),
        ("Python", f"{platform.python_version()} ({PYTHON.relative_to(REPO)})"),
    ]


# ---- the table ---------------------------------------------------------------------------------------------------

def number(v: float | None) -> str:
    if v is None:
        return "—"
    size = abs(v)
    return f"{v:,.0f}" if size >= 100 else f"{v:.1f}" if size >= 10 else f"{v:.2f}" if size >= 1 else f"{v:.3f}"


def ratio(f: dict) -> str:
    value, base = f.get("value"), f.get("baseline_value")
    if value is None or base is None or f.get("baseline_name") is None:
        return "—"
    if f.get("better") == "lower":
        value, base = base, value
    return f"{value / base:.2f}x" if base else "—"


HEADER = ("benchmark", "figure", "value", "unit", "baseline", "baseline value", "ratio")
RIGHT = {2, 5, 6}  # right-aligned columns


def figure_rows(results: list[Result]) -> list[tuple[str, ...]]:
    rows = []
    for r in results:
        for f in r.figures:
            rows.append((r.name, f["name"], number(f["value"]), f["unit"], f.get("baseline_name") or "—",
                         number(f.get("baseline_value")), ratio(f)))
        if r.status != "ok":
            rows.append((r.name, f"({r.status}: {r.reason})", "—", "", "—", "—", "—"))
        elif not r.figures:
            rows.append((r.name, f"({r.reason})", "—", "", "—", "—", "—"))
    return rows


def shown(arg: str) -> str:
    """A path argument relative to the repository (``../shared/data/...``), anything else as it is."""
    return os.path.relpath(arg, REPO) if os.path.isabs(arg) else arg


def run_rows(results: list[Result]) -> list[tuple[str, ...]]:
    return [(r.name, r.status, "—" if r.seconds is None else f"{r.seconds:.0f}", str(len(r.figures)),
             " ".join(map(shown, r.plan.args)) or "(defaults)", "; ".join(r.plan.notes + ([r.reason] if r.reason else [])) or "")
            for r in results]


RUN_HEADER = ("benchmark", "status", "seconds", "figures", "arguments", "notes")


def markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> str:
    def cell(c) -> str:
        return str(c).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def report(results: list[Result], about: list[tuple[str, str]], total: float) -> tuple[str, str]:
    figures, runs = figure_rows(results), run_rows(results)
    text = "\n".join([
        "machine: " + "; ".join(f"{k} {v}" for k, v in about),
        "",
        text_table(HEADER, figures, RIGHT),
        "",
        "ratio: value / baseline, turned so that above 1 means better than the baseline (for figures where lower "
        "is better, baseline / value)",
        "",
        text_table(RUN_HEADER, runs, {2, 3}),
        f"\ntotal {total:.0f} s; each benchmark's output: {LOGS.relative_to(REPO)}/NAME.log",
    ])
    markdown = "\n".join([
        "# Benchmarks (`make bench`)",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M %Z')}, {total:.0f} s in all.",
        "",
        *[f"- {k}: {v}" for k, v in about],
        "",
        markdown_table(HEADER, figures, RIGHT),
        "",
        "Ratio: value / baseline, turned so that above 1 means better than the baseline (for figures where lower is "
        "better, baseline / value).",
        "",
        markdown_table(RUN_HEADER, runs, {2, 3}),
        "",
        f"Each benchmark's output: `{LOGS.relative_to(REPO)}/NAME.log`.",
        "",
    ])
    return text, markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=list(BENCHMARKS),
                        help=f"run these benchmarks only (of: {', '.join(BENCHMARKS)})")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds a benchmark may run (default 3600)")
    parser.add_argument("--markdown", type=Path, default=REPO / "out" / "bench.md", help="the Markdown table")
    args = parser.parse_args(argv)
    if not PYTHON.exists():
        sys.exit(f"{PYTHON} is missing: run `make install` first")
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    LOGS.mkdir(parents=True, exist_ok=True)
    about = machine()
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="skyscript-bench-") as work:
        for i, name in enumerate(names, 1):
            plan = BENCHMARKS[name]()
            print(f"[{i}/{len(names)}] {name} {' '.join(map(shown, plan.args))}".rstrip() + " ...", end=" ",
                  flush=True)
            result = run_one(name, plan, args.timeout, Path(work))
            results.append(result)
            took = "" if result.seconds is None else f", {result.seconds:.0f} s"
            print(f"{result.status}{took}, {len(result.figures)} figures"
                  + (f" ({result.reason})" if result.reason else ""), flush=True)
    text, markdown = report(results, about, time.perf_counter() - started)
    print("\n" + text)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(markdown, encoding="utf-8")
    print(f"written: {args.markdown}")
    return 1 if any(r.status in ("crashed", "timed out") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
