"""Records/s of JSON Schema validation of frame records: ``jsonschema`` vs compiled ``fastjsonschema``.

Validates the same N realistic frame records (``tests/factories.py``: people with VAD, boxes, face, 17 pose
keypoints, objects, privacy, provenance) with

* ``jsonschema``: ``exact_validator("frame").is_valid`` and ``list(exact_validator("frame").iter_errors(...))``,
* ``fastjsonschema``: ``fast_validator("frame")`` (raises on the first error),

once on valid records and once on records that each carry one error (a VAD value of 12, an attractiveness of 6,
a shot type "Close-Up", a three-number box, in turn), and prints records/s side by side with the ratio.
This is the measurement behind ``builder.validation`` running fastjsonschema on the hot path.

Run: ``.venv/bin/python benchmarks/validation.py`` (``--n 20000`` records by default; ``--repeat`` takes the best).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # factories from the tests folder (a dependency ships a `tests` package)

import fastjsonschema  # noqa: E402

from common import figure  # noqa: E402
from factories import frame_record  # noqa: E402

from builder.validation import exact_validator, fast_validator  # noqa: E402

KIND = "frame"


def one_error(record: dict[str, Any], i: int) -> dict[str, Any]:
    """The record with exactly one schema error (four kinds of error, in turn)."""
    person = record["people"][0]
    which = i % 4
    if which == 0:
        person["vad"]["valence"] = 12
    elif which == 1:
        person["attractiveness"] = 6
    elif which == 2:
        person["shot_type"] = "Close-Up"
    else:
        person["bbox"] = person["bbox"][:3]
    return record


def records(n: int, broken: bool) -> list[dict[str, Any]]:
    out = [frame_record(i) for i in range(n)]
    return [one_error(r, i) for i, r in enumerate(out)] if broken else out


def rate(check: Callable[[dict[str, Any]], Any], data: list[dict[str, Any]], repeat: int) -> float:
    """Best records/s over ``repeat`` passes."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for record in data:
            check(record)
        best = min(best, time.perf_counter() - start)
    return len(data) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=20000, help="frame records per run (default 20000)")
    parser.add_argument("--repeat", type=int, default=1, help="passes per measurement; the best is kept")
    args = parser.parse_args(argv)

    exact = exact_validator(KIND)
    fast = fast_validator(KIND)

    def fast_check(record: dict[str, Any]) -> bool:
        try:
            fast(record)
            return True
        except fastjsonschema.JsonSchemaException:
            return False

    def exact_errors(record: dict[str, Any]) -> list:
        return list(exact.iter_errors(record))

    print(f"python {platform.python_version()}, jsonschema {version('jsonschema')}, "
          f"fastjsonschema {fastjsonschema.VERSION}; {args.n} frame records, best of {args.repeat}")
    header = f"{'records':<16}{'jsonschema is_valid':>22}{'jsonschema iter_errors':>25}{'fastjsonschema':>17}" \
             f"{'fast/is_valid':>15}{'fast/iter_errors':>18}"
    print(header)
    print("-" * len(header))
    for label, broken in (("valid", False), ("one error each", True)):
        data = records(args.n, broken)
        expected = not broken
        assert all(exact.is_valid(r) is expected for r in data[:50]), "benchmark records are not as labelled"
        assert all(fast_check(r) is expected for r in data[:50]), "benchmark records are not as labelled"
        r_valid = rate(exact.is_valid, data, args.repeat)
        r_iter = rate(exact_errors, data, args.repeat)
        r_fast = rate(fast_check, data, args.repeat)
        print(f"{label:<16}{r_valid:>20,.0f}/s{r_iter:>23,.0f}/s{r_fast:>15,.0f}/s"
              f"{r_fast / r_valid:>14.1f}x{r_fast / r_iter:>17.1f}x")
        which = "records with one error" if broken else "valid records"
        figure("validation", f"fastjsonschema, {which}", r_fast, "records/s", "jsonschema is_valid", r_valid)
        figure("validation", f"fastjsonschema, {which}", r_fast, "records/s", "jsonschema iter_errors", r_iter)
    return 0


if __name__ == "__main__":
    sys.exit(main())
