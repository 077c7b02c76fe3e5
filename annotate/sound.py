"""The sound track of a video for the dialogue stage: speech spans, windows classified silence / speech / music /
noise, and the tempo of the music.

Audio is read once as mono float32 at :data:`SAMPLE_RATE` (the Silero VAD's and the audio models' rate); times are
seconds on the video's time line (0 = the first video frame, as the keyframes stage counts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from annotate.signals import SILENCE_DB
from annotate.video import VideoError

SAMPLE_RATE = 16_000  # samples per second of the audio read
HOP = 160  # spectrum frames every 10 ms
MIN_BEATS = 4  # fewer beats give no tempo


@dataclass(frozen=True)
class SoundConfig:
    """Settings of voice activity and window classification (thresholds measured on real material: see the tests)."""

    vad_threshold: float = 0.4  # Silero speech probability from which a 32 ms chunk is speech
    min_speech_s: float = 0.1  # shorter speech spans are dropped
    min_silence_s: float = 0.3  # a pause this long ends a speech span
    speech_pad_s: float = 0.1  # spans are widened by this much each side
    max_speech_s: float = 30.0  # longer spans are split, at a pause where there is one (an ASR model's input limit)
    window_s: float = 2.0  # length of the classified windows
    silence_db: float = -50.0  # a window quieter than this (RMS, dBFS) is silence
    music_min_pulse: float = 0.3  # onset periodicity from which a window is music ...
    noise_min_flatness: float = 0.4  # ... unless its spectrum is this flat (broadband noise)
    pulse_context_s: float = 2.0  # onset periodicity is measured over the window and this much each side of it
    speech_min_share: float = 0.25  # share of a window covered by speech spans from which it is speech


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples at :data:`SAMPLE_RATE`; the first one plays ``start_s`` after the first video frame."""

    samples: np.ndarray
    start_s: float = 0.0

    @property
    def end_s(self) -> float:
        return self.start_s + len(self.samples) / SAMPLE_RATE

    def clip(self, start_s: float, end_s: float) -> np.ndarray:
        """The samples between two times of the video (empty outside the track)."""
        first = max(0, round((start_s - self.start_s) * SAMPLE_RATE))
        return self.samples[first:max(first, round((end_s - self.start_s) * SAMPLE_RATE))]


def read_audio(path: str | Path) -> Audio | None:
    """The first audio stream of a file, mixed to mono at :data:`SAMPLE_RATE`; None without an audio stream.

    ``start_s`` is the first audio frame's timestamp less the first video frame's (0 for a file without video);
    a gap between frames' timestamps is filled with silence, so later samples keep their time. Raises
    :class:`VideoError` ("unreadable": the file does not open; "audio_decode": the audio does not decode)."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError("unreadable", f"{path}: {exc}") from exc
    with container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        video = container.streams.video[0] if container.streams.video else None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        first_s = origin_s = None
        length = 0  # samples so far, gaps included
        try:
            for packet in container.demux(*[s for s in (stream, video) if s is not None]):
                if packet.stream is video:
                    origin_s = first_frame_s(packet) if origin_s is None else origin_s
                    continue
                for frame in packet.decode():
                    for mono in resampler.resample(frame):
                        samples = mono.to_ndarray().reshape(-1)
                        if mono.pts is not None:
                            at_s = float(mono.pts * mono.time_base)
                            first_s = at_s if first_s is None else first_s
                            gap = round((at_s - first_s) * SAMPLE_RATE) - length
                            if gap > 0:
                                chunks.append(np.zeros(gap, np.float32))
                                length += gap
                        chunks.append(samples)
                        length += len(samples)
            for mono in resampler.resample(None):
                chunks.append(mono.to_ndarray().reshape(-1))
        except (av.error.FFmpegError, ValueError) as exc:
            raise VideoError("audio_decode", f"{path}: audio decoding failed: {exc}") from exc
    if not chunks:
        raise VideoError("audio_decode", f"{path}: no audio sample could be decoded")
    return Audio(np.concatenate(chunks).astype(np.float32), (first_s or 0.0) - (origin_s or 0.0))


def first_frame_s(packet: av.Packet) -> float | None:
    """The time of the first frame a video packet decodes to (None: none yet, or it does not decode), taken as
    :class:`annotate.video.Video` takes it: its pts, else the stream's start time."""
    stream = packet.stream
    try:
        for frame in packet.decode():
            return float((frame.pts if frame.pts is not None else stream.start_time or 0) * stream.time_base)
    except (av.error.FFmpegError, ValueError):
        pass  # a video that does not decode is the keyframes stage's to report; the audio goes on
    return None


def speech_spans(audio: Audio, config: SoundConfig = SoundConfig()) -> list[tuple[float, float]]:
    """Speech spans ``(start_s, end_s)`` on the video's time line, by the Silero VAD (v6 ONNX) in faster-whisper."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if not len(audio.samples):
        return []
    options = VadOptions(threshold=config.vad_threshold, min_speech_duration_ms=round(config.min_speech_s * 1000),
                         max_speech_duration_s=config.max_speech_s,
                         min_silence_duration_ms=round(config.min_silence_s * 1000),
                         speech_pad_ms=round(config.speech_pad_s * 1000))
    found = get_speech_timestamps(audio.samples, options, sampling_rate=SAMPLE_RATE)  # sample indices
    return [(audio.start_s + s["start"] / SAMPLE_RATE, audio.start_s + s["end"] / SAMPLE_RATE) for s in found]


@dataclass(frozen=True)
class Window:
    """One classified window of the sound track, with the measurements that decided it."""

    start_s: float
    end_s: float
    kind: str  # "silence", "speech", "music" or "noise"
    rms_db: float  # RMS level in dBFS (floored at annotate.signals.SILENCE_DB)
    speech_share: float  # share of the window covered by speech spans
    flatness: float  # spectral flatness over 125..3800 Hz, mean over frames weighted by power (white noise ~0.57)
    pulse: float  # onset periodicity: the onset envelope's normalised autocorrelation peak at 40..200 BPM lags


def classify_windows(audio: Audio, spans: list[tuple[float, float]],
                     config: SoundConfig = SoundConfig()) -> list[Window]:
    """Windows of ``window_s`` from the first sample (the last one takes the remainder, 0.5..1.5 windows), each
    silence (quieter than ``silence_db``), music (periodic onsets and a spectrum not noise-flat; sung vocals the VAD
    takes for speech stay music), speech (enough of it covered by ``spans``) or else noise."""
    import librosa

    x = audio.samples
    if not len(x):
        return []
    duration = len(x) / SAMPLE_RATE
    spectrum = np.abs(librosa.stft(x, n_fft=512, hop_length=HOP))
    frequencies = librosa.fft_frequencies(sr=SAMPLE_RATE, n_fft=512)
    band = (frequencies >= 125) & (frequencies <= 3800)
    flatness = librosa.feature.spectral_flatness(S=spectrum[band])[0]
    power = (spectrum[band] ** 2).sum(axis=0)  # weights flatness: quiet frames between sounds count little
    mel = librosa.feature.melspectrogram(S=spectrum ** 2, sr=SAMPLE_RATE, n_mels=40)
    onsets = librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=SAMPLE_RATE)
    rate = SAMPLE_RATE / HOP  # spectrum frames per second
    count = max(1, round(duration / config.window_s))
    windows = []
    for k in range(count):
        a, b = k * config.window_s, duration if k == count - 1 else (k + 1) * config.window_s
        chunk = x[round(a * SAMPLE_RATE):round(b * SAMPLE_RATE)].astype(np.float64)
        mean_square = float(np.mean(chunk ** 2)) if len(chunk) else 0.0
        rms_db = max(SILENCE_DB, 10 * np.log10(mean_square)) if mean_square > 0 else SILENCE_DB
        start_s, end_s = audio.start_s + a, audio.start_s + b
        speech = sum(max(0.0, min(e, end_s) - max(s, start_s)) for s, e in spans) / (end_s - start_s)
        frames = slice(round(a * rate), max(round(a * rate) + 1, round(b * rate)))
        flat = float(np.average(flatness[frames], weights=power[frames])) if power[frames].sum() > 0 else 1.0
        context = onsets[max(0, round((a - config.pulse_context_s) * rate)):round((b + config.pulse_context_s) * rate)]
        pulse = periodicity(context, rate)
        if rms_db < config.silence_db:
            kind = "silence"
        elif pulse >= config.music_min_pulse and flat < config.noise_min_flatness:
            kind = "music"
        elif speech >= config.speech_min_share:
            kind = "speech"
        else:
            kind = "noise"
        windows.append(Window(round(start_s, 3), round(end_s, 3), kind, round(float(rms_db), 1), round(speech, 3),
                              round(flat, 3), round(pulse, 3)))
    return windows


def periodicity(envelope: np.ndarray, rate: float) -> float:
    """The highest normalised autocorrelation of an onset envelope (``rate`` values per second) at lags of one beat
    at 40..200 BPM (0 for a flat or too short envelope)."""
    centred = envelope - envelope.mean()
    low, high = round(60 / 200 * rate), round(60 / 40 * rate)
    if len(centred) <= high:
        return 0.0
    correlation = np.correlate(centred, centred, "full")[len(centred) - 1:]
    return float(correlation[low:high + 1].max() / correlation[0]) if correlation[0] > 0 else 0.0


def tempo_bpm(samples: np.ndarray, sample_rate: int) -> float | None:
    """The tempo of music in BPM: librosa's beat tracker on a 10 ms onset envelope, refined as 60 over the slope of a
    least-squares line through the beat times against their index (averaging away the hop's quantisation); None
    with fewer than :data:`MIN_BEATS` beats."""
    import librosa

    hop = round(sample_rate / 100)
    envelope = librosa.onset.onset_strength(y=np.asarray(samples, np.float32), sr=sample_rate, hop_length=hop)
    _, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=sample_rate, hop_length=hop, units="time")
    if len(beats) < MIN_BEATS:
        return None
    slope = np.polyfit(np.arange(len(beats)), beats, 1)[0]
    return float(60 / slope) if slope > 0 else None


def music_runs(windows: list[Window]) -> list[tuple[float, float]]:
    """The ``(start_s, end_s)`` of each run of consecutive music windows."""
    runs: list[tuple[float, float]] = []
    for w in windows:
        if w.kind != "music":
            continue
        if runs and abs(runs[-1][1] - w.start_s) < 1e-6:
            runs[-1] = (runs[-1][0], w.end_s)
        else:
            runs.append((w.start_s, w.end_s))
    return runs


def music_tempo(audio: Audio, windows: list[Window]) -> list[tuple[float, float, float | None]]:
    """``(start_s, end_s, bpm)`` of each run of music windows (bpm None where too few beats were found)."""
    return [(a, b, tempo_bpm(audio.clip(a, b), SAMPLE_RATE)) for a, b in music_runs(windows)]
