"""Errors shared by the stages."""


class ModelError(RuntimeError):
    """A model cannot be loaded or used; the message names the setting to change (exit status 2)."""
