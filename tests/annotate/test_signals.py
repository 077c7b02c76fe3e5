"""Motion and sound signals: the meters on known input, and the signals file the keyframes stage writes."""

from __future__ import annotations

import math
from fractions import Fraction

import av
import numpy as np
import pytest
from videos import read_frames, write_video_with_audio

from annotate.keyframes import KeyframesConfig, KeyframesStage
from annotate.runner import run_stage
from annotate.signals import SILENCE_DB, MotionMeter, SoundMeter, bin_count
from builder.video_files import SHOTS_FILE, SIGNALS_FILE

VIDEO = "transnetv2-test"


def test_sound_meter_measures_a_tone_in_dbfs_on_the_video_time_line():
    rate, step = 8000, 0.1
    meter = SoundMeter(step)
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)  # 1 s at -9.03 dBFS (RMS 0.5/sqrt 2)
    silence = np.zeros(rate // 2)
    for start, chunk in ((0, tone[:rate // 2]), (rate // 2, tone[rate // 2:]), (rate, silence)):
        frame = av.AudioFrame.from_ndarray(np.tile(chunk.astype(np.float32), (2, 1)), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        meter.add(frame)
    meter.set_origin(0.3)  # the first video frame comes 0.3 s into the audio: earlier samples are left out
    values = meter.values(bin_count(1.2, step))
    assert len(values) == 12
    assert values[:7] == [pytest.approx(-9.03, abs=0.15)] * 7  # 0.3 .. 1.0 s of the audio: the tone
    assert values[7:12] == [SILENCE_DB] * 5
    assert meter.rate == rate and meter.samples == int(1.2 * rate)  # binned: from the video's first frame on


def test_sound_meter_leaves_bins_without_samples_null():
    meter = SoundMeter(0.5)
    frame = av.AudioFrame.from_ndarray(np.full((1, 4000), 0.1, np.float32), format="flt", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = 8000, 0, Fraction(1, 8000)
    meter.set_origin(0.0)
    meter.add(frame)
    assert meter.values(3) == [pytest.approx(-20.0, abs=0.01), None, None]


def test_sound_meter_places_frames_by_their_timestamps_and_skips_non_finite_samples():
    meter = SoundMeter(0.5)
    meter.set_origin(10.0)  # absolute time of the first video frame
    for pts_s, value in ((10.0, 0.1), (11.5, 1.0)):  # a gap of 1 s after the first half second of audio
        frame = av.AudioFrame.from_ndarray(np.full((1, 4000), value, np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 8000, int(pts_s * 8000), Fraction(1, 8000)
        meter.add(frame)
    broken = av.AudioFrame.from_ndarray(np.array([[np.nan] * 2000 + [0.5] * 2000], np.float32), format="flt",
                                        layout="mono")
    broken.sample_rate, broken.pts = 8000, None  # no timestamp: it follows the previous frame (at 12.0 s)
    meter.add(broken)
    assert meter.values(6) == [pytest.approx(-20.0, abs=0.01), None, None, pytest.approx(0.0, abs=0.01),
                               pytest.approx(-6.02, abs=0.05), None]


def test_motion_meter_averages_frame_differences_per_bin():
    meter = MotionMeter(0.2)
    still = np.full((27, 48, 3), 100, np.uint8)
    for k, value in enumerate([100, 100, 100, 110, 90, 90]):  # frames every 0.1 s
        meter.add(np.full_like(still, value), k * 0.1)
    # pairs end at 0.1 (0), 0.2 (0), 0.3 (10), 0.4 (20), 0.5 (0): bins [0, 0.2) [0.2, 0.4) [0.4, 0.6) [0.6, 0.8)
    assert meter.values(4) == [0.0, 5.0, 10.0, None]


def test_audio_starting_after_the_video_lands_at_its_time_on_the_video_time_line(shared_data, tmp_path):
    rate = 44100
    tone = np.zeros(3 * rate, np.float32)
    tone[rate:rate + 2 * rate // 5] = 0.5 * np.sin(2 * np.pi * 440 * np.arange(2 * rate // 5) / rate)  # 1.0-1.4 s
    frames = read_frames(shared_data / "transnetv2-test.mp4", 459, 558)  # 4 s of one real shot
    write_video_with_audio(tmp_path / "late.mp4", frames, tone, rate, audio_start_s=0.5)
    run_stage(KeyframesStage(KeyframesConfig(shots_model="none")), tmp_path / "late.mp4", tmp_path / "out",
              progress=False)
    sound = SIGNALS_FILE.find(tmp_path / "out", "late")["sound_db"]  # 0.2 s bins
    loud = [k for k, v in enumerate(sound) if v is not None and v > -40]
    assert loud == [7, 8, 9] and sound[8] == pytest.approx(-9.0, abs=0.3)  # the tone at 1.5-1.9 s: half, full, half
    assert sound[0] is None and sound[1] is None  # before the audio starts (AAC's priming: 0.476 s)


def test_keyframes_stage_writes_signals_of_the_music_video(music_keyframes):
    signals = SIGNALS_FILE.find(music_keyframes, VIDEO)
    shots = SHOTS_FILE.find(music_keyframes, VIDEO)
    assert signals["duration_s"] == shots["duration_s"] == pytest.approx(212.04, abs=0.05)
    assert len(signals["motion"]) == len(signals["sound_db"]) == math.ceil(shots["duration_s"] / signals["step_s"])
    assert signals["sound_status"] == "measured" and signals["sample_rate"] == 44100
    motion = np.array([np.nan if v is None else v for v in signals["motion"]])
    cut_bins = {int(s["start_s"] // signals["step_s"]) for s in shots["shots"][1:]}
    at_cuts = motion[sorted(cut_bins)]
    elsewhere = np.delete(motion, sorted(cut_bins))
    # a hard cut changes most of the picture: its bin's mean frame difference (the cut's and four more in 0.2 s)
    # stands well above a bin inside a shot (measured: median 12.6 against 4.3)
    assert np.median(at_cuts) > 2 * np.nanmedian(elsewhere)
    sound = np.array(signals["sound_db"], float)
    assert np.median(sound) > -30 and sound.max() <= 0  # a music video: loud throughout
    size = SIGNALS_FILE.path(music_keyframes, VIDEO).stat().st_size
    assert size / (shots["duration_s"] / 60) < 4000  # bytes per minute of video
