"""Figures of generated images: the flip plot (judge confidence along an extrapolation).

Grids and interpolation strips are `aelab.report.figures.image_grid`; this adds what it lacks.
Functions return a ``matplotlib.figure.Figure`` and never show it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["flip_plot"]


def flip_plot(curves: Mapping[str, Sequence[Mapping]], *, class_names: Sequence[str]) -> Figure:
    """One panel per group (e.g. training size): the judge's confidence in the intended class
    against the extrapolation scale, one line per walk, coloured by class; a dot marks where
    the label flips.

    Parameters
    ----------
    curves : mapping title -> list of dict
        Each dict has ``target`` (int), ``scales``, ``confidence`` (arrays) and ``flip_scale``
        (float, nan when it never flipped), as returned by
        `aelab.generate.samplers.extrapolate_until_flip` plus ``target``.
    class_names : sequence of str
    """
    n = max(1, len(curves))
    fig = Figure(figsize=(4.0 * n, 3.3), layout="constrained")
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
               "tab:pink", "tab:gray", "tab:olive", "tab:cyan"]
    for i, (title, walks) in enumerate(curves.items()):
        ax = fig.add_subplot(1, n, i + 1)
        labelled: set[int] = set()
        for walk in walks:
            c = int(walk["target"])
            colour = palette[c % len(palette)]
            label = None if c in labelled else class_names[c]
            labelled.add(c)
            ax.plot(walk["scales"], walk["confidence"], color=colour, lw=1, alpha=0.8,
                    label=label)
            s = walk["flip_scale"]
            if np.isfinite(s):
                k = int(np.argmin(np.abs(np.asarray(walk["scales"]) - s)))
                ax.plot([s], [walk["confidence"][k]], "o", color=colour, ms=4)
        ax.set_title(str(title), fontsize=11)
        ax.set_xlabel("scale (code standard deviations)", fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        if i == 0:
            ax.set_ylabel("judge confidence in intended class", fontsize=9)
            ax.legend(fontsize=8, title="class", title_fontsize=8)
    return fig
