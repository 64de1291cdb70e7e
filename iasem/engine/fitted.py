"""The engine's view of a finished fit, kept on :class:`~iasem.results.SEMResult` for the statistics that need
the model itself after estimation (modification indices, standardized residuals, bootstrap refits)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .estimate import MLState, Parameters
from .lisrel import Representation
from .sample_stats import SampleStats


@dataclass
class FittedModel:
    """One entry per group in ``reps``, ``params``, ``states`` and ``stats`` (one group: lists of length 1).

    ``table`` is the parameter table the fit used; ``vcov`` the covariance matrix of the free parameters x
    (None when it could not be computed); ``estimator`` and ``missing`` the options of the fit.
    """

    table: pd.DataFrame
    reps: list[Representation]
    params: list[Parameters]
    states: list[MLState]
    stats: list[SampleStats]
    vcov: np.ndarray | None
    estimator: str
    missing: str
    options: Any = None  # the FitOptions of the fit

    @property
    def x(self) -> np.ndarray:
        return self.states[0].x

    @property
    def ntotal(self) -> int:
        return sum(s.n for s in self.stats)
