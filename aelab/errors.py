"""Typed errors. Everything a user can cause raises one of these, worded as
what went wrong, the value, what was expected, and the fix."""


class AelabError(Exception):
    """Base class of every error aelab raises on purpose."""


class ConfigError(AelabError, ValueError):
    """A configuration key, value or combination is invalid."""


class DataError(AelabError):
    """A dataset file is missing, corrupt, of the wrong format, or has the wrong shape."""


class NotFittedError(AelabError, AttributeError):
    """An estimator was used before `fit`."""


class TrainingError(AelabError, RuntimeError):
    """Training cannot go on (a NaN loss, a failed sanity check)."""


class ExportError(AelabError, RuntimeError):
    """An exported model does not reproduce the trained one (e.g. ONNX vs torch outputs)."""
