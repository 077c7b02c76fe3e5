"""People placed in 3D from their 2D boxes (paper section 5.2), the correspondences the DLT is fitted to, and the
speed rule that keeps a character from jumping between keyframes of one shot.

World frame, in centimetres (Table 1's ``(0,165,0)``): ``x`` to the right of the camera's axis, ``y`` up from the
ground, ``z`` along the camera's axis. Assumed, and recorded in each shooting script's ``method``: a level pinhole
camera ``camera_height_cm`` above the ground, its principal point at the image centre, its focal length from a
``horizontal_fov_deg`` field of view; a face box ``face_height_cm`` high. Measured: the boxes, and a person's
``depth_m`` where a depth model filled it (used instead of the face-size estimate).

A face's distance is ``z = f * face_height_cm / box height`` (or the depth); its centre ``(u, v)`` is then at
``x = (u - cx) z / f``, ``y = camera_height_cm - (v - cy) z / f``. The correspondences of one located face are its
box's centre and four corners at that depth and, where the person's body box ends inside the frame, its feet on
the ground (``y = 0``). The face points lie on their pixels' rays whatever size was assumed, so they alone always
reproject exactly; the feet do only when face size, camera height and ground contact agree, so with feet in the
shot the DLT's reprojection error measures how far the assumptions hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from builder.contract import Box


@dataclass(frozen=True)
class Pinhole:
    """The camera and body assumptions of the placement."""

    horizontal_fov_deg: float = 60.0
    face_height_cm: float = 23.0
    camera_height_cm: float = 150.0

    def focal_px(self, width: int) -> float:
        """The focal length in pixels of an image ``width`` pixels wide."""
        return width / 2 / math.tan(math.radians(self.horizontal_fov_deg) / 2)


def locate_face(box: Box, width: int, height: int, camera: Pinhole, depth_cm: float | None = None) -> np.ndarray:
    """``(x, y, z)`` in centimetres of a face's centre (its box in pixels of a ``width`` x ``height`` image)."""
    f = camera.focal_px(width)
    z = depth_cm if depth_cm is not None else f * camera.face_height_cm / max(box[3] - box[1], 1e-6)
    u, v = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return np.array([(u - width / 2) * z / f, camera.camera_height_cm - (v - height / 2) * z / f, z])


def correspondences(face: Box, body: Box | None, centre: np.ndarray, width: int, height: int,
                    camera: Pinhole) -> tuple[np.ndarray, np.ndarray]:
    """World points (N, 3) and image points (N, 2) of one located face: centre and corners at its depth ``centre[2]``
    around ``centre`` (which the speed rule may have moved), and the feet on the ground when the body box ends at
    least two pixels above the image's bottom."""
    f, z = camera.focal_px(width), float(centre[2])
    u, v = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    image = [(u, v), (face[0], face[1]), (face[2], face[1]), (face[0], face[3]), (face[2], face[3])]
    world = [(centre[0] + (x - u) * z / f, centre[1] - (y - v) * z / f, z) for x, y in image]
    if body is not None and body[3] < height - 2:
        feet_u = (body[0] + body[2]) / 2
        image.append((feet_u, body[3]))
        world.append((centre[0] + (feet_u - u) * z / f, 0.0, z))
    return np.asarray(world, dtype=np.float64), np.asarray(image, dtype=np.float64)


def limit_speed(times: list[float], points: list[np.ndarray], max_speed: float) -> tuple[list[np.ndarray], int]:
    """One character's positions over a shot's keyframes (in time order) with every step faster than ``max_speed``
    (cm/s) shortened to that speed, and the number of steps shortened. A step between keyframes at the same time
    may not move at all."""
    if not points:
        return [], 0
    kept, violations = [np.asarray(points[0], dtype=np.float64)], 0
    for (t0, t1), point in zip(zip(times, times[1:]), points[1:]):
        point = np.asarray(point, dtype=np.float64)
        move = point - kept[-1]
        distance, allowed = float(np.linalg.norm(move)), max_speed * max(t1 - t0, 0.0)
        if distance > allowed:
            violations += 1
            point = kept[-1] + move * (allowed / distance)
        kept.append(point)
    return kept, violations
