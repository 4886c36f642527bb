"""Optional dependencies (the pip extras in pyproject.toml), imported only when asked for."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import ConfigError


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or raise a one-line ConfigError naming the pip extra that installs it.

    >>> require("json", "none", "reading JSON").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"{purpose} needs the {module.split('.')[0]!r} package, which is not "
                          f"installed here ({e}); install it with: pip install "
                          f"'aelab[{extra}]'") from e
