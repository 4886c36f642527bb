"""Argparse types for numeric options: a bad value is a usage error (exit 2) that names the
option's value and the allowed range, before the command does anything."""

from __future__ import annotations

import argparse
import math


def integer(low: int):
    """An ``int`` option type accepting values >= `low`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}; got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}; got {value}")
        return value
    parse.__name__ = "integer"
    return parse


def positive_number(text: str) -> float:
    """A finite ``float`` option type accepting values > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0; got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0; got {text!r}")
    return value
