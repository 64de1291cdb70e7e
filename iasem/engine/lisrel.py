"""Stage 5: the parameter table as LISREL matrices, and the model-implied moments with their derivatives.

Every observed variable that is not an indicator but takes part in a regression becomes a latent variable
with a loading of 1 and no residual ("all-y" representation, as lavaan does), so one set of formulas covers
CFA, path analysis and full SEM:

    Sigma = Lambda (I - B)^-1 Psi (I - B)^-T Lambda' + Theta
    mu    = nu + Lambda (I - B)^-1 alpha
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

    @property
    def shapes(self) -> dict[str, tuple[int, int]]:
        p, m = len(self.ov), len(self.lv)
        n_th = int((self.rows["op"] == "|").sum())
        return {"lambda": (p, m), "theta": (p, p), "psi": (m, m), "beta": (m, m), "nu": (p, 1), "alpha": (m, 1),
                "tau": (n_th, 1), "delta": (p, 1)}  # fmt: skip


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
    mats = {name: np.zeros(shape) for name, shape in rep.shapes.items()}
    for (name, i, j), value in zip(rep.rows[["matrix", "i", "j"]].itertuples(index=False), values, strict=True):
        mats[name][i, j] = value
        if name in ("theta", "psi"):
            mats[name][j, i] = value
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
    for k, (name, i, j) in enumerate(rep.rows[["matrix", "i", "j"]].itertuples(index=False)):
        if name == "lambda":
            d_sigma[k, i, :] = m_lam[j, :]
            d_mu[k, i] = alpha_mean[j]
        elif name == "theta":
            d_sigma[k, i, j] = 1.0
        elif name == "psi":
            d_sigma[k] = np.outer(la[:, i], la[:, j])
        elif name == "beta":
            # dA = A E_ij A, so dSigma = Lambda A E_ij (A Psi A') Lambda' + transpose
            d_sigma[k] = np.outer(la[:, i], m_lam[j, :])
            d_mu[k] = la[:, i] * alpha_mean[j]
        elif name == "nu":
            d_mu[k, i] = 1.0
        elif name == "alpha":
            d_mu[k] = la[:, i]
        if not (name in ("psi", "theta") and i == j):
            # Each term above has a transposed twin: an off-diagonal (co)variance sits at (i, j) and (j, i),
            # and a loading or regression enters Sigma on both sides.
            d_sigma[k] += d_sigma[k].T
    return d_sigma, d_mu
