"""Standardised estimates, as lavaan's std.lv (latent variables scaled to variance 1) and std.all (latent and
observed variables scaled to variance 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lisrel import Matrices, Representation


def standardize(rep: Representation, mats: Matrices, sigma: np.ndarray, est: pd.Series, rows: pd.DataFrame,
                *, observed_too: bool) -> np.ndarray:  # fmt: skip
    """Standardised values of ``est`` for the model ``rows`` (lhs, op, rhs)."""
    latent_sd = dict(zip(rep.lv, np.sqrt(np.clip(np.diag(mats.latent_cov()), 0, None)), strict=True))
    observed_sd = dict(zip(rep.ov, np.sqrt(np.clip(np.diag(sigma), 0, None)), strict=True))
    true_latent = set(rows.loc[rows["op"] == "=~", "lhs"])

    def sd(name: str) -> float:
        if name in true_latent:
            return latent_sd[name]
        return observed_sd.get(name, 1.0) if observed_too else 1.0

    # A covariance between two variables is scaled by their own (residual) variance parameters, so a residual
    # covariance becomes a residual correlation, as in lavaan.
    own_variance = {lhs: v for (lhs, op, rhs), v in zip(rows[["lhs", "op", "rhs"]].itertuples(index=False), est,
                                                         strict=True) if op == "~~" and lhs == rhs}  # fmt: skip

    def residual_sd(name: str) -> float:
        if name in true_latent or observed_too:
            return float(np.sqrt(own_variance[name])) if own_variance.get(name, -1) > 0 else np.nan
        return 1.0

    out = np.full(len(rows), np.nan)
    for k, (lhs, op, rhs) in enumerate(rows[["lhs", "op", "rhs"]].itertuples(index=False)):
        value = est.iloc[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            if op == "=~":
                out[k] = value * sd(lhs) / sd(rhs)
            elif op == "~":
                out[k] = value * sd(rhs) / sd(lhs)
            elif op == "~~" and lhs == rhs:
                out[k] = value / (sd(lhs) * sd(rhs))
            elif op == "~~":
                out[k] = value / (residual_sd(lhs) * residual_sd(rhs))
            elif op in ("~1", "|"):
                out[k] = value / sd(lhs)
            elif op == "~*~":  # a scale factor times the latent response's standard deviation (1 / delta)
                out[k] = value * sd(lhs)
    return out
