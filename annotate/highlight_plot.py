"""The highlight curve drawn for people to look at: score with peaks and shot boundaries, the characters' V/A/D
and the measured components beneath, time in mm:ss (matplotlib, Agg)."""

from __future__ import annotations

import io
from typing import Any, Sequence

WIDTH_IN, PANEL_IN, DPI = 10.0, 1.9, 90


def mm_ss(seconds: float, _position: Any = None) -> str:
    """``75.2`` -> ``01:15``."""
    whole = int(round(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _series(values: Sequence[float | None]) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def plot_curve(record: dict[str, Any], cuts_s: Sequence[float]) -> bytes:
    """A PNG of one ``highlight_curve`` record; ``cuts_s`` are the shot boundaries."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    times = record["time_s"]
    figure = Figure(figsize=(WIDTH_IN, PANEL_IN * 3), dpi=DPI, layout="constrained")
    top, middle, bottom = figure.subplots(3, 1, sharex=True, height_ratios=(1.4, 1, 1))
    top.plot(times, record["score"], color="black", linewidth=1.4, label="score")
    if record["peaks"]:
        top.scatter([p["time_s"] for p in record["peaks"]], [p["score"] for p in record["peaks"]], color="crimson",
                    zorder=3, s=22, label="peaks")
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("highlight (0..1)")
    top.set_title(f"{record['video_id']}: highlight curve", loc="left", fontsize=10)
    for name, colour in (("valence", "tab:green"), ("arousal", "tab:red"), ("dominance", "tab:blue")):
        if any(v is not None for v in record[name]):
            middle.plot(times, _series(record[name]), color=colour, linewidth=1.0, label=name)
    middle.set_ylim(0.8, 9.2)
    middle.set_ylabel("characters' V/A/D")
    if not middle.lines:
        middle.text(0.5, 0.5, "no character has V/A/D", transform=middle.transAxes, ha="center", va="center",
                    color="grey")
    for name, colour in (("motion", "tab:orange"), ("rhythm", "tab:purple"), ("sound", "tab:cyan"),
                         ("measured_arousal", "black")):
        if any(v is not None for v in record[name]):
            bottom.plot(times, _series(record[name]), color=colour, label=name.replace("_", " "),
                        linewidth=1.6 if name == "measured_arousal" else 0.9)
    bottom.set_ylim(-0.02, 1.02)
    bottom.set_ylabel("measured (0..1)")
    bottom.set_xlabel("time (mm:ss)")
    bottom.xaxis.set_major_formatter(FuncFormatter(mm_ss))
    for axes in (top, middle, bottom):
        for cut in cuts_s:
            axes.axvline(cut, color="grey", linewidth=0.5, alpha=0.5)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="upper right", fontsize=7, ncol=4, framealpha=0.8)
        axes.set_xlim(0, max(times[-1], 1e-3))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
