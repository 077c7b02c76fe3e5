"""The subtitle reader: Chinese and English subtitles burned into the real Big Buck Bunny frames come back as timed
lines (band, order, character error rate, timing); a video without subtitles gives none; merging of reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from burned_subtitles import FPS, SIZE, bunny, burn, cer
from videos import write_video

from annotate.subtitles import (Read, SubtitleConfig, find_band, frame_text, merge_reads, read_subtitles,
                                subtitle_detector)
from annotate.video import Video

SAMPLE_FPS = 4
#: measured on this video (seed 7, 8 lines): CER 0.0; start and end at most 0.16 s late at 4 fps (a read every
#: 0.25 s: up to one interval late in theory). With 0.5 s fades in and out (tried once, not a test): CER 0.010
MAX_CER, MAX_TIMING_S = 0.03, 0.3
FAST = {"preset": "veryfast"}  # a few seconds for 20 s of video

def sampled(path: Path, per_second: float):
    """The decoded frames at ``per_second`` (the first at or after each sampling time), as the caller samples."""
    step, next_s = 1 / per_second, 0.0
    with Video(path) as video:
        for decoded in video.frames():
            if decoded.time_s >= next_s - 1e-6:
                yield decoded.time_s, decoded.frame.to_ndarray(format="rgb24")
                next_s += step


@pytest.fixture(scope="module")
def detector():
    return subtitle_detector()


@pytest.fixture(scope="module")
def burned(shared_data, tmp_path_factory):
    frames = bunny(shared_data, 20 * FPS)
    shown = burn(frames)
    path = write_video(tmp_path_factory.mktemp("subtitles") / "burned.mp4", frames, codec_options=FAST)
    return shown, path


def test_burned_subtitles_come_back_as_timed_lines(burned, detector):
    shown, path = burned
    lines, counts = read_subtitles(sampled(path, SAMPLE_FPS), detector)
    assert counts["subtitle_band_found"] == 1 and counts["subtitle_frames"] == 20 * SAMPLE_FPS
    truth = [text for text, _, _, _ in shown]
    error = cer(truth, [line.text for line in lines])
    starts = [line.start_s - a / FPS for line, (_, a, _, _) in zip(lines, shown)]
    ends = [line.end_s - b / FPS for line, (_, _, b, _) in zip(lines, shown)]
    timing = np.abs(starts + ends)
    print(f"\n{len(shown)} lines, CER {error:.4f}, start errors {min(starts):+.2f}..{max(starts):+.2f} s, "
          f"end errors {min(ends):+.2f}..{max(ends):+.2f} s, counts {dict(counts)}")
    for line in lines:
        print(f"  {line.start_s:6.2f}-{line.end_s:6.2f} {line.score:.3f} {line.reads:2d} {line.text}")
    assert len(lines) == len(shown)  # every line once, in order, and nothing read in the gaps
    assert all(line.text == text or cer([text], [line.text]) < 0.2 for line, text in zip(lines, truth))
    assert error <= MAX_CER
    assert max(timing) <= MAX_TIMING_S


def test_the_band_holds_the_burned_rows(burned, detector):
    shown, path = burned
    frames = [rgb for _, rgb in sampled(path, 0.6)]  # 12 frames spread over the 20 s
    band = find_band(frames, detector)
    top, bottom = min(r[0] for *_, r in shown), max(r[1] for *_, r in shown)
    print(f"\nband {band}, burned rows {top}..{bottom}")
    assert band is not None
    assert band[0] <= top and bottom <= band[1]
    assert band[1] - band[0] < 3 * (bottom - top)  # a band around the line, not the lower half of the frame


def test_a_video_without_subtitles_gives_no_lines(shared_data, tmp_path, detector):
    path = write_video(tmp_path / "plain.mp4", bunny(shared_data, 4 * FPS), codec_options=FAST)
    lines, counts = read_subtitles(sampled(path, SAMPLE_FPS), detector)
    assert lines == [] and counts["no_subtitle_band"] == 1 and counts["subtitle_reads"] == 0


class Boxes:
    """A stand-in detector: frame ``i`` (all its pixels ``i``) holds the boxes ``boxes[i]``."""

    def __init__(self, boxes: list[list[list[float]]]) -> None:
        self.boxes = boxes

    def detect(self, rgb):
        return [(box, None) for box in self.boxes[int(rgb[0, 0, 0])]]


def blank_frames(count: int) -> list[np.ndarray]:
    return [np.full((SIZE[1], SIZE[0], 3), i, np.uint8) for i in range(count)]


def centred(width: float, y0: float, y1: float) -> list[float]:
    return [SIZE[0] / 2 - width / 2, y0, SIZE[0] / 2 + width / 2, y1]


def test_band_skips_static_text_and_side_text():
    """Subtitles in 9 of 12 frames; a disclaimer below them and a title at the top in all (static: one width);
    a sign at the side in all: the band is the subtitles' rows padded by half a line."""
    static = [centred(140, 340, 356), centred(100, 10, 30), [20, 300, 120, 330]]
    boxes = [static + ([centred(200 + 20 * i, 295, 325)] if i < 9 else []) for i in range(12)]
    assert find_band(blank_frames(12), Boxes(boxes)) == (280, 340)
    assert find_band(blank_frames(12), Boxes([static] * 12)) is None
    rare = [[centred(200 + 20 * i, 295, 325)] if i < 2 else [] for i in range(12)]
    assert find_band(blank_frames(12), Boxes(rare)) is None  # text in 2 frames does not recur


def test_band_joins_the_lines_of_two_line_subtitles():
    boxes = [[centred(300 - 10 * i, 300, 325)] + ([centred(200 + 15 * i, 270, 295)] if i % 2 else [])
             for i in range(12)]
    assert find_band(blank_frames(12), Boxes(boxes)) == (257, 338)


def test_reading_order_of_regions():
    regions = [([300, 52, 420, 80], "world", 0.9), ([100, 10, 260, 40], "我是", 0.8),
               ([100, 50, 290, 82], "Hello", 0.9), ([262, 12, 400, 38], "小明", 0.9), ([10, 100, 40, 120], "noise", 0.3)]
    assert frame_text(regions) == ("我是小明 Hello world", pytest.approx(0.875))
    assert frame_text([([0, 0, 10, 10], " ", 0.9)]) is None


def test_merge_reads_joins_fades_and_missed_frames_and_splits_lines():
    reads = [Read(1.0, "Wh", 0.6), Read(1.25, "Where were", 0.7), Read(1.5, "Where were you last night?", 0.95),
             Read(1.75, "Where were you last night?", 0.96),  # 2.0 missed, 2.25 misread
             Read(2.25, "Where were you lost night?", 0.8),
             Read(2.5, "Where were you last night?", 0.97), Read(2.75, "你昨天晚上去哪里了", 0.9),  # the next line, no gap
             Read(3.0, "你昨天晚上去哪里了", 0.92), Read(3.25, "你昨天晚", 0.6)]  # fading out
    lines = merge_reads(reads, 0.25, max_gap_s=0.5)
    assert [(line.text, line.start_s, line.end_s, line.reads) for line in lines] == [
        ("Where were you last night?", 1.0, 2.75, 6), ("你昨天晚上去哪里了", 2.75, 3.5, 3)]
    assert lines[0].score == pytest.approx(np.mean([0.95, 0.96, 0.97]))


def test_merge_reads_splits_on_a_long_gap_and_breaks_ties_by_length_then_score():
    reads = [Read(0.0, "Stop", 0.9), Read(1.0, "Stop", 0.9), Read(1.25, "Stop!", 0.8)]
    lines = merge_reads(reads, 0.25, max_gap_s=0.5)
    assert [(line.text, line.start_s, line.end_s) for line in lines] == [("Stop", 0.0, 0.25), ("Stop!", 1.0, 1.5)]
    assert merge_reads([Read(0.0, "Lets go", 0.99), Read(0.25, "Let's go", 0.7)], 0.25)[0].text == "Let's go"
    assert merge_reads([Read(0.0, "I know", 0.8), Read(0.25, "I knew", 0.9)], 0.25)[0].text == "I knew"


def test_a_band_supported_only_by_its_neighbouring_rows_is_found():
    """Lines whose middles fall in the rows either side of one (bins of 7.2 px: 42 and 44) support that row
    most, though it holds no box itself (the music video found this)."""
    boxes = [[centred(200 + 20 * i, 300, 318)] if i % 2 == 0 else [centred(200 + 20 * i, 314, 332)] for i in range(4)]
    band = find_band(blank_frames(4), Boxes(boxes), SubtitleConfig(min_frames=3))
    assert band is not None and band[0] <= 300 and band[1] >= 332
