"""One small registry class, reused for models, losses, corruptions, datasets and studies.

Registries are filled at import time (decorators on the registered objects) and only read
afterwards; they are the one piece of global state in aelab.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object mapping with helpful errors for unknown names.

    Parameters
    ----------
    kind : str
        What is registered ("model", "dataset", ...), used in error messages.

    Examples
    --------
    >>> MODELS = Registry("model")
    >>> @MODELS.register("dense")
    ... class Dense: ...
    >>> MODELS.get("dense") is Dense
    True
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorator

    def get(self, name: str, key: str | None = None) -> T:
        """Return the object registered as `name`, or raise ConfigError naming the choices.

        `key` is the dotted config path the name came from (e.g. ``"model.name"``).
        """
        try:
            return self._items[name]
        except (KeyError, TypeError):
            where = f"{key}: " if key else ""
            close = difflib.get_close_matches(str(name), self._items, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{where}unknown {self.kind} {name!r}.{hint} "
                f"Available: {', '.join(sorted(self._items))}."
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def reject_unknown_options(given, allowed: list[str], *, key: str, owner: str) -> None:
    """Raise ConfigError for the first name in `given` that is not in `allowed`.

    The message names the config key (``{key}.{option}``), the object it belongs to
    (`owner`, e.g. ``model 'dense'``), the closest allowed name and all allowed names.

    Examples
    --------
    >>> try:
    ...     reject_unknown_options({"hiden": 1}, ["hidden"], key="model", owner="model 'dense'")
    ... except ConfigError as e:
    ...     print(e)
    model.hiden: unknown option for model 'dense'. Did you mean 'hidden'? Allowed: hidden.
    """
    for option in given:
        if option not in allowed:
            close = difflib.get_close_matches(option, allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{key}.{option}: unknown option for {owner}.{hint} "
                              f"Allowed: {', '.join(allowed) or 'none'}.")
