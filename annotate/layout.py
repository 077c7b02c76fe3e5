"""The 3D layout of paper section 5.2 (equation 1): a camera's 3x4 projection matrix from 2D-3D correspondences
by the normalised direct linear transform (Hartley and Zisserman, *Multiple View Geometry*, 2nd ed., algorithm
7.1), and projection with it.

``x ~ P X``: ``X`` homogeneous world points (centimetres), ``x`` homogeneous image points (pixels). The points
are normalised first (2D: centroid at the origin, mean distance sqrt(2); 3D: mean distance sqrt(3)), the
homogeneous system ``A p = 0`` is solved by SVD, and the result is denormalised. Input the method cannot use is
refused with :class:`LayoutError`: fewer than 6 points, non-finite values, world points on one plane (the
camera is then not determined) or a system whose solution is not unique.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.errors import SkyscriptError

MIN_POINTS = 6


class LayoutError(SkyscriptError):
    """Correspondences from which no projection matrix follows."""


@dataclass(frozen=True)
class Projection:
    """A fitted camera: ``matrix`` (3x4, scaled to unit Frobenius norm, ``matrix[2, 3] >= 0``) and the root mean
    square reprojection error of the points it was fitted to, in pixels."""

    matrix: np.ndarray
    rms_error: float


def _normaliser(points: np.ndarray) -> np.ndarray:
    """The similarity taking ``points`` (N, d) to centroid 0 and mean distance sqrt(d)."""
    d = points.shape[1]
    centroid = points.mean(axis=0)
    spread = np.linalg.norm(points - centroid, axis=1).mean()
    scale = np.sqrt(d) / spread
    transform = np.eye(d + 1)
    transform[:d, :d] *= scale
    transform[:d, d] = -scale * centroid
    return transform


def project(matrix: np.ndarray, world: np.ndarray) -> np.ndarray:
    """Image points (N, 2) of world points (N, 3)."""
    world = np.asarray(world, dtype=np.float64)
    image = np.hstack([world, np.ones((len(world), 1))]) @ np.asarray(matrix, dtype=np.float64).T
    return image[:, :2] / image[:, 2:3]


def fit_projection(world: np.ndarray, image: np.ndarray, tolerance: float = 1e-9) -> Projection:
    """The projection matrix taking ``world`` (N, 3) to ``image`` (N, 2), N >= 6, by the normalised DLT."""
    world = np.asarray(world, dtype=np.float64)
    image = np.asarray(image, dtype=np.float64)
    if world.ndim != 2 or world.shape[1] != 3 or image.shape != (len(world), 2):
        raise LayoutError(f"need N world points (N, 3) and N image points (N, 2), got {world.shape} and {image.shape}")
    if len(world) < MIN_POINTS:
        raise LayoutError(f"need at least {MIN_POINTS} correspondences for a projection matrix, got {len(world)}")
    if not (np.isfinite(world).all() and np.isfinite(image).all()):
        raise LayoutError("correspondences hold non-finite values")
    centred = world - world.mean(axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    if singular[0] == 0 or singular[2] / singular[0] < 1e-6:
        raise LayoutError("the world points lie on one plane (or a line): the camera is not determined by them")
    t2, t3 = _normaliser(image), _normaliser(world)
    x = np.hstack([image, np.ones((len(image), 1))]) @ t2.T
    big_x = np.hstack([world, np.ones((len(world), 1))]) @ t3.T
    rows = []
    for (u, v, w), point in zip(x, big_x):
        rows.append(np.concatenate([np.zeros(4), -w * point, v * point]))
        rows.append(np.concatenate([w * point, np.zeros(4), -u * point]))
    a = np.asarray(rows)
    _, s, vt = np.linalg.svd(a)
    if s[-2] / s[0] < tolerance:  # a second null vector: the solution is not unique
        raise LayoutError("the correspondences do not determine a unique projection matrix (degenerate configuration)")
    normalised = vt[-1].reshape(3, 4)
    matrix = np.linalg.inv(t2) @ normalised @ t3
    matrix /= np.linalg.norm(matrix)
    if matrix[2, 3] < 0:
        matrix = -matrix
    error = float(np.sqrt(np.mean(np.sum((project(matrix, world) - image) ** 2, axis=1))))
    return Projection(matrix, error)
