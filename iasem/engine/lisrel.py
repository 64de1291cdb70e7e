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
        n_th = int(np.count_nonzero(self.rows["matrix"].to_numpy() == "tau"))
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
            for array in out[name]:  # shared by every fit of a cached model (sem._structure)
                array.flags.writeable = False
        return out

    @cached_property
    def fill_plan(self) -> tuple[int, np.ndarray, np.ndarray, dict[str, tuple[int, int, tuple[int, int]]]]:
        """Where :func:`fill` puts each row's value: the matrices laid end to end in one buffer (its size, and
        each matrix's start, stop and shape), the buffer positions and the rows they take their values from
        (a covariance twice: at (i, j) and at (j, i))."""
        targets, sources, blocks, start = [], [], {}, 0
        for name, shape in self.shapes.items():
            k, i, j = self.locations[name]
            targets.append(start + i * shape[1] + j)
            sources.append(k)
            if name in ("theta", "psi"):
                targets.append(start + j * shape[1] + i)
                sources.append(k)
            blocks[name] = (start, start + shape[0] * shape[1], shape)
            start += shape[0] * shape[1]
        targets, sources = np.concatenate(targets), np.concatenate(sources)
        targets.flags.writeable = sources.flags.writeable = False  # shared by every fit of a cached model
        return start, targets, sources, blocks

    @cached_property
    def all_rows(self) -> DerivativePlan:
        """The plan of :func:`derivatives` for every row."""
        return self.plan(np.arange(len(self.rows)))

    def plan(self, rows: np.ndarray) -> DerivativePlan:
        """The plan of :func:`derivatives` for the slices of ``rows`` (positions in ``rows``, no repeats), in
        that order."""
        position = np.full(len(self.rows), -1)
        position[rows] = np.arange(len(rows))
        locations, twin = {}, []
        for name, (k, i, j) in self.locations.items():
            keep = position[k] >= 0
            locations[name] = (position[k[keep]], i[keep], j[keep])
            if name in ("lambda", "beta"):
                twin.append(locations[name][0])
            elif name in ("psi", "theta"):
                twin.append(locations[name][0][i[keep] != j[keep]])
        return DerivativePlan(len(rows), locations, np.sort(np.concatenate(twin)))


@dataclass(frozen=True)
class DerivativePlan:
    """Which slices :func:`derivatives` computes: ``size`` slices, with the (slice, i, j) of each matrix's rows
    among them, and ``twin``, the slices that enter Sigma at (i, j) and at (j, i): loadings, regressions and
    covariances (not variances; thresholds, intercepts and scale factors leave Sigma untouched)."""

    size: int
    locations: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    twin: np.ndarray


def represent(table: pd.DataFrame, ov: list[str], meanstructure: bool) -> Representation:
    rows = table[table["op"].isin(MODEL_OPERATORS)].copy()
    lhs, op, rhs = (rows[c].tolist() for c in ("lhs", "op", "rhs"))
    lv = list(dict.fromkeys(v for v, o in zip(lhs, op, strict=True) if o == "=~"))
    structural = {v for a, o, b in zip(lhs, op, rhs, strict=True) if o == "~" for v in (a, b)}
    promoted = [v for v in ov if v in structural and v not in lv]
    latent = lv + promoted
    o, l_ = {v: k for k, v in enumerate(ov)}, {v: k for k, v in enumerate(latent)}
    where = []
    n_th = 0
    for r_lhs, r_op, r_rhs in zip(lhs, op, rhs, strict=True):
        if r_op == "|":
            where.append(("tau", n_th, 0))
            n_th += 1
        elif r_op == "~*~":
            where.append(("delta", o[r_lhs], 0))
        elif r_op == "=~":
            where.append(("lambda", o[r_rhs], l_[r_lhs]))
        elif r_op == "~":
            where.append(("beta", l_[r_lhs], l_[r_rhs]))
        elif r_op == "~~":
            if r_lhs in l_:
                where.append(("psi", l_[r_lhs], l_[r_rhs]))
            else:
                where.append(("theta", o[r_lhs], o[r_rhs]))
        else:
            where.append(("alpha", l_[r_lhs], 0) if r_lhs in l_ else ("nu", o[r_lhs], 0))
    matrix, i, j = zip(*where, strict=True) if where else ((), (), ())
    rows["matrix"] = list(matrix)
    rows["i"] = np.array(i, dtype=np.int64)
    rows["j"] = np.array(j, dtype=np.int64)
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
        # Without regressions among the latent variables (I - B)^-1 is I, exactly what inv returns for it.
        self.ib_inv = np.linalg.inv(np.eye(m) - self.beta) if self.beta.any() else np.eye(m)

    def implied_cov(self) -> np.ndarray:
        loadings = self.lam @ self.ib_inv
        return loadings @ self.psi @ loadings.T + self.theta

    def implied_mean(self) -> np.ndarray:
        return (self.nu + self.lam @ self.ib_inv @ self.alpha).ravel()

    def latent_cov(self) -> np.ndarray:
        return self.ib_inv @ self.psi @ self.ib_inv.T


def fill(rep: Representation, values: np.ndarray) -> Matrices:
    """Matrices with every row's value: ``values`` holds one value per model row (fixed or estimated)."""
    size, targets, sources, blocks = rep.fill_plan
    # One buffer, one scatter: every evaluation fills the matrices, and eight small ones cost eight times the
    # allocations and index operations.
    buffer = np.zeros(size)
    buffer[targets] = np.asarray(values, dtype=float)[sources]
    mats = {name: buffer[start:stop].reshape(shape) for name, (start, stop, shape) in blocks.items()}
    return Matrices(mats["lambda"], mats["theta"], mats["psi"], mats["beta"], mats["nu"], mats["alpha"], mats["tau"],
                    mats["delta"])  # fmt: skip


def derivatives(
    rep: Representation, mats: Matrices, plan: DerivativePlan | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """dSigma/d(row value) as a (rows, p, p) stack and dmu/d(row value) as (rows, p): lavaan's Delta, one
    slice per model row (fixed rows included; the estimator keeps the free ones), or per row of ``plan``
    (:meth:`Representation.plan`). Thresholds and scale factors leave both untouched (zero slices)."""
    plan = rep.all_rows if plan is None else plan
    p, q = len(rep.ov), plan.size
    a = mats.ib_inv
    la = mats.lam @ a  # Lambda (I-B)^-1
    m_lam = (a @ mats.psi @ a.T) @ mats.lam.T  # latent covariance times Lambda'
    alpha_mean = (a @ mats.alpha).ravel()
    d_sigma = np.zeros((q, p, p))
    d_mu = np.zeros((q, p))
    loc = plan.locations
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
    twin = plan.twin
    d_sigma[twin] += np.swapaxes(d_sigma[twin], 1, 2)
    return d_sigma, d_mu
