"""Standardised estimates, as lavaan's std.lv (latent variables scaled to variance 1) and std.all (latent and
observed variables scaled to variance 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lisrel import Matrices, Representation


def standardize(rep: Representation, mats: Matrices, sigma: np.ndarray, est, rows: pd.DataFrame,
                *, observed_too: bool) -> np.ndarray:  # fmt: skip
    """Standardised values of ``est`` for the model ``rows`` (lhs, op, rhs)."""
    lhs, op, rhs = (rows[c].tolist() for c in ("lhs", "op", "rhs"))
    return standardize_rows(rep, mats, sigma, np.asarray(est, dtype=float).tolist(), lhs, op, rhs,
                            observed_too=observed_too)  # fmt: skip


def standardize_rows(rep: Representation, mats: Matrices, sigma: np.ndarray, est: list[float], lhs: list[str],
                     op: list[str], rhs: list[str], *, observed_too: bool) -> np.ndarray:  # fmt: skip
    """:func:`standardize` on the columns of the rows as lists."""
    latent_sd = dict(zip(rep.lv, np.sqrt(np.clip(np.diag(mats.latent_cov()), 0, None)).tolist(), strict=True))
    observed_sd = dict(zip(rep.ov, np.sqrt(np.clip(np.diag(sigma), 0, None)).tolist(), strict=True))
    true_latent = {v for v, o in zip(lhs, op, strict=True) if o == "=~"}

    def sd(name: str) -> float:
        if name in true_latent:
            return latent_sd[name]
        return observed_sd.get(name, 1.0) if observed_too else 1.0

    # A covariance between two variables is scaled by their own (residual) variance parameters, so a residual
    # covariance becomes a residual correlation, as in lavaan.
    own_variance = {a: v for a, o, b, v in zip(lhs, op, rhs, est, strict=True) if o == "~~" and a == b}

    def residual_sd(name: str) -> float:
        if name in true_latent or observed_too:
            return float(np.sqrt(own_variance[name])) if own_variance.get(name, -1) > 0 else np.nan
        return 1.0

    out = np.full(len(est), np.nan)
    # The arithmetic runs on numpy scalars, as it always has, so that a zero standard deviation gives inf or nan
    # (not ZeroDivisionError) and the values stay those of earlier versions to the last bit.
    with np.errstate(divide="ignore", invalid="ignore"):
        for k, (a, o, b, value) in enumerate(zip(lhs, op, rhs, est, strict=True)):
            value = np.float64(value)
            if o == "=~":
                out[k] = value * sd(a) / sd(b)
            elif o == "~":
                out[k] = value * sd(b) / sd(a)
            elif o == "~~" and a == b:
                out[k] = value / (sd(a) * sd(b))
            elif o == "~~":
                out[k] = value / (residual_sd(a) * residual_sd(b))
            elif o in ("~1", "|"):
                out[k] = value / sd(a)
            elif o == "~*~":  # a scale factor times the latent response's standard deviation (1 / delta)
                out[k] = value * sd(a)
    return out
