"""Stage 3: sample statistics, the only view of the data the normal-theory estimators need."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import IasemError


@dataclass(frozen=True)
class SampleStats:
    """Means and the biased (divide by N) covariance matrix, as lavaan's ML uses them."""

    names: list[str]
    n: int
    cov: np.ndarray
    mean: np.ndarray

    @property
    def p(self) -> int:
        return len(self.names)


def sample_stats(data: pd.DataFrame, names: list[str]) -> SampleStats:
    """Listwise-complete sample statistics of ``names`` in ``data``.

    Raises IasemError naming the missing or non-numeric columns.
    """
    values = model_columns(data, names).dropna().to_numpy(dtype=float)
    n = values.shape[0]
    if n <= len(names):
        raise IasemError(f"only {n} complete rows for {len(names)} variables; the covariance matrix is singular")
    mean = values.mean(axis=0)
    centred = values - mean
    return SampleStats(list(names), n, centred.T @ centred / n, mean)


def model_columns(data: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The model's columns of ``data``; raises IasemError naming the missing or non-numeric ones."""
    missing = [name for name in names if name not in data.columns]
    if missing:
        raise IasemError(f"the data have no column(s) {', '.join(missing)} that the model uses")
    frame = data[names]
    not_numeric = [name for name in names if not pd.api.types.is_numeric_dtype(frame[name])]
    if not_numeric:
        raise IasemError(f"column(s) {', '.join(not_numeric)} are not numeric")
    return frame
