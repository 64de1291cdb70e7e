"""Stage 3: sample statistics, the only view of the data the normal-theory estimators need."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

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

    @cached_property
    def logdet(self) -> float:
        """log|S|, which every evaluation of the ML discrepancy reads (``cov`` is never changed in place)."""
        return np.linalg.slogdet(self.cov)[1]


def sample_stats(data: pd.DataFrame, names: list[str]) -> SampleStats:
    """Listwise-complete sample statistics of ``names`` in ``data``.

    Raises IasemError naming the missing or non-numeric columns.
    """
    return moments(complete_values(data, names), names)


def moments(values: np.ndarray, names: list[str]) -> SampleStats:
    """Sample statistics of complete rows ``values`` (one column per name)."""
    n = values.shape[0]
    if n <= len(names):
        raise IasemError(f"only {n} complete rows for {len(names)} variables; the covariance matrix is singular")
    mean = values.mean(axis=0)
    centred = values - mean
    return SampleStats(list(names), n, centred.T @ centred / n, mean)


def complete_values(data: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The rows of ``data`` with every model column observed, as floats (what ``dropna`` keeps).

    Raises IasemError naming the missing or non-numeric columns.
    """
    if not data.columns.is_unique:  # a name may stand for several columns: the DataFrame path sorts it out
        values = model_columns(data, names).to_numpy(dtype=float, na_value=np.nan)
    else:
        missing = [name for name in names if name not in data.columns]
        if missing:
            raise IasemError(f"the data have no column(s) {', '.join(missing)} that the model uses")
        # Column by column into a column-major array (as DataFrame.to_numpy gives it, so the sums of the moments
        # run in the same order): selecting the columns as a DataFrame first costs more than the whole copy.
        values = np.empty((len(data), len(names)), order="F")
        not_numeric = []
        for j, name in enumerate(names):
            column = data[name]
            if not pd.api.types.is_numeric_dtype(column.dtype):
                not_numeric.append(name)
            elif isinstance(column.dtype, np.dtype):  # NaN is its only missing value
                values[:, j] = column.to_numpy(dtype=float)
            else:  # a nullable extension dtype: NA becomes NaN
                values[:, j] = column.to_numpy(dtype=float, na_value=np.nan)
        if not_numeric:
            raise IasemError(f"column(s) {', '.join(not_numeric)} are not numeric")
    observed = ~np.isnan(values).any(axis=1)
    return values if observed.all() else np.asfortranarray(values[observed])


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
