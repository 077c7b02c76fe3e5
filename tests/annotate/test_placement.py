"""People placed in 3D from their boxes: a scene synthesised through the assumed camera is recovered exactly, the
DLT fitted to its correspondences reprojects them exactly, a wrong assumption shows in the error, and the speed
rule shortens only steps that are too fast."""

from __future__ import annotations

import numpy as np
import pytest

from annotate.layout import fit_projection, project
from annotate.placement import Pinhole, correspondences, limit_speed, locate_face

W, H = 1280, 720
CAMERA = Pinhole()


def image_of(point: np.ndarray, camera: Pinhole = CAMERA) -> tuple[float, float]:
    """Where the level pinhole camera of the placement sees a world point (cm)."""
    f = camera.focal_px(W)
    x, y, z = point
    return W / 2 + f * x / z, H / 2 - f * (y - camera.camera_height_cm) / z


def person(face_centre: np.ndarray, face_height_cm: float = 23.0) -> tuple[list[float], list[float]]:
    """The face box (``face_height_cm`` high and wide) and the body box (face top to the feet) of a standing
    person seen by the camera."""
    x, y, z = face_centre
    top, bottom = image_of(np.array([x, y + face_height_cm / 2, z])), image_of(np.array([x, y - face_height_cm / 2, z]))
    half = (bottom[1] - top[1]) / 2
    u = top[0]
    feet = image_of(np.array([x, 0.0, z]))
    return [u - half, top[1], u + half, bottom[1]], [u - 2 * half, top[1], u + 2 * half, feet[1]]


def test_the_focal_length_follows_the_field_of_view():
    assert Pinhole(horizontal_fov_deg=90).focal_px(W) == pytest.approx(W / 2)
    assert CAMERA.focal_px(W) == pytest.approx(W / 2 / np.tan(np.radians(30)))


@pytest.mark.parametrize("centre", [(0.0, 165.0, 300.0), (-120.0, 150.0, 500.0), (80.0, 140.0, 180.0)])
def test_a_face_is_placed_where_it_stands(centre):
    face, _ = person(np.array(centre))
    assert locate_face(face, W, H, CAMERA) == pytest.approx(centre, abs=1e-6)
    # a measured depth replaces the face-size estimate
    assert locate_face(face, W, H, CAMERA, depth_cm=centre[2] * 2)[2] == pytest.approx(centre[2] * 2)


def test_the_dlt_reprojects_a_consistent_scene_exactly():
    world, image = [], []
    for centre in [(0.0, 165.0, 500.0), (60.0, 180.0, 700.0), (-90.0, 150.0, 900.0)]:
        face, body = person(np.array(centre))
        located = locate_face(face, W, H, CAMERA)
        w, i = correspondences(face, body, located, W, H, CAMERA)
        assert len(w) == 6 and w[-1][1] == 0.0  # centre, four corners and the feet on the ground
        world.append(w)
        image.append(i)
    fitted = fit_projection(np.vstack(world), np.vstack(image))
    assert fitted.rms_error < 1e-6
    assert project(fitted.matrix, np.array([[0.0, 150.0, 1000.0]]))[0] == pytest.approx((W / 2, H / 2), abs=1e-6)


def test_a_wrong_assumption_shows_in_the_reprojection_error():
    world, image = [], []
    for centre, face_cm in [((0.0, 165.0, 500.0), 23.0), ((60.0, 110.0, 700.0), 17.0), ((-90.0, 150.0, 900.0), 23.0)]:
        face, body = person(np.array(centre), face_cm)  # the second is a child: a smaller face than assumed
        w, i = correspondences(face, body, locate_face(face, W, H, CAMERA), W, H, CAMERA)
        world.append(w)
        image.append(i)
    assert fit_projection(np.vstack(world), np.vstack(image)).rms_error > 2.0  # measured 5.6 px
    # without the feet (bodies cut by the frame) every point lies on its pixel's ray: the error cannot show it
    faces_only = [(w[:5], i[:5]) for w, i in zip(world, image)]
    assert fit_projection(np.vstack([w for w, _ in faces_only]),
                          np.vstack([i for _, i in faces_only])).rms_error < 1e-6


def test_a_body_cut_by_the_frame_gives_no_feet():
    face, body = person(np.array([0.0, 165.0, 300.0]))
    body[3] = H
    assert len(correspondences(face, body, locate_face(face, W, H, CAMERA), W, H, CAMERA)[0]) == 5
    assert len(correspondences(face, None, locate_face(face, W, H, CAMERA), W, H, CAMERA)[0]) == 5


def test_the_speed_rule_shortens_only_jumps():
    times = [0.0, 0.5, 1.0, 1.5]
    walk = [np.array([0.0, 160.0, 300.0 + 50 * k]) for k in range(4)]  # 100 cm/s
    kept, violations = limit_speed(times, walk, max_speed=500.0)
    assert violations == 0 and all(np.allclose(a, b) for a, b in zip(kept, walk))
    jump = [walk[0], walk[1], walk[1] + np.array([1000.0, 0.0, 0.0]), walk[1] + np.array([1000.0, 0.0, 0.0])]
    kept, violations = limit_speed(times, jump, max_speed=500.0)
    assert violations == 2  # the jump, then the catching up
    assert np.linalg.norm(kept[2] - kept[1]) == pytest.approx(250.0)  # 500 cm/s for 0.5 s
    assert np.linalg.norm(kept[3] - kept[2]) == pytest.approx(250.0)
    assert limit_speed([], [], 500.0) == ([], 0)
