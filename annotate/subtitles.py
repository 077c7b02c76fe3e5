"""Burned-in subtitles read from a video's frames as timed lines (for the dialogue stage).

The caller samples the frames (the dialogue stage: ``subtitle_fps`` through each shot) and hands them over as
``(time_s, RGB array)`` pairs in time order; the interval between reads is measured from their times. The subtitle
band is where horizontally centred text lines recur on a spread sample of the frames (not a fixed crop); the band of
every frame is read with RapidOCR, and consecutive reads of the same line are merged into one timed line. Frames are
held JPEG-encoded until the band is known, so memory stays small for long videos.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, NamedTuple

import cv2
import numpy as np

from annotate.texts import TextDetector
from builder.contract import Box

#: scripts written without spaces between words (CJK ideographs, kana, CJK and full-width punctuation)
_CJK = re.compile(r"[\u2e80-\u30ff\u3400-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")


@dataclass(frozen=True)
class SubtitleConfig:
    """Tunables of the subtitle reader."""

    band_samples: int = 12  # frames, evenly spread, on which the band is looked for
    min_frames: int = 3  # the band's rows hold centred text in at least this many of those frames
    centre_share: float = 0.15  # a box is centred when its middle lies within this share of the width of the centre
    bin_share: float = 0.02  # rows are binned by this share of the height
    pad_lines: float = 0.5  # the band is padded by this many line heights above and below
    min_score: float = 0.5  # reads below this score are ignored
    max_gap_s: float = 0.5  # a line goes on over missed reads this long (beyond the sampling interval)
    same_ratio: float = 0.6  # reads this similar (difflib ratio, spaces and case ignored) are the same line
    min_reads: int = 2  # lines read fewer times are dropped as noise
    jpeg_quality: int = 95  # of the frames held until the band is known (90 cost one character here)


class Read(NamedTuple):
    """The text read in one frame's band."""

    time_s: float
    text: str
    score: float


@dataclass
class SubtitleLine:
    """One subtitle as shown: its text, first read's time to last read's time plus the sampling interval, the mean
    score of the reads of its text, and how many reads were merged into it."""

    text: str
    start_s: float
    end_s: float
    score: float
    reads: int


def subtitle_detector() -> TextDetector:
    """The RapidOCR detector and recogniser for subtitles (PP-OCRv4, Chinese and English)."""
    return TextDetector()


def find_band(frames: list[np.ndarray], detector: TextDetector,
              config: SubtitleConfig = SubtitleConfig()) -> tuple[int, int] | None:
    """The rows ``(y0, y1)`` of the subtitle band: where centred text lines recur in at least ``min_frames`` of
    ``frames`` (detection only); rows joined across one line height (two-line subtitles), padded by ``pad_lines``.
    A row whose lines all have one width is static text (a watermark, a disclaimer), not subtitles. None when no
    text recurs (no subtitles)."""
    if not frames:
        return None
    height, width = frames[0].shape[:2]
    bins = max(1, int(round(1 / config.bin_share)))
    seen: list[set[int]] = [set() for _ in range(bins)]  # bin -> frames with a centred line there
    boxes: list[tuple[int, Box]] = []
    widths: list[list[float]] = [[] for _ in range(bins)]
    for index, rgb in enumerate(frames):
        for box, _ in detector.detect(rgb):
            if abs((box[0] + box[2]) / 2 - width / 2) <= config.centre_share * width:
                row = min(bins - 1, int((box[1] + box[3]) / 2 / height * bins))
                seen[row].add(index)
                widths[row].append(box[2] - box[0])
                boxes.append((row, box))
    if not boxes:
        return None
    line = float(np.median([box[3] - box[1] for _, box in boxes]))
    near = [range(max(0, b - 1), min(bins, b + 2)) for b in range(bins)]  # a line may straddle two bins
    support = [len(set().union(*(seen[n] for n in near[b]))) for b in range(bins)]
    spread = [np.ptp([w for n in near[b] for w in widths[n]] or [0.0]) for b in range(bins)]
    rows = {b for b in range(bins) if support[b] >= config.min_frames and spread[b] > line / 2}
    if not rows:
        return None
    best = max(rows, key=lambda b: (support[b], b))
    gap = max(1, int(np.ceil(line / height * bins)))
    band = {best}
    for step in (-1, 1):  # the other rows of a two-line subtitle, one line height away
        b, last = best + step, best
        while 0 <= b < bins and abs(b - last) <= gap:
            if b in rows:
                band.add(b)
                last = b
            b += step
    members = set().union(*(near[b] for b in band))  # a row's support counts its neighbours' lines too
    kept = [box for row, box in boxes if row in members]
    line = float(np.median([box[3] - box[1] for box in kept]))
    y0 = min(box[1] for box in kept) - config.pad_lines * line
    y1 = max(box[3] for box in kept) + config.pad_lines * line
    return max(0, int(np.floor(y0))), min(height, int(np.ceil(y1)))


def frame_text(regions: list[tuple[Box, str, float]], min_score: float = 0.5) -> tuple[str, float] | None:
    """The regions' text in reading order (lines top to bottom, words left to right; a space between words unless
    both sides are CJK) with their mean score; regions below ``min_score`` are ignored. None when nothing is read."""
    kept = sorted(((box, text.strip(), score) for box, text, score in regions if text.strip() and score >= min_score),
                  key=lambda r: (r[0][1] + r[0][3]) / 2)
    if not kept:
        return None
    rows: list[list[tuple[Box, str, float]]] = []
    for region in kept:
        middle = (region[0][1] + region[0][3]) / 2
        if rows and rows[-1][0][0][1] <= middle <= rows[-1][0][0][3]:
            rows[-1].append(region)
        else:
            rows.append([region])
    text = ""
    for part in (t for row in rows for _, t, _ in sorted(row, key=lambda r: r[0][0])):
        text += "" if not text or (_CJK.match(text[-1]) and _CJK.match(part[0])) else " "
        text += part
    return text, float(np.mean([score for _, _, score in kept]))


def _key(text: str) -> str:
    return "".join(text.split()).casefold()


def same_line(a: str, b: str, ratio: float) -> bool:
    """Whether two reads are of the same line: similar enough, or one a part of the other (a fading read)."""
    a, b = _key(a), _key(b)
    return bool(a and b) and (a in b or b in a or difflib.SequenceMatcher(None, a, b).ratio() >= ratio)


def merge_reads(reads: list[Read], interval_s: float, max_gap_s: float = 0.5,
                same_ratio: float = 0.6) -> list[SubtitleLine]:
    """Reads (in time order, one every ``interval_s`` where text was read) merged into lines: consecutive reads of
    the same line, at most ``max_gap_s`` of missed reads apart, are one line whose text is its most frequent full
    reading (a partial read, part of another, never wins; ties: the longest, then the highest score)."""
    groups: list[list[Read]] = []
    for read in reads:
        if (groups and read.time_s - groups[-1][-1].time_s - interval_s <= max_gap_s + 1e-6
                and same_line(groups[-1][-1].text, read.text, same_ratio)):
            groups[-1].append(read)
        else:
            groups.append([read])
    lines = []
    for group in groups:
        keys = {_key(r.text) for r in group}
        full = [r for r in group if not any(_key(r.text) != k and _key(r.text) in k for k in keys)]
        counts = Counter(r.text for r in full)
        best = max(full, key=lambda r: (counts[r.text], len(_key(r.text)), r.score)).text
        scores = [r.score for r in group if r.text == best]
        lines.append(SubtitleLine(best, group[0].time_s, group[-1].time_s + interval_s, float(np.mean(scores)),
                                  len(group)))
    return lines


def read_subtitles(frames: Iterable[tuple[float, np.ndarray]], detector: TextDetector,
                   config: SubtitleConfig = SubtitleConfig()) -> tuple[list[SubtitleLine], Counter]:
    """The subtitle lines of the caller's sampled frames (``(time_s, RGB uint8)`` in time order, all of one size;
    consumed once, held JPEG-encoded) and counts: ``subtitle_frames``, ``no_subtitle_band`` or
    ``subtitle_band_found``, ``subtitle_reads`` (frames with text read in the band), ``subtitle_lines``,
    ``subtitle_lines_dropped_few_reads`` (read fewer than ``min_reads`` times)."""
    counts: Counter = Counter()
    times: list[float] = []
    held: list[np.ndarray] = []
    for time_s, rgb in frames:
        times.append(time_s)
        held.append(cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                                 [cv2.IMWRITE_JPEG_QUALITY, config.jpeg_quality])[1])
    counts["subtitle_frames"] += len(held)

    def decoded(index: int) -> np.ndarray:
        return cv2.imdecode(held[index], cv2.IMREAD_COLOR)[..., ::-1]

    spread = sorted({int(round(i)) for i in np.linspace(0, len(held) - 1, min(len(held), config.band_samples))})
    band = find_band([decoded(i) for i in spread], detector, config) if held else None
    if band is None:
        counts["no_subtitle_band"] += 1
        return [], counts
    counts["subtitle_band_found"] += 1
    reads = []
    for index, time_s in enumerate(times):
        found = frame_text(detector.read(decoded(index)[band[0]:band[1]]), config.min_score)
        if found is not None:
            reads.append(Read(time_s, *found))
    counts["subtitle_reads"] += len(reads)
    interval = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    lines = merge_reads(reads, interval, config.max_gap_s, config.same_ratio)
    kept = [line for line in lines if line.reads >= config.min_reads]
    counts["subtitle_lines"] += len(kept)
    counts["subtitle_lines_dropped_few_reads"] += len(lines) - len(kept)
    return kept, counts
