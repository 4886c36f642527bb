"""aelab: train, evaluate and compare autoencoders on image data.

Public API::

    from aelab import RunConfig, create_model, list_models, train_run, load_run
"""

__version__ = "0.1.0"

from . import _cpu  # noqa: E402

_cpu.configure()   # before torch starts its thread pool: see aelab/_cpu.py

from .config import RunConfig  # noqa: E402
from .estimator import Autoencoder  # noqa: E402
from .models import create_model, list_models  # noqa: E402
from .runs import evaluate_run, load_run, resume_run, train_run  # noqa: E402

__all__ = ["Autoencoder", "RunConfig", "create_model", "evaluate_run", "list_models", "load_run",
           "resume_run", "train_run", "__version__"]
