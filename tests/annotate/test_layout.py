"""The normalised DLT of section 5.2's layout: a known camera is recovered; degenerate input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.layout import LayoutError, fit_projection, project


def camera() -> np.ndarray:
    """K [R | t]: 800 px focal length, 1280x720 principal point, turned 10 degrees, 5 m back (centimetres)."""
    k = np.array([[800.0, 0, 640], [0, 800, 360], [0, 0, 1]])
    a = np.radians(10)
    r = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    t = np.array([[20.0], [-150.0], [500.0]])
    return k @ np.hstack([r, t])


def scene(n: int = 8, seed: int = 0) -> np.ndarray:
    """Points a few metres around the origin, in centimetres (people's heads and feet, objects)."""
    return np.random.default_rng(seed).uniform([-200, 0, -150], [200, 180, 150], size=(n, 3))


def test_a_known_projection_is_recovered():
    truth = camera()
    world = scene()
    fitted = fit_projection(world, project(truth, world))
    assert fitted.rms_error < 1e-6
    expected = truth / np.linalg.norm(truth) * np.sign(truth[2, 3])
    assert np.allclose(fitted.matrix, expected, atol=1e-9)
    others = scene(20, seed=1)
    assert np.abs(project(fitted.matrix, others) - project(truth, others)).max() < 1e-6


def test_noise_gives_a_small_honest_error():
    world = scene(30)
    image = project(camera(), world) + np.random.default_rng(2).normal(scale=1.0, size=(30, 2))
    assert 0.3 < fit_projection(world, image).rms_error < 2.0


def test_degenerate_input_is_refused():
    world = scene()
    image = project(camera(), world)
    with pytest.raises(LayoutError, match="at least 6"):
        fit_projection(world[:5], image[:5])
    flat = world.copy()
    flat[:, 2] = 0.0  # everyone on one plane
    with pytest.raises(LayoutError, match="one plane"):
        fit_projection(flat, project(camera(), flat))
    with pytest.raises(LayoutError, match="non-finite"):
        fit_projection(np.vstack([world[:-1], [np.nan, 0, 0]]), image)
    with pytest.raises(LayoutError, match=r"\(N, 2\)"):
        fit_projection(world, image[:-1])
