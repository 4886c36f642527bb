"""Evaluation: functions that take arrays and return ``dict[str, float]``.

They know nothing about training; ``metrics.reconstruction(x, x_rec)`` is the entry point
for reconstruction quality.
"""

from aelab.evaluate import metrics

__all__ = ["metrics"]
