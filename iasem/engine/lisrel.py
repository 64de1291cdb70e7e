"""Stage 5: the parameter table as LISREL matrices, and the model-implied moments with their derivatives.

Every observed variable that is not an indicator but takes part in a regression becomes a latent variable
with a loading of 1 and no residual ("all-y" representation, as lavaan does), so one set of formulas covers
CFA, path analysis and full SEM:

    Sigma = Lambda (I - B)^-1 Psi (I - B)^-T Lambda' + Theta
    mu    = nu + Lambda (I - B)^-1 alpha
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

# The operators of parameter-table rows that live in the model matrices (not :=, ==, <, >).
MODEL_OPERATORS = ("=~", "~", "~~", "~1", "|", "~*~")


@dataclass
class Representation:
    """Where each parameter-table row lives in the matrices, and which free parameter (if any) fills it."""

    ov: list[str]
    lv: list[str]  # latent variables, then observed variables promoted to latent
    rows: pd.DataFrame  # the model rows (no :=, ==, <, >), with columns matrix, i, j
    meanstructure: bool

    @cached_property
    def shapes(self) -> dict[str, tuple[int, int]]:
        p, m = len(self.ov), len(self.lv)
        n_th = int((self.rows["op"] == "|").sum())
        return {"lambda": (p, m), "theta": (p, p), "psi": (m, m), "beta": (m, m), "nu": (p, 1), "alpha": (m, 1),
                "tau": (n_th, 1), "delta": (p, 1)}  # fmt: skip

    @cached_property
    def locations(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """For each matrix, its rows' positions in ``rows`` and their (i, j): computed once, since every
        evaluation of the model reads them (the rows must not change after :func:`represent`)."""
        names = self.rows["matrix"].to_numpy()
        i, j = self.rows["i"].to_numpy(dtype=int), self.rows["j"].to_numpy(dtype=int)
        out = {}
        for name in self.shapes:
            k = np.flatnonzero(names == name)
            out[name] = (k, i[k], j[k])
        return out


def represent(table: pd.DataFrame, ov: list[str], meanstructure: bool) -> Representation:
    rows = table[table["op"].isin(MODEL_OPERATORS)].copy()
    lv = list(dict.fromkeys(rows.loc[rows["op"] == "=~", "lhs"]))
    structural = set(rows.loc[rows["op"] == "~", "lhs"]) | set(rows.loc[rows["op"] == "~", "rhs"])
    promoted = [v for v in ov if v in structural and v not in lv]
    latent = lv + promoted
    o, l_ = {v: k for k, v in enumerate(ov)}, {v: k for k, v in enumerate(latent)}
    where = []
    n_th = 0
    for r in rows.itertuples():
        if r.op == "|":
            where.append(("tau", n_th, 0))
            n_th += 1
        elif r.op == "~*~":
            where.append(("delta", o[r.lhs], 0))
        elif r.op == "=~":
            where.append(("lambda", o[r.rhs], l_[r.lhs]))
        elif r.op == "~":
            where.append(("beta", l_[r.lhs], l_[r.rhs]))
        elif r.op == "~~":
            if r.lhs in l_:
                where.append(("psi", l_[r.lhs], l_[r.rhs]))
            else:
                where.append(("theta", o[r.lhs], o[r.rhs]))
        else:
            where.append(("alpha", l_[r.lhs], 0) if r.lhs in l_ else ("nu", o[r.lhs], 0))
    rows[["matrix", "i", "j"]] = pd.DataFrame(where, index=rows.index)
    # Promoted observed variables: loading 1 on their own latent copy, no measurement error.
    fixed = pd.DataFrame(
        [{"op": "=~", "free": 0, "ustart": 1.0, "matrix": "lambda", "i": o[v], "j": l_[v]} for v in promoted]
    )
    if not fixed.empty:
        rows = pd.concat([rows, fixed], ignore_index=True)
    return Representation(list(ov), latent, rows.reset_index(drop=True), meanstructure)


@dataclass
class Matrices:
    lam: np.ndarray
    theta: np.ndarray
    psi: np.ndarray
    beta: np.ndarray
    nu: np.ndarray
    alpha: np.ndarray
    tau: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    delta: np.ndarray | None = None

    def __post_init__(self) -> None:
        m = self.beta.shape[0]
        self.ib_inv = np.linalg.inv(np.eye(m) - self.beta)

    def implied_cov(self) -> np.ndarray:
        loadings = self.lam @ self.ib_inv
        return loadings @ self.psi @ loadings.T + self.theta

    def implied_mean(self) -> np.ndarray:
        return (self.nu + self.lam @ self.ib_inv @ self.alpha).ravel()

    def latent_cov(self) -> np.ndarray:
        return self.ib_inv @ self.psi @ self.ib_inv.T


def fill(rep: Representation, values: np.ndarray) -> Matrices:
    """Matrices with every row's value: ``values`` holds one value per model row (fixed or estimated)."""
    values = np.asarray(values, dtype=float)
    mats = {}
    for name, shape in rep.shapes.items():
        matrix = np.zeros(shape)
        k, i, j = rep.locations[name]
        matrix[i, j] = values[k]
        if name in ("theta", "psi"):
            matrix[j, i] = values[k]
        mats[name] = matrix
    return Matrices(mats["lambda"], mats["theta"], mats["psi"], mats["beta"], mats["nu"], mats["alpha"], mats["tau"],
                    mats["delta"])  # fmt: skip


def derivatives(rep: Representation, mats: Matrices) -> tuple[np.ndarray, np.ndarray]:
    """dSigma/d(row value) as a (rows, p, p) stack and dmu/d(row value) as (rows, p): lavaan's Delta, one
    slice per model row (fixed rows included; the estimator keeps the free ones). Thresholds and scale factors
    leave both untouched (zero slices)."""
    p, q = len(rep.ov), len(rep.rows)
    a = mats.ib_inv
    la = mats.lam @ a  # Lambda (I-B)^-1
    m_lam = (a @ mats.psi @ a.T) @ mats.lam.T  # latent covariance times Lambda'
    alpha_mean = (a @ mats.alpha).ravel()
    d_sigma = np.zeros((q, p, p))
    d_mu = np.zeros((q, p))
    loc = rep.locations
    k, i, j = loc["lambda"]
    d_sigma[k, i, :] = m_lam[j, :]
    d_mu[k, i] = alpha_mean[j]
    k, i, j = loc["theta"]
    d_sigma[k, i, j] = 1.0
    k, i, j = loc["psi"]
    d_sigma[k] = la[:, i].T[:, :, None] * la[:, j].T[:, None, :]
    k, i, j = loc["beta"]
    # dA = A E_ij A, so dSigma = Lambda A E_ij (A Psi A') Lambda' + transpose
    d_sigma[k] = la[:, i].T[:, :, None] * m_lam[j, :][:, None, :]
    d_mu[k] = la[:, i].T * alpha_mean[j][:, None]
    k, i, _ = loc["nu"]
    d_mu[k, i] = 1.0
    k, i, _ = loc["alpha"]
    d_mu[k] = la[:, i].T
    # Each term above has a transposed twin: an off-diagonal (co)variance sits at (i, j) and (j, i), and a
    # loading or regression enters Sigma on both sides. Variances (diagonal of Psi and Theta) have none.
    twin = np.ones(q, dtype=bool)
    for name in ("psi", "theta"):
        k, i, j = loc[name]
        twin[k[i == j]] = False
    d_sigma[twin] += np.swapaxes(d_sigma[twin], 1, 2)
    return d_sigma, d_mu
