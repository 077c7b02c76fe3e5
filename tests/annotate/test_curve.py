"""The highlight curve's arithmetic on known arrays."""

from __future__ import annotations

import numpy as np
import pytest

from annotate import curve


def test_grid_is_uniform_and_ends_within_one_step_of_the_end():
    for duration, step in ((5.28, 0.5), (10.0, 0.5), (0.2, 0.5), (212.04, 0.25)):
        times = curve.grid(duration, step)
        assert times[0] == 0 and np.allclose(np.diff(times), step)
        assert duration - step < times[-1] <= duration + 1e-9


def test_smoothing_keeps_a_constant_constant_to_the_edges_and_spreads_a_spike():
    assert np.allclose(curve.smooth(np.full(40, 3.0), 0.1, 2.0), 3.0)
    spike = np.zeros(41)
    spike[20] = 1.0
    smoothed = curve.smooth(spike, 0.1, 2.0)
    assert smoothed.argmax() == 20 and smoothed[20] < 0.2 and smoothed[11] > 0 and smoothed[9] == 0  # 21 taps
    assert np.allclose(smoothed[:20], smoothed[21:][::-1])  # symmetric


def test_smoothing_an_input_shorter_than_the_window_keeps_its_length():
    assert curve.smooth(np.ones(3), 0.5, 2.0).tolist() == [1.0, 1.0, 1.0]
    short = curve.smooth(np.array([0.0, 0, 0, 0, 10]), 0.2, 2.0)  # 11 taps over 5 values
    assert len(short) == 5 and np.all(np.diff(short) > 0)


def test_fill_gaps_interpolates_and_holds_the_ends():
    assert curve.fill_gaps([None, 1.0, None, 3.0, None]).tolist() == [1.0, 1.0, 2.0, 3.0, 3.0]
    assert curve.fill_gaps([None, None]) is None


def test_normalise_uses_the_floor_for_small_variations():
    assert curve.normalise(np.array([2.0, 4.0, 6.0]), 1.0).tolist() == [0.0, 0.5, 1.0]
    assert curve.normalise(np.array([2.0, 2.5, 3.0]), 4.0).tolist() == [0.0, 0.125, 0.25]
    assert curve.normalise(np.full(5, 7.0), 0.0).tolist() == [0.0] * 5


def test_cut_rhythm_is_high_in_short_shots():
    times = np.array([0.0, 5.0, 10.5, 11.0, 20.0])
    rhythm = curve.cut_rhythm(times, [(0.0, 10.0), (10.0, 11.0), (11.0, 30.0)], tau_s=2.0)
    assert rhythm.tolist() == pytest.approx([np.exp(-5), np.exp(-5), np.exp(-0.5), np.exp(-9.5), np.exp(-9.5)])


def test_keyframe_values_are_linear_between_and_held_outside():
    times = np.arange(0, 10.5, 1.0)
    values = curve.hold_between([2.0, 6.0, 6.0], [3.0, 6.0, 8.0], times)
    assert values.tolist() == [3, 3, 3, 4, 5, 6, 7, 7, 7, 7, 7]


def test_peaks_by_prominence_including_the_ends_and_none_on_a_flat_curve():
    times = np.arange(9) * 0.5
    score = np.array([0.9, 0.5, 0.2, 0.3, 0.25, 0.6, 0.6, 0.6, 0.1])
    found = curve.peaks(score, times, 0.1)
    assert [(p["time_s"], p["score"]) for p in found] == [(0.0, 0.9), (3.0, 0.6)]  # 0.3 stands only 0.05 above
    assert found[1]["prominence"] == pytest.approx(0.4)
    assert curve.peaks(np.full(9, 0.4), times, 0.0) == []


def test_span_value_mean_max_and_a_span_between_grid_points():
    times = np.arange(5) * 0.5
    score = np.array([0.0, 0.2, 0.4, 0.6, 0.8])
    assert curve.span_value(score, times, 0.5, 1.5) == pytest.approx(0.3)
    assert curve.span_value(score, times, 0.5, 1.5, "max") == pytest.approx(0.4)
    assert curve.span_value(score, times, 1.1, 1.2) == pytest.approx(0.46)
