"""OpenVINO for the pipeline's models: no telemetry on import, a model compiled per input shape with only the
last few kept, errors that name the remedy."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from annotate.errors import ModelError
from annotate.openvino_cpu import StaticShapes
from annotate.texts import detector_model


def test_importing_openvino_sends_no_telemetry(tmp_path):
    """OpenVINO's import would send a usage event and write a client id to ~/intel; ours uses its stub."""
    code = ("import sys; from annotate.openvino_cpu import import_openvino; import_openvino(); "
            "from openvino.tools.ovc import telemetry_utils; print(telemetry_utils.tm.__name__)")
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert done.stdout.strip() == "openvino.tools.ovc.telemetry_stub"
    assert not (tmp_path / "intel").exists()


def test_a_model_is_compiled_per_shape_and_the_last_few_are_kept():
    session = StaticShapes(detector_model(), "f32", "the remedy", keep=2)
    rng = np.random.default_rng(0)
    shapes = [(1, 3, 64, 96), (1, 3, 96, 64), (1, 3, 64, 96), (1, 3, 32, 32)]
    for shape in shapes:
        [out] = session(rng.random(shape, dtype=np.float32))
        assert out.shape == (1, 1, *shape[2:])  # PP-OCR's detector: one probability map at the input's size
    assert list(session.requests) == [(1, 3, 64, 96), (1, 3, 32, 32)]  # the least recently used one went


def test_an_unreadable_model_names_the_remedy(tmp_path):
    broken = tmp_path / "model.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"(?s)model\.onnx.*: set texts=false$"):
        StaticShapes(broken, "f32", "set texts=false")(np.zeros((1, 3, 32, 32), np.float32))
