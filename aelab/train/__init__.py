"""Training: the loop, the shared optimizer step, in-memory batching, checkpoints without
pickle, seeding."""

from .batches import Batches
from .checkpoint import atomic_write, load_optimizer, save_optimizer, write_json
from .loop import FitResult, build_optimizer, evaluate_terms, fit, write_history
from .seed import resolve_device, seed_everything, seeded
from .step import Callback, Stepper

__all__ = ["Batches", "Callback", "FitResult", "Stepper", "atomic_write", "build_optimizer",
           "evaluate_terms", "fit", "load_optimizer", "resolve_device", "save_optimizer",
           "seed_everything", "seeded", "write_history", "write_json"]
