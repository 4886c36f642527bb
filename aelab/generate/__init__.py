"""Generation from trained autoencoders: `samplers` (codes -> images) and `metrics` that judge
the samples with a reference classifier (`aelab.judge`); `figures` has the flip plot.

>>> from aelab.generate import samplers, metrics
"""

from . import figures, metrics, samplers

__all__ = ["figures", "metrics", "samplers"]
