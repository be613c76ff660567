"""Errors that reach the user as one line (no traceback unless trainer.debug=true).

Each message names what is wrong and how to fix it. Anything else that escapes
is a bug and keeps its traceback.
"""


class UserError(Exception):
    """Base class: bad input the user can fix."""


class ConfigError(UserError):
    """A config value that composes but cannot be used (range, unknown name)."""


class DataError(UserError):
    """Missing or corrupt MNIST files, or a dataset file that fails its manifest."""


class CheckpointError(UserError):
    """A checkpoint that cannot be resumed (other config, unreadable file)."""

