"""Modification indices and expected parameter changes, as lavaan's ``modindices()``.

For every parameter the model leaves out (or fixes), the score test of freeing it (Sörbom 1989): with
``F = fmin`` (lavaan's ML discrepancy, half of F_ML), ``g`` its gradient with respect to the candidate at the
estimates, and ``I`` the expected information of one observation (the Hessian of F at the estimates),

    V   = I_cc - I_cx I_xx^-1 I_xc
    MI  = N g^2 / V
    EPC = -g / V

``x`` are the model's free parameters after equality constraints (so ``I_xx^-1`` is lavaan's constrained
inverse), ``N`` the total sample size. With several groups, F, g and I are the sums over groups weighted by
N_g / N, as in the estimation. The standardized EPCs (Saris, Satorra & van der Veld 2009) scale the EPC as
lavaan's ``std.lv``, ``std.all`` and ``std.nox`` would scale an estimate of that size, with covariances
divided by the square roots of the two (residual) variance estimates (``cov.std = TRUE``).

Each candidate enters Sigma as ``dSigma = u w' + w u'`` for two vectors of the observed space (a covariance
between disturbances u and w; a loading or a regression with u the variable's disturbance and w the covariance
of the predictor with the observed variables), so the information needs no (p, p) matrix per candidate:

    I_cc = (u' S^-1 w)^2 + (u' S^-1 u)(w' S^-1 w) + dmu' S^-1 dmu
    I_cx = w' S^-1 dSigma_x S^-1 u + dmu' S^-1 dmu_x
    g    = w' (S^-1 - S^-1 (S_obs + r r') S^-1) u - dmu' S^-1 r         (S = Sigma, r = mean - mu)

References
----------
Sörbom, D. (1989). Model modification. *Psychometrika*, 54(3), 371-384.
Saris, W. E., Satorra, A., & van der Veld, W. M. (2009). Testing structural equation models or detection of
misspecifications? *Structural Equation Modeling*, 16(4), 561-582.
lavaan 0.6.14: ``modindices()``, ``lav_partable_full()``, ``lav_standardize_lv()`` / ``_all()`` / ``_all_nox()``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import IasemError
from .estimate import MLState, unsupported_constraints
from .fitted import FittedModel
from .lisrel import Representation, derivatives

COLUMNS = ["lhs", "op", "rhs", "mi", "epc", "sepc.lv", "sepc.all", "sepc.nox"]
# The parameter-table rows that the representation holds, in its order (thresholds and scales of ordered
# variables included, though their fits are refused).
MODEL_OPS = ("=~", "~", "~~", "~1", "|", "~*~")
# lavaan: V below this is "no information" (the candidate is not identified given the model): mi is NA.
V_TOLERANCE = np.finfo(float).eps ** (1 / 3)
SMALL_VARIANCE = np.sqrt(np.finfo(float).eps)
# The estimators whose estimates are ML's and whose modification indices lavaan computes from the expected
# information at the estimates (MLR differs from ML in its standard errors and test only).
SUPPORTED = ("ML", "MLR")


def modification_indices(fitted: FittedModel, *, sort: bool = False, minimum_value: float = 0.0) -> pd.DataFrame:
    """lavaan's ``modindices(fit)``: one row per parameter that could be added to (or freed in) the model.

    Parameters
    ----------
    fitted : FittedModel
        The engine's view of an ML (or MLR) fit of complete data, one group or several.
    sort : bool
        Largest modification index first (lavaan's ``sort.``).
    minimum_value : float
        Keep only rows whose index exceeds this value (lavaan's ``minimum.value``).

    Returns
    -------
    DataFrame
        Columns lhs, op, rhs, (group, with several groups), mi, epc, sepc.lv, sepc.all, sepc.nox; rows
        in lavaan's order (the model's fixed parameters first, then the added ones) unless sorted. Candidates
        without information (mi NA in lavaan, e.g. a second scaling loading) are left out, as lavaan's
        ``na.remove = TRUE``.

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> from iasem.resources import resource_path
    >>> data = pd.read_csv(resource_path("data") / "holzinger_swineford_1939.csv")
    >>> fit = iasem.fit("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9", data)
    >>> mi = modification_indices(fit.engine, sort=True)
    >>> print(mi.head(3).round(3).to_string(index=False))
       lhs op rhs     mi    epc  sepc.lv  sepc.all  sepc.nox
    visual =~  x9 36.411  0.577    0.519     0.515     0.515
        x7 ~~  x8 34.145  0.536    0.536     0.859     0.859
    visual =~  x7 18.631 -0.422   -0.380    -0.349    -0.349
    """
    _check_supported(fitted)
    groups = [_Group.build(fitted, g) for g in range(len(fitted.reps))]
    n_total = fitted.ntotal
    weights = [s.n / n_total for s in fitted.stats]
    info_xx = sum(w * grp.info_xx for w, grp in zip(weights, groups, strict=True))
    try:
        info_inv = np.linalg.inv(info_xx)
    except np.linalg.LinAlgError as exc:
        raise IasemError("could not compute modification indices: the information matrix is singular") from exc
    frames = []
    for w, grp in zip(weights, groups, strict=True):
        cand = grp.candidates
        cross = w * grp.info_cx
        v = w * grp.info_cc - np.einsum("cl,lk,ck->c", cross, info_inv, cross)
        v[v < V_TOLERANCE] = np.nan
        gradient = w * grp.gradient
        mi = n_total * gradient**2 / v
        d = -n_total * gradient
        d[np.abs(d) < 1e-15] = 1.0
        frame = cand[["lhs", "op", "rhs", "block", "position"]].copy()
        frame["group"] = grp.number
        frame["mi"] = mi
        frame["epc"] = mi / d
        frame[["sepc.lv", "sepc.all", "sepc.nox"]] = grp.standardized_epc(frame["epc"].to_numpy())
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True).sort_values(["block", "position"], kind="stable")
    columns = COLUMNS[:3] + (["group"] if len(groups) > 1 else []) + COLUMNS[3:]
    out = out[columns].reset_index(drop=True)
    if sort:
        out = out.iloc[np.argsort(-out["mi"].fillna(-np.inf).to_numpy(), kind="stable")]
    if minimum_value > 0:
        out = out[out["mi"] > minimum_value]
    return out[out["mi"].notna()].reset_index(drop=True)


def _check_supported(fitted: FittedModel) -> None:
    if fitted.estimator not in SUPPORTED:
        raise IasemError(f"modification indices are available for estimator='ML' (and 'MLR', whose indices are "
                         f"ML's), not {fitted.estimator!r} yet")  # fmt: skip
    if fitted.missing != "listwise":
        raise IasemError(f"modification indices with missing={fitted.missing!r} are not available yet")
    if fitted.table["op"].isin(["|", "~*~"]).any():
        raise IasemError("modification indices with ordered (categorical) variables are not available yet")
    constraints = unsupported_constraints(fitted.table)
    if constraints:
        raise IasemError(f"modification indices with the constraint(s) {'; '.join(constraints)} are not available "
                         "yet: only equalities through shared labels are")  # fmt: skip


@dataclass
class _Names:
    """lavaan's variable names of one block (``lav_partable_vnames``), from the block's parameter table."""

    lv: list[str]
    ov: list[str]
    ov_x: list[str]
    ov_nox: list[str]
    ov_ind: list[str]
    eqs: list[str]  # unique(c(eqs.y, eqs.x)): the variables of the regressions

    @classmethod
    def of(cls, rows: pd.DataFrame, ov: list[str]) -> _Names:
        def unique(values) -> list[str]:
            return list(dict.fromkeys(values))

        lv = unique(rows.loc[rows["op"] == "=~", "lhs"])
        exo = rows[(rows["exo"] == 1) & rows["op"].isin(["~~", "~1"])]
        ov_x = [v for v in ov if v in set(exo["lhs"]) | set(exo.loc[exo["op"] == "~~", "rhs"])]
        regressions = rows[rows["op"] == "~"]
        return cls(
            lv=lv,
            ov=list(ov),
            ov_x=ov_x,
            ov_nox=[v for v in ov if v not in ov_x],
            ov_ind=[v for v in unique(rows.loc[rows["op"] == "=~", "rhs"]) if v not in lv],
            eqs=unique([*regressions["lhs"], *regressions["rhs"]]),
        )


def full_candidates(names: _Names, meanstructure: bool) -> list[tuple[str, str, str]]:
    """Every parameter lavaan's ``lav_partable_full`` considers in one block, in its order: loadings of every
    factor on every observed variable outside the regressions; (co)variances among the indicators (and the
    exogenous covariates); (co)variances among the factors; regressions among the variables of the
    regressions (not of an indicator on a factor); with a meanstructure, the intercepts."""
    out = [(f, "=~", v) for f in names.lv for v in names.ov_nox if v not in names.eqs]
    other = set(names.ov) - set(names.ov_ind)

    def lower_triangle(variables: list[str]) -> list[tuple[str, str, str]]:
        return [(a, "~~", b) for j, a in enumerate(variables) for b in variables[j:]]

    out += [t for t in lower_triangle(names.ov_nox) if t[0] not in other and t[2] not in other]
    out += lower_triangle(names.ov_x)
    out += lower_triangle(names.lv)
    out += [(y, "~", x) for y in names.eqs for x in names.eqs
            if y != x and not (y in names.ov_ind and x in names.lv)]  # fmt: skip
    if meanstructure:
        out += [(v, "~1", "") for v in [*names.ov, *names.lv]]
    return out


@dataclass
class _Group:
    """One group's candidates, their information and gradient, and what standardizing their EPCs needs."""

    number: int
    candidates: pd.DataFrame  # lhs, op, rhs; block 0 and table position, or group and position in the added
    info_xx: np.ndarray
    info_cx: np.ndarray
    info_cc: np.ndarray
    gradient: np.ndarray
    model_rows: pd.DataFrame  # the group's model rows with their estimates (est) and exo
    names: _Names
    eta: dict[str, float]  # latent standard deviations
    ov_var: dict[str, float]  # implied observed variances

    @classmethod
    def build(cls, fitted: FittedModel, g: int) -> _Group:
        rep, params, state, stats = fitted.reps[g], fitted.params[g], fitted.states[g], fitted.stats[g]
        number = g + 1
        table = fitted.table
        rows = table[table["op"].isin(MODEL_OPS) & (table["group"] == number)]
        model_rows = rows[["lhs", "op", "rhs", "free", "exo"]].reset_index(drop=True)
        model_rows["est"] = params.row_values(state.x)[: len(rows)]
        names = _Names.of(rows, rep.ov)
        # lavaan's list: the model's rows (all groups, in table order), then the rows lav_partable_full adds,
        # group by group. The model's fixed rows are candidates too (freed one at a time).
        position = np.flatnonzero((table["op"].isin(MODEL_OPS) & (table["group"] == number)).to_numpy())
        fixed = model_rows.index[model_rows["free"] == 0]
        present = {_key(r.lhs, r.op, r.rhs) for r in model_rows.itertuples()}
        added = [t for t in full_candidates(names, rep.meanstructure) if _key(*t) not in present]
        candidates = pd.DataFrame(
            [(*model_rows.loc[k, ["lhs", "op", "rhs"]], 0, position[k]) for k in fixed]
            + [(*t, number, k) for k, t in enumerate(added)],
            columns=["lhs", "op", "rhs", "block", "position"],
        )
        u, w, dmu = _candidate_vectors(rep, state, candidates)
        d_sigma, d_mu = derivatives(rep, state.mats)
        dx_sigma, dx_mu = params.reduce(d_sigma), params.reduce(d_mu)
        sigma_inv = np.linalg.inv(state.sigma)
        # lavaan's expected information with fixed.x ignores the exogenous covariates' own moments: the parts
        # of u w' + w u' and of dmu inside that block (u_x, w_x: u and w on the covariates only) drop out.
        is_x = np.isin(rep.ov, names.ov_x)
        u_x, w_x = u * is_x, w * is_x
        dmu_free = dmu * ~is_x
        sigma_inv_dx = sigma_inv @ dx_sigma
        info_xx = 0.5 * np.einsum("kab,lba->kl", sigma_inv_dx, sigma_inv_dx)
        m = sigma_inv_dx @ sigma_inv  # Sigma^-1 dSigma_x Sigma^-1, (x, p, p)
        info_cx = np.einsum("ca,lab,cb->cl", w, m, u) - np.einsum("ca,lab,cb->cl", w_x, m, u_x)

        def pair(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
            """0.5 tr(S^-1 (a b' + b a') S^-1 (c d' + d c')) for every row."""

            def dot(left: np.ndarray, right: np.ndarray) -> np.ndarray:
                return np.einsum("ca,ab,cb->c", left, sigma_inv, right)

            return dot(a, c) * dot(b, d) + dot(a, d) * dot(b, c)

        info_cc = pair(u, w, u, w) - 2 * pair(u, w, u_x, w_x) + pair(u_x, w_x, u_x, w_x)
        resid = stats.mean - state.mu
        g_matrix = sigma_inv - sigma_inv @ (stats.cov + np.outer(resid, resid)) @ sigma_inv
        gradient = np.einsum("ca,ab,cb->c", w, g_matrix, u)
        if rep.meanstructure:
            info_xx = info_xx + dx_mu @ sigma_inv @ dx_mu.T
            info_cx = info_cx + dmu_free @ sigma_inv @ dx_mu.T
            info_cc = info_cc + np.einsum("ca,ab,cb->c", dmu_free, sigma_inv, dmu_free)
            gradient = gradient - dmu @ (sigma_inv @ resid)
        latent_var = np.diag(state.mats.latent_cov())
        eta = {v: float(np.sqrt(latent_var[k])) if latent_var[k] >= 0 else np.nan
               for k, v in enumerate(rep.lv) if v in names.lv}  # fmt: skip
        ov_var = dict(zip(rep.ov, np.diag(state.sigma), strict=True))
        return cls(number, candidates, info_xx, info_cx, info_cc, gradient, model_rows, names, eta, ov_var)

    def standardized_epc(self, epc: np.ndarray) -> np.ndarray:
        """sepc.lv, sepc.all and sepc.nox of the candidates, (n, 3), as lavaan's modindices standardizes.

        The value standardized is |EPC| with the sign put back; a variance candidate's own estimate replaces
        its EPC when it is not an exogenous covariate's, and so does every residual variance that scales a
        covariance (``cov.std``). A variance whose value is ~0 gives 0.
        """
        cand = self.candidates
        variance: dict[str, float] = {}
        for r in self.model_rows.itertuples():
            if r.op == "~~" and r.lhs == r.rhs and r.exo == 0:
                variance.setdefault(r.lhs, r.est)
        for (lhs, op, rhs), value in zip(cand[["lhs", "op", "rhs"]].itertuples(index=False), epc, strict=True):
            if op == "~~" and lhs == rhs:
                variance.setdefault(lhs, value)
        small = {v for v, value in variance.items() if not abs(value) >= SMALL_VARIANCE}
        rv = {v: np.nan if v in small else float(np.sqrt(abs(value))) for v, value in variance.items()}
        out = np.zeros((len(cand), 3))
        for k, (lhs, op, rhs) in enumerate(cand[["lhs", "op", "rhs"]].itertuples(index=False)):
            is_variance = op == "~~" and lhs == rhs
            if is_variance and lhs in small:
                continue
            size = abs(variance[lhs]) if is_variance else abs(epc[k])
            with np.errstate(invalid="ignore", divide="ignore"):
                out[k] = np.sign(epc[k]) * np.array(self._scale(lhs, op, rhs, size, rv))
        return out

    def _scale(self, lhs: str, op: str, rhs: str, value: float, rv: dict[str, float]) -> tuple[float, float, float]:
        """``value`` for the row lhs op rhs standardized as lavaan's lav_standardize_lv, and as its _all and
        _all_nox on top of that (name-based rules; rv: residual standard deviations for covariances)."""
        lv, ov, ov_x = set(self.names.lv), set(self.names.ov), set(self.names.ov_x)
        nan = np.nan

        def eta(v: str) -> float:
            return self.eta.get(v, nan)

        def ov_var(v: str) -> float:
            s = self.ov_var.get(v, nan)
            return nan if abs(s) < np.finfo(float).eps else s

        def ov_sd(v: str) -> float:
            s = ov_var(v)
            return nan if s < 0 else float(np.sqrt(s))

        x = value
        if op == "=~":
            x = x * eta(lhs) / eta(rhs) if rhs in lv else x * eta(lhs)
        elif op == "~":
            x = x / eta(lhs) if lhs in lv else x
            x = x * eta(rhs) if rhs in lv else x
        elif op == "~~" and lhs == rhs:
            x = x / eta(lhs) ** 2 if lhs in lv else x
        elif op == "~~":
            x = x / rv.get(lhs, nan) if lhs in lv else x
            x = x / rv.get(rhs, nan) if rhs in lv else x
        elif op == "~1" and lhs in lv:
            x = x / eta(lhs)

        def observed(unscaled: set[str]) -> float:
            """lav_standardize_all (unscaled: none) or _all_nox (unscaled: the exogenous covariates)."""
            y = x
            if op == "=~" and rhs not in lv:
                y = y / ov_sd(rhs)
            elif op == "~":
                y = y / ov_sd(lhs) if lhs in ov else y
                y = y * ov_sd(rhs) if rhs in ov - unscaled else y
            elif op == "~~" and lhs == rhs:
                y = y / ov_var(lhs) if lhs not in lv | unscaled else y
            elif op == "~~":
                y = y / rv.get(lhs, nan) if lhs not in lv | unscaled else y
                y = y / rv.get(rhs, nan) if rhs not in lv | unscaled else y
            elif op == "~1" and lhs not in lv | unscaled:
                y = y / ov_sd(lhs)
            return y

        return x, observed(set()), observed(ov_x)


def _key(lhs: str, op: str, rhs: str) -> tuple[str, str, str]:
    """A covariance is the same parameter whichever way round it is written."""
    return (min(lhs, rhs), op, max(lhs, rhs)) if op == "~~" else (lhs, op, rhs)


def _candidate_vectors(rep: Representation, state: MLState, candidates: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """For every candidate, u and w with dSigma = u w' + w u', and dmu, at the estimates (each (n, p)).

    Columns of the observed space: ``e_j`` for the residual of an observed variable j; ``(Lambda A)_k`` for
    the disturbance of latent (or regression-promoted observed) variable k; ``(A Psi A' Lambda')_k`` for the
    covariance of variable k with the observed variables; the means ``A alpha`` scale loadings and regressions.
    """
    p, m = len(rep.ov), len(rep.lv)
    mats, sigma, mu = state.mats, state.sigma, state.mu
    la = mats.lam @ mats.ib_inv
    cov_rows = (mats.latent_cov() @ mats.lam.T).T  # (p, m): column k is Cov(y, eta_k)
    latent_mean = (mats.ib_inv @ mats.alpha).ravel()
    # Column bank: [e_1..e_p | disturbances of the latent slots | covariances with y | zero]
    bank = np.hstack([np.eye(p), la, cov_rows, np.zeros((p, 1)), sigma])
    zero = p + 2 * m
    o = {v: k for k, v in enumerate(rep.ov)}
    l_ = {v: k for k, v in enumerate(rep.lv)}

    def disturbance(v: str) -> int:
        return p + l_[v] if v in l_ else o[v]

    n = len(candidates)
    u_idx, w_idx, mu_idx = np.full(n, zero), np.full(n, zero), np.full(n, zero)
    w_scale, mu_scale = np.ones(n), np.zeros(n)
    for k, (lhs, op, rhs) in enumerate(candidates[["lhs", "op", "rhs"]].itertuples(index=False)):
        if op == "=~":  # loading of rhs on factor lhs
            u_idx[k], w_idx[k] = o[rhs], p + m + l_[lhs]
            mu_idx[k], mu_scale[k] = o[rhs], latent_mean[l_[lhs]]
        elif op == "~" and rhs in o:  # regression of lhs on an observed variable: w = Cov(y, rhs)
            u_idx[k], w_idx[k] = p + l_[lhs], p + 2 * m + 1 + o[rhs]
            mu_idx[k], mu_scale[k] = p + l_[lhs], mu[o[rhs]]
        elif op == "~":  # regression of lhs on a latent variable
            u_idx[k], w_idx[k] = p + l_[lhs], p + m + l_[rhs]
            mu_idx[k], mu_scale[k] = p + l_[lhs], latent_mean[l_[rhs]]
        elif op == "~~":
            u_idx[k], w_idx[k] = disturbance(lhs), disturbance(rhs)
            w_scale[k] = 0.5 if lhs == rhs else 1.0
        else:  # "~1"
            mu_idx[k], mu_scale[k] = disturbance(lhs), 1.0
    u = bank[:, u_idx].T
    w = bank[:, w_idx].T * w_scale[:, None]
    dmu = bank[:, mu_idx].T * mu_scale[:, None]
    return u, w, dmu


__all__ = ["full_candidates", "modification_indices"]
