"""Motion and sound signals: the meters on known input, and the signals file the keyframes stage writes."""

from __future__ import annotations

import math
from fractions import Fraction

import av
import numpy as np
import pytest

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
    assert meter.rate == rate and meter.samples == int(1.5 * rate)


def test_sound_meter_leaves_bins_without_samples_null():
    meter = SoundMeter(0.5)
    frame = av.AudioFrame.from_ndarray(np.full((1, 4000), 0.1, np.float32), format="flt", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = 8000, 0, Fraction(1, 8000)
    meter.set_origin(0.0)
    meter.add(frame)
    assert meter.values(3) == [pytest.approx(-20.0, abs=0.01), None, None]


def test_motion_meter_averages_frame_differences_per_bin():
    meter = MotionMeter(0.2)
    still = np.full((27, 48, 3), 100, np.uint8)
    for k, value in enumerate([100, 100, 100, 110, 90, 90]):  # frames every 0.1 s
        meter.add(np.full_like(still, value), k * 0.1)
    # pairs end at 0.1 (0), 0.2 (0), 0.3 (10), 0.4 (20), 0.5 (0): bins [0, 0.2) [0.2, 0.4) [0.4, 0.6) [0.6, 0.8)
    assert meter.values(4) == [0.0, 5.0, 10.0, None]


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
    # a hard cut changes most of the picture: its bin's mean frame difference stands far above a shot's inside
    assert np.median(at_cuts) > 3 * np.nanmedian(elsewhere)
    sound = np.array(signals["sound_db"], float)
    assert np.median(sound) > -30 and sound.max() <= 0  # a music video: loud throughout
    size = SIGNALS_FILE.path(music_keyframes, VIDEO).stat().st_size
    assert size / (shots["duration_s"] / 60) < 4000  # bytes per minute of video
