"""annotate.sound on real material: a telephone conversation with its transcript and a music video's sound track,
muxed under real frames where the dialogue stage would read a video; click tracks of known tempo."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy.signal import correlate
from videos import click_track, read_frames, write_video, write_video_with_audio

from annotate import sound
from annotate.video import VideoError

RATE = 44_100  # the muxed click tracks' rate, resampled to 16 kHz by read_audio


def transcript(shared_data) -> list[tuple[float, float]]:
    """The (start, end) of each line of the conversation's .stm transcript."""
    return [(float(p[3]), float(p[4])) for p in (line.split() for line in
                                                 (shared_data / "speech-two-speakers.stm").read_text().splitlines())]


def covered(spans: list[tuple[float, float]], grid: np.ndarray) -> np.ndarray:
    return np.any([(grid >= a) & (grid < b) for a, b in spans], axis=0)


@pytest.mark.parametrize("bpm", [96, 128])
def test_click_track_under_a_real_video_gives_its_tempo(shared_data, tmp_path, bpm):
    frames = read_frames(shared_data / "transnetv2-test.mp4", 459, 558)  # 100 frames of one real shot, shown 20 s
    path = write_video_with_audio(tmp_path / "clicks.mp4", frames, click_track(bpm), rate=RATE, fps=5)
    audio = sound.read_audio(path)
    measured = sound.tempo_bpm(audio.samples, sound.SAMPLE_RATE)
    windows = sound.classify_windows(audio, sound.speech_spans(audio))
    runs = sound.music_tempo(audio, windows)
    print(f"{bpm} BPM: measured {measured:.3f} (error {measured - bpm:+.3f}); music runs {runs}; pulse >= "
          f"{min(w.pulse for w in windows)}, flatness <= {max(w.flatness for w in windows)}")
    assert abs(measured - bpm) < 2  # measured errors: -0.003 (96) and +0.005 (128)
    assert [w.kind for w in windows] == ["music"] * 10
    [(start_s, end_s, run_bpm)] = runs
    assert start_s < 0.1 and end_s > 19.9 and abs(run_bpm - bpm) < 2


def test_speech_spans_of_a_conversation_under_a_real_video_follow_its_transcript(shared_data, tmp_path):
    speech = sound.read_audio(shared_data / "speech-two-speakers.wav").samples  # already 16 kHz mono
    frames = read_frames(shared_data / "transnetv2-test.mp4", 459, 608)  # 150 frames, shown 30 s
    path = write_video_with_audio(tmp_path / "talk.mp4", frames, speech, rate=sound.SAMPLE_RATE, fps=5,
                                  audio_start_s=1.0)
    audio = sound.read_audio(path)
    # the decoded track (AAC encoder priming included) puts the recording's first sample 1.0 s into the video
    head = correlate(audio.samples[:12 * sound.SAMPLE_RATE], speech[:12 * sound.SAMPLE_RATE], "full", method="fft")
    lag = int(np.argmax(head)) - (12 * sound.SAMPLE_RATE - 1)
    assert audio.start_s + lag / sound.SAMPLE_RATE == pytest.approx(1.0, abs=0.002)

    spans = sound.speech_spans(audio)
    grid = np.arange(0, 30, 0.001)
    said, found = covered(transcript(shared_data), grid), covered([(a - 1.0, b - 1.0) for a, b in spans], grid)
    recall, precision = (said & found).sum() / said.sum(), (said & found).sum() / found.sum()
    print(f"spans {spans}; transcript time covered {recall:.3f}, span time inside transcript lines {precision:.3f}")
    assert recall >= 0.98 and precision >= 0.92  # measured 0.993 and 0.942
    assert spans[0][0] - 1.0 > 6.5  # nothing in the silence before the first "Hello?" (6.68 s)

    windows = sound.classify_windows(audio, spans)
    print([(w.start_s, w.kind, w.rms_db, w.speech_share, w.flatness, w.pulse) for w in windows])
    assert [w.kind for w in windows] == ["silence"] * 3 + ["speech"] * 12  # speech from 6.68 s of the recording


def test_music_video_sound_track_is_music_with_a_tempo(shared_data):
    audio = sound.read_audio(shared_data / "transnetv2-test.mp4")
    assert audio.start_s == 0.0 and audio.end_s == pytest.approx(212.09, abs=0.01)
    spans = sound.speech_spans(audio)
    windows = sound.classify_windows(audio, spans)
    kinds = Counter(w.kind for w in windows)
    music = [w for w in windows if w.kind == "music"]
    print(f"spans {spans}; kinds {dict(kinds)}; music pulse >= {min(w.pulse for w in music)}, "
          f"flatness <= {max(w.flatness for w in music)}")
    assert spans == []  # Silero v6 does not take this singing for speech (its highest probability: 0.12)
    assert kinds["music"] / len(windows) >= 0.95  # measured 105 of 106; the last, a fade-out, is silence
    sung = sound.classify_windows(audio, [(audio.start_s, audio.end_s)])  # as if the VAD took the singing for speech
    assert [w.kind for w in sung] == [w.kind for w in windows]
    [(start_s, end_s, bpm)] = sound.music_tempo(audio, windows)
    print(f"tempo {bpm:.2f} BPM over {start_s}..{end_s} s")
    assert start_s == 0.0 and end_s == 210.0 and 60 < bpm < 200


def test_digital_silence_white_noise_and_noise_bursts_on_a_beat():
    rng = np.random.default_rng(0)
    second = sound.SAMPLE_RATE
    bursts = 0.3 * rng.standard_normal(10 * second) * (np.arange(10 * second) % (second // 2) < 1600)  # 120 BPM
    for samples, kind in ((np.zeros(10 * second), "silence"), (0.1 * rng.standard_normal(10 * second), "noise"),
                          (bursts, "noise")):
        audio = sound.Audio(samples.astype(np.float32))
        windows = sound.classify_windows(audio, sound.speech_spans(audio))
        print(kind, [(w.rms_db, w.flatness, w.pulse) for w in windows])
        assert [w.kind for w in windows] == [kind] * 5


def test_a_video_without_audio_has_none_and_a_broken_file_raises(shared_data, tmp_path):
    frames = read_frames(shared_data / "transnetv2-test.mp4", 459, 483)
    assert sound.read_audio(write_video(tmp_path / "silent.mp4", frames)) is None
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(VideoError) as caught:
        sound.read_audio(broken)
    assert caught.value.reason == "unreadable"
