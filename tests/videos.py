"""Real test videos made with PyAV from ../shared/data: joined segments with known cuts or dissolves.

``SEGMENTS`` are single shots of the music video (frames inclusive), checked before use: inside each, the
largest mean absolute difference between consecutive frames (RGB at 64x36) is at most 12.1, where every
boundary TransNetV2 finds in the music video has at least 18.3 (10th percentile 28.0); TransNetV2's transition
probability stays below 0.05 and no frame is dark; their middle frames were looked at. The Big Buck Bunny
clip is one shot (largest difference 4.1). ``ORDER`` joins pieces of them so that neighbours always come from
different set-ups (another place, or another shot size of the same place), as a drama cuts.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SIZE = (160, 90)
SEGMENTS = {  # name: (first, last) frame in transnetv2-test.mp4; "bbb" is the whole bigbuckbunny.mp4
    "fence": (304, 367), "arches_medium_a": (459, 569), "window": (1204, 1275), "arches_medium_b": (1611, 1666),
    "close_up_a": (1731, 1811), "arches_wide_a": (3080, 3144), "hall_a": (3386, 3450), "light": (3532, 3596),
    "close_up_b": (3681, 3763), "arches_medium_c": (3770, 3827), "arches_wide_b": (4037, 4139),
    "arches_wide_c": (4146, 4225), "close_up_c": (4232, 4288), "hall_b": (4602, 4663), "bbb": (0, 131),
}
ORDER = [("fence", 0), ("arches_medium_a", 0), ("window", 0), ("close_up_a", 0), ("light", 0),
         ("arches_wide_a", 0), ("bbb", 0), ("hall_a", 0), ("close_up_b", 0), ("arches_medium_b", 0),
         ("hall_b", 0), ("arches_wide_b", 0), ("close_up_c", 0), ("bbb", 60), ("arches_medium_c", 0),
         ("arches_wide_c", 0), ("arches_medium_a", 56)]  # (segment, offset of the piece in it)


@dataclass
class Joined:
    path: Path
    frames: int
    cuts: list[int]  # first frame of each new piece (hard cuts)
    transitions: list[tuple[int, int]]  # frames of each dissolve, inclusive


def read_frames(path: Path, start: int, stop: int, size: tuple[int, int] = SIZE) -> list[np.ndarray]:
    """RGB frames ``start..stop`` (inclusive) of a video, resized to ``size``."""
    out = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index > stop:
                break
            if index >= start:
                out.append(frame.to_ndarray(width=size[0], height=size[1], format="rgb24"))
    return out


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25, codec: str = "libx264",
                options: dict | None = None, codec_options: dict | None = None) -> Path:
    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream(codec, rate=fps, options=codec_options or {})
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_video_with_audio(path: Path, frames: list[np.ndarray], audio: np.ndarray, rate: int = 44100,
                           fps: int = 25, audio_start_s: float = 0.0) -> Path:
    """An H.264 video with an AAC track: ``audio`` is mono float samples in -1..1 at ``rate``, its first sample
    ``audio_start_s`` after the first video frame."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height = frames[0].shape[1], frames[0].shape[0]
        video.pix_fmt = "yuv420p"
        sound = container.add_stream("aac", rate=rate, layout="mono")
        for array in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        samples = audio.astype(np.float32).reshape(1, -1)
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]), format="flt",
                                               layout="mono")
            frame.sample_rate, frame.pts = rate, start + round(audio_start_s * rate)
            for packet in sound.encode(frame):
                container.mux(packet)
        for stream in (video, sound):
            for packet in stream.encode():
                container.mux(packet)
    return path


def read_audio(path: Path, start_s: float, stop_s: float, rate: int = 44100) -> np.ndarray:
    """The mono mix of a video's audio between two times, as float samples at ``rate``."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for mono in resampler.resample(frame):
                chunks.append(mono.to_ndarray().reshape(-1))
    samples = np.concatenate(chunks)
    return samples[int(start_s * rate):int(stop_s * rate)]


def write_vfr_video(path: Path, frames: list[np.ndarray], durations_s: list[float], codec: str = "libx264") -> Path:
    """A variable frame rate video: frame ``k`` is shown for ``durations_s[k]`` seconds (timestamps in ms).

    The nominal rate given to the encoder (25) is only a hint; the container's pts carry the real times.
    """
    assert len(durations_s) == len(frames)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        elapsed_ms = 0
        for array, duration in zip(frames, durations_s):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts, frame.time_base = elapsed_ms, Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
            elapsed_ms += round(duration * 1000)
        for packet in stream.encode():
            container.mux(packet)
    return path


def frame_times(path: Path) -> list[float]:
    """Each decoded frame's time in seconds from the first frame's presentation timestamp (decoded with PyAV)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base  # read while the container is open
        pts = [frame.pts for frame in container.decode(stream)]
    return [float((p - pts[0]) * time_base) for p in pts]


def pieces(shared_data: Path, length: int) -> list[list[np.ndarray]]:
    """The ``ORDER`` pieces, ``length`` frames each, all inside their checked segment (each source decoded once)."""
    spans = []
    for name, offset in ORDER:
        first, last = SEGMENTS[name]
        assert first + offset + length - 1 <= last, f"piece {name}+{offset} leaves its checked segment"
        video = shared_data / ("bigbuckbunny.mp4" if name == "bbb" else "transnetv2-test.mp4")
        spans.append((video, first + offset, first + offset + length - 1))
    frames: dict[tuple[Path, int], np.ndarray] = {}
    for video in {v for v, _, _ in spans}:
        wanted = {i for v, a, b in spans if v == video for i in range(a, b + 1)}
        with av.open(str(video)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index > max(wanted):
                    break
                if index in wanted:
                    frames[video, index] = frame.to_ndarray(width=SIZE[0], height=SIZE[1], format="rgb24")
    return [[frames[video, i] for i in range(a, b + 1)] for video, a, b in spans]


def joined(shared_data: Path, path: Path, piece: int = 40, dissolve: int = 0) -> Joined:
    """Pieces joined by hard cuts (``dissolve=0``) or by cross-dissolves of ``dissolve`` frames."""
    parts = pieces(shared_data, piece + dissolve)
    frames: list[np.ndarray] = list(parts[0])
    cuts, transitions = [], []
    for nxt in parts[1:]:
        if dissolve:
            start = len(frames) - dissolve
            for i in range(dissolve):
                alpha = (i + 1) / (dissolve + 1)
                frames[start + i] = (frames[start + i] * (1 - alpha) + nxt[i] * alpha).astype(np.uint8)
            transitions.append((start, start + dissolve - 1))
            frames.extend(nxt[dissolve:])
        else:
            cuts.append(len(frames))
            frames.extend(nxt)
    write_video(path, frames)
    return Joined(path, len(frames), cuts, transitions)


def moving_window(photo: np.ndarray, windows: list[tuple[float, float, float]],
                  size: tuple[int, int] = (320, 180)) -> list[np.ndarray]:
    """Frames cut from ``photo`` (grey or RGB) at windows ``(centre_x, centre_y, width)`` of the frame's aspect,
    each resized to ``size``: a camera moving over a still scene by known amounts."""
    import cv2

    frames = []
    for cx, cy, width in windows:
        height = width * size[1] / size[0]
        matrix = np.array([[size[0] / width, 0, size[0] / 2 - cx * size[0] / width],
                           [0, size[1] / height, size[1] / 2 - cy * size[1] / height]])
        frames.append(cv2.warpAffine(photo, matrix, size, flags=cv2.INTER_AREA))
    return frames


def f1(predicted: list[int], truth: list[tuple[int, int]], tolerance: int = 2) -> tuple[float, float, float]:
    """Precision, recall, F1 of predicted boundary frames against truth spans, one match per span."""
    unmatched = list(truth)
    hits = 0
    for p in predicted:
        for span in unmatched:
            if span[0] - tolerance <= p <= span[1] + tolerance:
                unmatched.remove(span)
                hits += 1
                break
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(truth) if truth else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if hits else 0.0)


def click_track(bpm: float, seconds: float = 20.0, rate: int = 44_100) -> np.ndarray:
    """Clicks at ``bpm``: an 80 ms tone decaying in 20 ms (880 Hz, the downbeat louder at 1760 Hz) over a faint
    noise floor (-46 dBFS)."""
    rng = np.random.default_rng(int(bpm))
    out = 0.005 * rng.standard_normal(round(seconds * rate))
    t = np.arange(round(0.08 * rate)) / rate
    for k in range(int(seconds * bpm / 60)):
        first = round(k * 60 / bpm * rate)
        tone = (0.6 if k % 4 == 0 else 0.3) * np.sin(2 * np.pi * (1760 if k % 4 == 0 else 880) * t) * np.exp(-t / 0.02)
        out[first:first + len(tone)] += tone[:len(out) - first]
    return out.astype(np.float32)
