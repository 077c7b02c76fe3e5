"""What the benchmark scripts share: where the repository and its sample videos are, the CPU's model and flags, a
best-of-N timer, and ``figure`` to declare a headline figure beside its baseline for ``make bench``
(``benchmarks/run_all.py``)."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Callable

FIGURES_ENV = "SKYSCRIPT_BENCH_FIGURES"  # run_all.py names a file here; each figure() appends one JSON line to it

REPO = Path(__file__).resolve().parents[1]
BUNDLED_CLIP = REPO / "samples" / "bigbuckbunny.mp4"
MUSIC_VIDEO = REPO.parent / "shared" / "data" / "transnetv2-test.mp4"


def cpu() -> tuple[str, set[str] | None]:
    """The CPU's model name and flags from ``/proc/cpuinfo`` (Linux); elsewhere ``platform.processor()`` and
    None (flags unknown)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or "unknown", None
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")),
                 platform.processor() or "unknown")
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), None)
    return model, set(flags) if flags is not None else None


def bf16_flags(separator: str = " ") -> str:
    """The CPU's bf16 flags (``avx512_bf16``, ``amx_bf16``) joined by ``separator``; ``none``, or ``unknown`` where
    the flags cannot be read."""
    _, flags = cpu()
    if flags is None:
        return "unknown"
    return separator.join(f for f in ("avx512_bf16", "amx_bf16") if f in flags) or "none"


def sample_videos(given: list[Path]) -> list[Path]:
    """The videos given, else the bundled clip and the music video when ``../shared/data`` is there."""
    return given or [p for p in (BUNDLED_CLIP, MUSIC_VIDEO) if p.exists()]


def best(fn: Callable[[], object], repeat: int = 1) -> float:
    """The shortest of ``repeat`` timed calls of ``fn``, in seconds."""
    return best_interleaved({"": fn}, repeat)[""]


def best_interleaved(calls: dict[str, Callable[[], object]], repeat: int = 1) -> dict[str, float]:
    """The shortest of ``repeat`` timed calls of each of ``calls``, in seconds, called in turn round after round:
    on a machine whose speed drifts during the run (a shared virtual machine: 1.5x between minutes here) each is
    measured under the same conditions as the others."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(seconds) for name, seconds in times.items()}


def figure(benchmark: str, name: str, value: float, unit: str, baseline_name: str | None = None,
           baseline_value: float | None = None, better: str = "higher") -> None:
    """Declare one headline figure of ``benchmark`` beside the baseline measured in the same run (``None`` when the
    benchmark has none). ``better`` says which way is better ("higher" or "lower") for both: ``run_all.py`` orients
    the ratio by it so that above 1 means better than the baseline. Prints nothing; when ``$SKYSCRIPT_BENCH_FIGURES``
    names a file, appends the figure to it as one JSON line."""
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', not {better!r}")
    if (baseline_name is None) != (baseline_value is None):
        raise ValueError("give both baseline_name and baseline_value, or neither")
    path = os.environ.get(FIGURES_ENV)
    if not path:
        return

    def number(v: float | None) -> float | None:
        return None if v is None or not math.isfinite(float(v)) else float(v)

    line = {"benchmark": benchmark, "name": name, "value": number(value), "unit": unit,
            "baseline_name": baseline_name, "baseline_value": number(baseline_value), "better": better}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def text_table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> str:
    """Rows under a header and a rule, columns padded; the columns in ``right`` right-aligned."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]

    def line(cells) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), line("-" * w for w in widths), *map(line, rows)])
