"""The one base of every refusal: a :class:`SkyscriptError` is printed as one line and exits with its status."""

from __future__ import annotations


class SkyscriptError(Exception):
    """A refusal with a clear message; ``exit_code`` is the documented exit status (1: could not run or found
    invalid data, 2: bad usage or settings)."""

    exit_code = 1


class UsageError(SkyscriptError):
    """Bad usage or settings (exit status 2)."""

    exit_code = 2
