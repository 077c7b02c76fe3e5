"""Errors shared by the stages."""

from builder.errors import UsageError


class ModelError(UsageError):
    """A model cannot be loaded or used; the message names the setting to change (exit status 2)."""
