"""Priors over codes (registry `PRIORS`): ``swiss_roll`` (3-D), ``gaussian`` (any dimension,
mean and scale) and ``gmm`` (K components on a layout). Each samples with a
``torch.Generator`` and draws itself (`Prior.plot`). `create_prior(name, **options)` builds one.
"""

from .base import PRIORS, Prior, create_prior, prior_option_names, scatter_codes
from .gaussian import LAYOUTS, GaussianPrior, MixturePrior, component_means
from .swiss_roll import SwissRollPrior

__all__ = ["PRIORS", "Prior", "create_prior", "prior_option_names", "scatter_codes",
           "GaussianPrior", "MixturePrior", "SwissRollPrior", "LAYOUTS", "component_means"]
