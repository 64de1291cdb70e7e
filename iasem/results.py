"""SEMResult: everything about one fit, in lavaan's names, with a readable summary."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .engine.modindices import modification_indices
from .engine.residuals import with_standardized
from .errors import IasemError
from .summary import summary_text

PARAM_COLUMNS = ["lhs", "op", "rhs", "label", "group", "est", "se", "z", "pvalue", "ci.lower", "ci.upper", "std.lv",
                 "std.all"]  # fmt: skip
SUMMARY_MEASURES = ["npar", "chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
                    "rmsea.pvalue", "srmr", "logl", "aic", "bic"]  # fmt: skip


@dataclass
class SEMResult:
    """The result of :func:`iasem.fit`.

    Attributes
    ----------
    params : DataFrame
        lavaan's parameterEstimates: lhs, op, rhs, label, group, est, se, z, pvalue, ci.lower, ci.upper, std.lv,
        std.all; fixed parameters and ``:=`` rows included.
    fit_measures : dict
        lavaan's fitMeasures names (chisq, df, pvalue, cfi, tli, rmsea, ..., srmr, logl, aic, bic, npar).
    """

    model: str
    estimator: str
    nobs: int
    params: pd.DataFrame
    fit_measures: dict[str, float]
    implied_cov: pd.DataFrame
    sample_cov: pd.DataFrame
    converged: bool
    iterations: int
    warnings: list[str] = field(default_factory=list)
    vcov: pd.DataFrame | None = None
    # The engine's objects (parameter table, matrices, sample statistics) for post-fit statistics.
    engine: Any = field(default=None, repr=False, compare=False)
    # The successful bootstrap draws (one row per draw; columns "lhs op rhs" of the free parameters, then the
    # := names), as lavaan's lavInspect(fit, "boot"); None without a bootstrap.
    boot: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def residuals(self) -> dict[str, pd.DataFrame]:
        """Raw residuals (S - Sigma), correlation residuals, and lavaan's standardized and normalized residuals
        (z-statistics, :mod:`iasem.engine.residuals`; with a meanstructure also "standardized.mean" /
        "normalized.mean", one row per group); with groups, stacked by group label. For fits where lavaan's
        standardized residuals are not available yet (not ML, FIML, fixed covariates, robust standard
        errors), asking for them raises IasemError saying why."""
        if isinstance(self.sample_cov.index, pd.MultiIndex):
            labels = list(dict.fromkeys(self.sample_cov.index.get_level_values(0)))
            parts = [_residuals(self.sample_cov.loc[g], self.implied_cov.loc[g]) for g in labels]
            matrices = {kind: pd.concat([part[kind] for part in parts], keys=labels) for kind in ("raw", "cor")}
            return with_standardized(self.engine, matrices, labels)
        return with_standardized(self.engine, _residuals(self.sample_cov, self.implied_cov))

    def modindices(self, *, sort: bool = False, minimum_value: float = 0.0) -> pd.DataFrame:
        """lavaan's ``modindices(fit)``: modification indices and (standardized) expected parameter changes of
        the parameters the model leaves out, for ML (and MLR) fits of complete data; see
        :func:`iasem.engine.modindices.modification_indices`. ``sort``: largest first; ``minimum_value``: only
        indices above it."""
        if self.engine is None:
            raise IasemError("modification indices need the fitted model (this result has no engine)")
        return modification_indices(self.engine, sort=sort, minimum_value=minimum_value)

    def summary(self) -> str:
        """Readable text, as lavaan's ``summary(fit, fit.measures = TRUE, standardized = TRUE)``."""
        return summary_text(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "estimator": self.estimator,
            "nobs": self.nobs,
            "converged": self.converged,
            "iterations": self.iterations,
            "warnings": list(self.warnings),
            "fit": {k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in self.fit_measures.items()},
            "params": json.loads(self.params.to_json(orient="records")),
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def _repr_html_(self) -> str:
        fit = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{self.fit_measures[k]:.3f}</td></tr>"
            for k in SUMMARY_MEASURES
            if k in self.fit_measures
        )
        warnings = "".join(f"<li>{html.escape(w)}</li>" for w in self.warnings)
        return (
            f"<div><strong>iasem {html.escape(self.estimator)} fit</strong> (n = {self.nobs}, "
            f"{'converged' if self.converged else 'NOT converged'})"
            f"<table>{fit}</table>{self.params.to_html(index=False, float_format=lambda v: f'{v:.3f}')}"
            + (f"<ul>{warnings}</ul>" if warnings else "")
            + "</div>"
        )

    def __repr__(self) -> str:
        return self.summary()


def _residuals(sample: pd.DataFrame, implied: pd.DataFrame) -> dict[str, pd.DataFrame]:
    s_sd = np.sqrt(np.diag(sample))
    i_sd = np.sqrt(np.diag(implied))
    cor = sample / np.outer(s_sd, s_sd) - implied / np.outer(i_sd, i_sd)
    return {"raw": sample - implied, "cor": cor}


def _num(value: float) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.3f}"
