"""Highlight stage (paper section 5.1, Figure 8): one continuous ``highlight_curve`` per video, and each shot of
its shooting scripts scored from it (``skyscript highlight IN OUT``; IN: the script stage's OUT).

One task per video; frames and other samples pass through, shooting scripts gain ``shots[].highlight_score``.
The curve lies on a uniform grid (``grid_s``) from 0 to the video's end and combines two parts:

- **measured arousal** ``M``, in the manner of Hanjalic and Xu (2005, "Affective video content representation
  and modeling", IEEE Transactions on Multimedia 7(1)): motion activity and sound energy from the signals file
  the keyframes stage measured in its decoding pass (``annotate.signals``), and cut rhythm
  ``exp(-shot length / rhythm_tau_s)`` from the shots file. Each is smoothed (Hann window, ``smooth_s``) and
  normalised within the video, ``(x - min) / max(max - min, floor)`` (floors: ``motion_min_range``,
  ``sound_min_range_db``, 1 for rhythm, which is already 0..1), then ``M`` is their weighted mean over the
  components measured (``motion_weight``, ``rhythm_weight``, ``sound_weight``); a component constant over the
  whole video (silence throughout, a single shot) is 0 and carries no information, so its weight goes to the
  others as a missing one's does (all constant: ``M`` is 0). The frame differences at cuts are
  left out of motion, so a cut counts once, in the rhythm. Sound is floored at ``sound_floor_db``.
- **the characters' intensity** ``I``: per keyframe, the V/A/D (1..9) of its people (``people[].vad``) averaged
  with weights by screen share (the person's box, else its face box, over the frame; a person without a box
  counts as the frame's mean share), linear between keyframes and held before the first and after the last;
  ``I = (w_a*(A-1)/8 + w_v*|V-5|/4 + w_d*|D-5|/4) / (w_a + w_v + w_d)`` over the dimensions some frame has:
  high arousal, and valence or dominance far from neutral.

``score = (1 - characters_weight) * M + characters_weight * I`` where both exist, else the one that does (both
missing: the curve is quarantined, ``no_signals``). Peaks: local maxima with at least ``peak_prominence``
prominence. A shot's ``highlight_score`` is 10 times the score's mean (``shot_score``: or max) over the shot's
span: Table 1's 0..10 scale. A PNG of the curve is the record's ``png`` and ``OUT/plots/<video_id>.png``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annotate import curve
from annotate.config import ConfigError, operational
from annotate.highlight_plot import plot_curve
from annotate.runner import Task, VideoStage, stage_main
from builder.contract import blank
from builder.sample import Sample
from builder.script_text import render_script
from builder.shards import Quarantine, ShardWriter, write_bytes_atomic
from builder.video_files import SHOTS_FILE, SIGNALS_FILE

PLOTS = "plots"
RHYTHM_FLOOR = 1.0  # rhythm is exp(-L/tau), already 0..1: only its minimum is taken off
COMPONENTS = ("motion", "rhythm", "sound")
VAD = ("valence", "arousal", "dominance")
FORMULA = ("score = (1 - w_c) * M + w_c * I where both exist, else M or I; "
           "M = (w_m*motion + w_r*rhythm + w_s*sound) / (sum of the weights of the components measured and not "
           "constant over the video), each "
           "component Hann-smoothed over smooth_s and normalised in the video as (x - min) / max(max - min, floor), "
           "rhythm = exp(-shot length / rhythm_tau_s), motion without the frame differences at cuts, sound in dBFS "
           "floored at sound_floor_db; I = (w_a*(A-1)/8 + w_v*|V-5|/4 + w_d*|D-5|/4) / (sum of the weights of the "
           "dimensions known), people's "
           "V/A/D per keyframe weighted by screen share, linear between keyframes, held at the ends; "
           "shot highlight_score = 10 * shot_score of score over the shot's span")


@dataclass
class HighlightConfig:
    """Settings of the highlight stage (the formula: this module's docstring and the README)."""

    grid_s: float = 0.5  # the curve's time step
    smooth_s: float = 2.0  # width of the Hann window each measured component is smoothed with
    motion_weight: float = 0.4
    rhythm_weight: float = 0.2
    sound_weight: float = 0.4
    rhythm_tau_s: float = 2.0  # a shot this long has rhythm 1/e; shorter shots, faster cutting, higher arousal
    motion_min_range: float = 2.0  # motion (mean frame difference, 0..255) varying less than this is mostly noise
    sound_floor_db: float = -60.0  # quieter than this counts as silence
    sound_min_range_db: float = 12.0  # loudness varying less than this stays proportionally small
    characters_weight: float = 0.5  # share of the characters' intensity I in the score, where it is known
    valence_weight: float = 0.3
    arousal_weight: float = 0.5
    dominance_weight: float = 0.2
    peak_prominence: float = 0.1  # in score units (0..1)
    shot_score: str = "mean"  # a shot's highlight_score from the curve over its span: mean or max
    plots: bool = operational(True)  # also write OUT/plots/<video_id>.png (the record's png is always made)
    shard_max_count: int = operational(1000)


@dataclass
class Curve:
    """One video's curve: the record (without provenance), its grid and score as arrays, the shot boundaries."""

    record: dict[str, Any]
    times: np.ndarray
    score: np.ndarray
    cuts_s: list[float]


class NoSignals(Exception):
    """Nothing to make a curve from (no signals, no shots with times, no V/A/D)."""


def build_curve(video_id: str, config: HighlightConfig, frames: list[dict], shots: dict | None,
                signals: dict | None) -> Curve:
    """The highlight curve of one video from its frame records, shots file and signals file (either may be
    None: the components they give are then missing, with the reason)."""
    c = config
    duration = ((signals or {}).get("duration_s") or (shots or {}).get("duration_s")
                or max((f.get("time_s") or 0.0 for f in frames), default=None))
    if duration is None:
        raise NoSignals("no signals file, no shots file and no frames")
    times = curve.grid(duration, c.grid_s)
    spans = [(s["start_s"], s["end_s"]) for s in (shots or {}).get("shots", [])]
    missing: dict[str, str] = {}
    series: dict[str, np.ndarray] = {}
    if signals is None:
        missing["motion"] = missing["sound"] = "no_signals_file"
    else:
        step = signals["step_s"]
        motion = list(signals["motion"])
        for start, _ in spans[1:]:  # the frame difference at a cut belongs to the rhythm
            if int(start // step) < len(motion):
                motion[int(start // step)] = None
        filled = curve.fill_gaps(motion)
        if filled is None:
            missing["motion"] = "no_frame_pairs"
        else:
            series["motion"] = curve.normalise(curve.on_grid(curve.smooth(filled, step, c.smooth_s), step, times),
                                               c.motion_min_range)
        sound = signals["sound_db"]
        filled = None if sound is None else curve.fill_gaps(
            [None if v is None else max(v, c.sound_floor_db) for v in sound])
        if filled is None:
            missing["sound"] = signals["sound_status"] if sound is None else "no_samples"
        else:
            series["sound"] = curve.normalise(curve.on_grid(curve.smooth(filled, step, c.smooth_s), step, times),
                                              c.sound_min_range_db)
    if spans:
        rhythm = curve.smooth(curve.cut_rhythm(times, spans, c.rhythm_tau_s), c.grid_s, c.smooth_s)
        series["rhythm"] = curve.normalise(rhythm, RHYTHM_FLOOR)
    else:
        missing["rhythm"] = "no_shots_file"
    weights = {"motion": c.motion_weight, "rhythm": c.rhythm_weight, "sound": c.sound_weight}
    used = [name for name in COMPONENTS if name in series and weights[name] > 0]
    varying = [name for name in used if series[name].max() > 1e-6]  # a constant one is 0: no information
    measured = None if not used else np.zeros(len(times)) if not varying else (
        sum(weights[n] * series[n] for n in varying) / sum(weights[n] for n in varying))
    vad = character_vad(frames, times)
    intensity = character_intensity(vad, c)
    if intensity is None:
        missing["characters"] = "no_vad"
    if measured is None and intensity is None:
        raise NoSignals(", ".join(f"{k}: {v}" for k, v in sorted(missing.items())))
    if measured is None:
        score = intensity
    elif intensity is None:
        score = measured
    else:
        score = (1 - c.characters_weight) * measured + c.characters_weight * intensity
    score = np.round(np.clip(score, 0.0, 1.0), 4)
    n = len(times)
    record = {
        **blank("highlight_curve"), "video_id": video_id, "duration_s": round(float(duration), 3),
        "time_s": [round(float(t), 3) for t in times], "score": score.tolist(),
        "measured_arousal": _values(measured, n), **{name: _values(series.get(name), n) for name in COMPONENTS},
        "character_intensity": _values(intensity, n),
        **{name: _values(vad.get(name), n, 2) for name in VAD},
        "peaks": curve.peaks(score, times, c.peak_prominence),
        "method": {
            "formula": FORMULA,
            "weights": {**weights, "characters": c.characters_weight, "valence": c.valence_weight,
                        "arousal": c.arousal_weight, "dominance": c.dominance_weight},
            "settings": {"grid_s": c.grid_s, "smooth_s": c.smooth_s, "rhythm_tau_s": c.rhythm_tau_s,
                         "motion_min_range": c.motion_min_range, "sound_floor_db": c.sound_floor_db,
                         "sound_min_range_db": c.sound_min_range_db, "peak_prominence": c.peak_prominence,
                         "shot_score": c.shot_score},
            "components": used + (["characters"] if intensity is not None else []),
            "missing": [{"component": k, "reason": v} for k, v in sorted(missing.items())],
        },
    }
    return Curve(record, times, score, [start for start, _ in spans[1:]])


def _values(values: np.ndarray | None, n: int, digits: int = 4) -> list[float | None]:
    return [None] * n if values is None else [round(float(v), digits) for v in values]


def character_vad(frames: list[dict], times: np.ndarray) -> dict[str, np.ndarray]:
    """Each V/A/D dimension on the grid from the keyframes whose people have it (dimensions no frame has: absent)."""
    knots: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in VAD}
    for frame in frames:
        people = [p for p in frame.get("people") or [] if p.get("vad")]
        if not people or frame.get("time_s") is None:
            continue
        shares = [_screen_share(p, frame) for p in people]
        known = [s for s in shares if s is not None]
        fallback = sum(known) / len(known) if known else 1.0
        shares = [fallback if s is None else s for s in shares]
        for name in VAD:
            pairs = [(p["vad"][name], w) for p, w in zip(people, shares) if p["vad"].get(name) is not None]
            total = sum(w for _, w in pairs)
            if pairs and total > 0:
                knots[name][0].append(frame["time_s"])
                knots[name][1].append(sum(v * w for v, w in pairs) / total)
    return {name: curve.hold_between(ts, vs, times) for name, (ts, vs) in knots.items() if ts}


def _screen_share(person: dict, frame: dict) -> float | None:
    box = person.get("bbox") or (person.get("face") or {}).get("bbox")
    if not box or not frame.get("width") or not frame.get("height"):
        return None
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1]) / (frame["width"] * frame["height"])


def character_intensity(vad: dict[str, np.ndarray], config: HighlightConfig) -> np.ndarray | None:
    """How far the characters are from calm and neutral, 0..1, from the dimensions known (None: none is)."""
    terms = {"arousal": (config.arousal_weight, lambda a: (a - 1) / 8),
             "valence": (config.valence_weight, lambda v: np.abs(v - 5) / 4),
             "dominance": (config.dominance_weight, lambda d: np.abs(d - 5) / 4)}
    present = [(w, f(vad[name])) for name, (w, f) in terms.items() if name in vad and w > 0]
    if not present:
        return None
    return sum(w * values for w, values in present) / sum(w for w, _ in present)


class HighlightStage(VideoStage[HighlightConfig]):
    """A continuous highlight curve per video (measured arousal and the characters' V/A/D), shots scored from it."""

    name = "highlight"
    config_class = HighlightConfig

    def setup(self, device) -> None:
        c = self.config
        for name in ("grid_s", "rhythm_tau_s"):
            if not getattr(c, name) > 0:
                raise ConfigError(f"{name} must be above 0, got {getattr(c, name)}")
        for name in ("smooth_s", "motion_weight", "rhythm_weight", "sound_weight", "valence_weight", "arousal_weight",
                     "dominance_weight", "motion_min_range", "sound_min_range_db", "peak_prominence"):
            if getattr(c, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(c, name)}")
        if c.motion_weight + c.rhythm_weight + c.sound_weight <= 0:
            raise ConfigError("motion_weight, rhythm_weight and sound_weight are all 0: nothing measured would count")
        if not 0 <= c.characters_weight <= 1:
            raise ConfigError(f"characters_weight must lie in 0..1, got {c.characters_weight}")
        if c.shot_score not in ("mean", "max"):
            raise ConfigError(f"shot_score {c.shot_score!r}: use mean or max")

    def task_side_files(self, out: Path, task: str) -> list[Path]:
        return [*super().task_side_files(out, task), out / PLOTS / f"{task}.png"]

    def run_video(self, task: Task, samples: list[Sample], writer: ShardWriter, quarantine: Quarantine) -> None:
        folder = self.input_dir(task)
        shots, signals = SHOTS_FILE.find(folder, task.name), SIGNALS_FILE.find(folder, task.name)
        frames = [s.record for s in samples if s.kind == "frame"]
        try:
            made = build_curve(task.name, self.config, frames, shots, signals)
        except NoSignals as exc:
            made = None
            writer.count("curves_not_made_no_signals")
            quarantine.add(task.name, "no_signals", str(exc), source=task.source)
        if made is not None:
            for item in made.record["method"]["missing"]:
                writer.count(f"curves_without_{item['component']}_{item['reason']}")
        for sample in samples:
            if sample.kind == "shooting_script":
                self.score_shots(sample.record, made, writer)
            writer.write(sample)
        if made is None:
            return
        made.record["provenance"] = [self.provenance()]
        png = plot_curve(made.record, made.cuts_s)
        writer.write(Sample(f"{task.name}_highlight", made.record, {"png": png}))
        writer.count("curves")
        writer.count("peaks", len(made.record["peaks"]))
        if self.config.plots:
            write_bytes_atomic(writer.folder / PLOTS / f"{task.name}.png", png)

    def score_shots(self, script: dict, made: Curve | None, writer: ShardWriter) -> None:
        """Each shot's highlight_score from the curve over its span (null without a curve or without times)."""
        scored = 0
        for shot in script.get("shots") or []:
            if made is None or shot.get("start_s") is None or shot.get("end_s") is None:
                writer.count("shots_not_scored")
                continue
            value = curve.span_value(made.score, made.times, shot["start_s"], shot["end_s"], self.config.shot_score)
            shot["highlight_score"] = round(10 * value, 2)
            scored += 1
        writer.count("shots_scored", scored)
        if scored:
            script["text"] = render_script(script)
            script["provenance"] = [*script.get("provenance", []), self.provenance()]


def main(argv: list[str] | None = None) -> int:
    return stage_main(HighlightStage, argv)


if __name__ == "__main__":
    sys.exit(main())
