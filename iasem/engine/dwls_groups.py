"""lavaan's ``estimator = "WLSMV"`` with several groups (``group =``, ``group.equal =``): measurement invariance of
ordered (Likert) indicators across groups.

Each group g has its own sample statistics s_g (thresholds and polychoric correlations, :mod:`.ordinal`), its
own Gamma_g (N_g times their asymptotic covariance) and DWLS weights W_g = diag(Gamma_g)^-1, and its own rows
of the parameter table; equality constraints across groups (``group.equal`` or shared labels) map rows of
different groups onto the same element of x. In lavaan's default "delta" parameterization the implied
statistics of group g are (see :func:`.dwls.jacobian` for the derivatives)

    tau*_k = (tau_k - mu_i) delta_i,        rho_ij = delta_i delta_j Sigma*_ij,
    Theta_ii = 1 / delta_i^2 - diag(Lambda (I - B)^-1 Psi (I - B)^-T Lambda')_ii,

with scale factors delta fixed at 1 and latent means at 0 in the first group; with equal thresholds lavaan
frees the deltas and the latent means of the later groups (Millsap & Yun-Tein, 2004).

lavaan 0.6.14 conventions (``lav_model_objective``, ``lav_model_test``, ``lav_model_vcov``,
``lav_model_nvcov_robust_sem``, ``lav_test_satorra_bentler``, ``lav_fit_catml_dwls``), reproduced here, with
N = sum_g N_g, G groups and f_g = N_g / N:

- The discrepancy weights the groups by N_g - 1, not N_g: F_g = (s_g - sigma_g)' W_g (s_g - sigma_g) and

      fmin = sum_g (N_g - 1) / N * F_g / 2,      chisq = 2 N fmin = sum_g (N_g - 1) F_g,

  so the estimates themselves depend on this convention; df = sum_g len(s_g) - npar.
- The information is weighted by f_g: E = sum_g f_g D_g' W_g D_g; standard errors divide by N - G:
  vcov = E^-1 / (N - G) (``se = "standard"``) and, lavaan's ``robust.sem``,

      vcov = E^-1 (sum_g f_g D_g' W_g Gamma_g W_g D_g) E^-1 / (N - G).

- The scaled-shifted test stacks the groups: V = blockdiag(f_g W_g), Gamma = blockdiag(Gamma_g / f_g),
  D = the D_g stacked, U = V - V D E^-1 D' V; a = sqrt(df / tr((U Gamma)^2)), chisq.scaled = a chisq + df -
  a tr(U Gamma), ``chisq.scaling.factor`` = 1 / a.
- The baseline model has free thresholds and zero correlations in every group (no equality constraints);
  its tests are computed the same way.
- RMSEA (standard, scaled, robust) with N - G and the factor sqrt(G) of lavaan's multi-group RMSEA.
- SRMR = sum_g f_g SRMR_g over the correlations (lavaan's ``srmr_bentler_nomean``).
- The ``.robust`` indices follow :mod:`.dwls` group by group, weighted as in ``lav_fit_catml_dwls``:
  XX3 = sum_g N_g F_ML(R_g, Sigma_g), XX3_0 = -sum_g N_g log|R_g|, c.hat3 = tr(U3' V3 U3 Gamma_r) / df with
  W_r = blockdiag(f_g W_g,r), V3 = blockdiag(f_g V_g), Gamma_r = blockdiag(Gamma_g,r / f_g) on the
  correlation parts and U3 = I - D_r E^-1 D_r' W_r; c.hat3_0 = tr(Gamma_r) / df_0. lavaan computes them by
  refitting the model without its threshold and intercept rows; when an equality constraint refers to such a
  row (equal thresholds) that refit fails and lavaan 0.6.14 reports NA, as here (NaN).

References
----------
Millsap, R. E., & Yun-Tein, J. (2004). Assessing factorial invariance in ordered-categorical measures.
Multivariate Behavioral Research, 39(3), 479-515.

Wu, H., & Estabrook, R. (2016). Identification of confirmatory factor analysis models of different levels of
invariance for ordered categorical outcomes. Psychometrika, 81(4), 1014-1045.

Asparouhov, T., & Muthén, B. (2010). Simple second order chi-square correction. Mplus technical appendix.

Savalei, V. (2021). Improving fit indices in structural equation modeling with categorical data. Multivariate
Behavioral Research, 56(3), 390-407.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.linalg import block_diag

from .. import fit_measures as fm
from ..errors import IasemError
from . import dwls, ordinal
from .estimate import MLState, Optimum, Parameters, minimise, start_values
from .multigroup import MultiState, first_group_values, group_labels, weighted_groups
from .ordinal import OrdinalStats

# Matrices of the rows lavaan's catML refit drops (thresholds, intercepts and latent means).
_DROPPED_BY_CATML = ("tau", "nu", "alpha")


def split_groups(data: pd.DataFrame, group: str, names: Sequence[str]) -> tuple[list[str], list[OrdinalStats]]:
    """Thresholds, polychoric correlations and Gamma of every group, groups in order of first appearance (as
    lavaan orders them); rows with a missing group are dropped, and each group's incomplete rows.

    The categories of each variable are those of all rows (lavaan's variable table): a group in which one is
    empty is refused, with lavaan's frequencies.
    """
    names = list(names)
    labels = group_labels(data, group)
    column = data[group]
    overall = ordinal.ordinal_data(data[column.notna()], names)
    out = []
    for g, label in enumerate(labels, start=1):
        part = data[column == label]
        od = ordinal.ordinal_data(part, names)
        for i, name in enumerate(names):
            if od.levels[i] != overall.levels[i]:
                complete = part[names].dropna()
                freq = [int((complete[name] == level).sum()) for level in overall.levels[i]]
                raise IasemError(f"some categories of ordered variable {name} are empty in group {g} ({label}); "
                                 f"frequencies are [{' '.join(map(str, freq))}]")  # fmt: skip
        out.append(ordinal.ordinal_stats(part, names))
    return [str(label) for label in labels], out


def group_start_values(params: list[Parameters], stats: list[OrdinalStats]) -> np.ndarray:
    """lavaan-like starts: each group's simple starts (:func:`.estimate.start_values`), thresholds at the
    group's sample thresholds, scale factors at 1; a parameter shared by several groups starts from the first
    group that has it."""
    values = []
    for p, s in zip(params, stats, strict=True):
        xg = start_values(p, s)  # type: ignore[arg-type]
        matrix = p.rep.rows["matrix"].to_numpy()
        row_i = p.rep.rows["i"].to_numpy()
        free = p.index >= 0
        tau = free & (matrix == "tau")
        xg[p.index[tau]] = s.thresholds[row_i[tau]]
        xg[p.index[free & (matrix == "delta")]] = 1.0
        values.append(xg)
    return first_group_values(params, values)


def evaluator(stats: list[OrdinalStats], ordered: list[np.ndarray]):
    """``evaluate(params, stats, x, derivs=...)`` for :func:`.estimate.minimise`: fmin = sum_g (N_g - 1) / N
    F_g / 2 (lavaan's), its gradient and the Gauss-Newton matrix, weighted the same way."""
    n = sum(s.n for s in stats)
    weights = [(s.n - 1) / n for s in stats]
    group_eval = [dwls.evaluator(s, mask) for s, mask in zip(stats, ordered, strict=True)]

    def evaluate(params: list[Parameters], _stats, x: np.ndarray, *, derivs: bool = True) -> MultiState | None:
        states = (ev(p, None, x, derivs=derivs) for ev, p in zip(group_eval, params, strict=True))
        return weighted_groups(x, states, weights, derivs=derivs)

    return evaluate


def fit(params: list[Parameters], stats: list[OrdinalStats], x0: np.ndarray, ordered: list[np.ndarray]) -> Optimum:
    """Minimise the multi-group DWLS discrepancy from ``x0``."""
    return minimise(params, stats, x0, evaluator=evaluator(stats, ordered))  # type: ignore[arg-type]


def jacobians(params: list[Parameters], states: list[MLState], stats: list[OrdinalStats]) -> list[np.ndarray]:
    """D_g = d sigma_g / d x of every group, (len(s_g), n_free)."""
    return [dwls.jacobian(p, st.mats, s) for p, st, s in zip(params, states, stats, strict=True)]


def _fractions(stats: list[OrdinalStats]) -> np.ndarray:
    n = sum(s.n for s in stats)
    return np.array([s.n / n for s in stats])


def information(ds: list[np.ndarray], stats: list[OrdinalStats]) -> np.ndarray:
    """lavaan's expected information of DWLS: E = sum_g f_g D_g' W_g D_g, f_g = N_g / N."""
    return sum(f * d.T @ (s.weights[:, None] * d) for f, d, s in zip(_fractions(stats), ds, stats, strict=True))  # type: ignore[return-value]


def robust_vcov(ds: list[np.ndarray], stats: list[OrdinalStats]) -> np.ndarray:
    """lavaan's ``robust.sem``: E^-1 (sum_g f_g D_g' W_g Gamma_g W_g D_g) E^-1 / (N - G)."""
    bread = np.linalg.inv(information(ds, stats))
    meat = sum(f * (s.weights[:, None] * d).T @ s.gamma @ (s.weights[:, None] * d)
               for f, d, s in zip(_fractions(stats), ds, stats, strict=True))  # fmt: skip
    n = sum(s.n for s in stats)
    return bread @ meat @ bread / (n - len(stats))


def scaled_shifted(chisq: float, df: float, ds: list[np.ndarray], stats: list[OrdinalStats]) -> dict[str, float]:
    """The mean-and-variance adjusted statistic over groups (``lav_test_satorra_bentler_trace_original``):
    U = V - V D E^-1 D' V with V = blockdiag(f_g W_g), UG = U blockdiag(Gamma_g / f_g),
    a = sqrt(df / tr(UG^2)), chisq.scaled = a chisq + df - a tr(UG)."""
    f = _fractions(stats)
    v = np.concatenate([fg * s.weights for fg, s in zip(f, stats, strict=True)])
    d = np.vstack(ds)
    vd = v[:, None] * d
    e = d.T @ vd
    u = np.diag(v) - vd @ np.linalg.solve(e, vd.T)
    ug = u @ block_diag(*[s.gamma / fg for fg, s in zip(f, stats, strict=True)])
    tr1, tr2 = float(np.trace(ug)), float(np.sum(ug * ug.T))
    a = np.sqrt(df / tr2)
    shift = df - a * tr1
    return {"chisq.scaled": a * chisq + shift, "scaling.factor": 1.0 / a, "shift": shift}


def _baseline(stats: list[OrdinalStats]) -> tuple[float, float, dict[str, float]]:
    """The independence model of every group (free thresholds, fitted exactly; zero correlations): its
    chisq = sum_g (N_g - 1) r_g' W_g r_g, df = G p(p-1)/2 and scaled-shifted test."""
    chisq, df, ds = 0.0, 0.0, []
    n_th_all = sum(len(s.thresholds) for s in stats)
    offset = 0
    for s in stats:
        n_th = len(s.thresholds)
        r = s.s[n_th:]
        chisq += (s.n - 1) * float(r @ (s.weights[n_th:] * r))
        df += len(r)
        d = np.zeros((len(s.s), n_th_all))
        d[np.arange(n_th), offset + np.arange(n_th)] = 1.0
        ds.append(d)
        offset += n_th
    return chisq, df, scaled_shifted(chisq, df, ds, stats)


def _catml_available(params: list[Parameters]) -> bool:
    """False when lavaan's catML refit fails: an equality constraint (a parameter shared by several rows)
    involves a threshold, intercept or latent-mean row, which that refit drops."""
    uses = np.zeros(params[0].n_free, dtype=int)
    dropped = np.zeros(params[0].n_free, dtype=bool)
    for p in params:
        free = p.index >= 0
        np.add.at(uses, p.index[free], 1)
        drop = free & p.rep.rows["matrix"].isin(_DROPPED_BY_CATML).to_numpy()
        dropped[p.index[drop]] = True
    return not bool((dropped & (uses > 1)).any())


def _catml_df(params: list[Parameters], stats: list[OrdinalStats]) -> float:
    """The catML model's df: the correlations of all groups minus the parameters left without the threshold,
    intercept and latent-mean rows."""
    kept = np.zeros(params[0].n_free, dtype=bool)
    for p in params:
        keep = (p.index >= 0) & ~p.rep.rows["matrix"].isin(_DROPPED_BY_CATML).to_numpy()
        kept[p.index[keep]] = True
    return float(sum(s.p * (s.p - 1) / 2 for s in stats) - kept.sum())


def _catml(states: list[MLState], ds: list[np.ndarray], stats: list[OrdinalStats],
           df3: float) -> tuple[float, float, float, float]:  # fmt: skip
    """Savalei's catML statistics over groups (``lav_fit_catml_dwls``): (XX3, c.hat3, XX3_0, c.hat3_0)."""
    f = _fractions(stats)
    xx3 = xx3_0 = 0.0
    w_r, v3, gamma_r, d_r = [], [], [], []
    for fg, state, d, s in zip(f, states, ds, stats, strict=True):
        r, sigma = s.cor, state.sigma
        _, logdet_r = np.linalg.slogdet(r)
        _, logdet_s = np.linalg.slogdet(sigma)
        sigma_inv = np.linalg.inv(sigma)
        xx3 += s.n * (logdet_s + np.trace(r @ sigma_inv) - logdet_r - s.p)
        xx3_0 -= s.n * logdet_r
        rows, cols = s.pairs
        n_th = len(s.thresholds)
        # The ML weight of the correlations at Sigma_g: element (ij, kl) = s^ik s^jl + s^il s^jk.
        v = sigma_inv[rows][:, rows] * sigma_inv[cols][:, cols] + sigma_inv[rows][:, cols] * sigma_inv[cols][:, rows]
        v3.append(fg * v)
        w_r.append(fg * s.weights[n_th:])
        gamma_r.append(s.gamma[n_th:, n_th:] / fg)
        d_r.append(d[n_th:])
    e_inv = np.linalg.inv(information(ds, stats))
    d_all = np.vstack(d_r)
    w_all = np.concatenate(w_r)
    g_all = block_diag(*gamma_r)
    u3 = np.eye(len(w_all)) - d_all @ e_inv @ d_all.T * w_all[None, :]
    c_hat3 = float(np.trace(u3.T @ block_diag(*v3) @ u3 @ g_all)) / df3
    df3_0 = float(sum(s.p * (s.p - 1) / 2 for s in stats))
    return float(xx3), c_hat3, float(xx3_0), float(np.trace(g_all)) / df3_0


def fit_measures(states: list[MLState], params: list[Parameters], stats: list[OrdinalStats]) -> dict[str, float]:
    """lavaan's fit measures of a multi-group WLSMV fit (see the module docstring for the conventions)."""
    n, n_groups = sum(s.n for s in stats), len(stats)
    npar = params[0].n_free
    df = float(sum(len(s.s) for s in stats) - npar)
    ds = jacobians(params, states, stats)
    f = _fractions(stats)
    # Each group's state has fmin_g = F_g / 2.
    chisq = float(sum(2.0 * (s.n - 1) * st.fmin for st, s in zip(states, stats, strict=True)))
    model = scaled_shifted(chisq, df, ds, stats)
    b_chisq, b_df, baseline = _baseline(stats)
    n_rmsea = n - n_groups
    measures = dwls.standard_and_scaled_measures(
        fmin=chisq / (2.0 * n_rmsea),
        chisq=chisq,
        n=n,
        n_rmsea=n_rmsea,
        df=df,
        npar=npar,
        model=model,
        baseline=baseline,
        baseline_chisq=b_chisq,
        baseline_df=b_df,
        srmr=float(sum(fg * fm.srmr(s.cor, st.sigma) for fg, s, st in zip(f, stats, states, strict=True))),
        n_groups=n_groups,
    )
    measures.update(_robust_indices(states, params, stats, ds, df, b_df, n_rmsea))
    return {name: float(value) for name, value in measures.items()}


def _robust_indices(states, params, stats, ds, df: float, b_df: float, n_rmsea: int) -> dict[str, float]:
    """cfi.robust, tli.robust and rmsea.robust (Savalei, 2021), or NaN where lavaan 0.6.14 has NA: when its
    catML refit fails, or when a polychoric matrix is not positive definite (its ``check.pd``)."""
    missing = {"cfi.robust": np.nan, "tli.robust": np.nan, "rmsea.robust": np.nan}
    pd_ok = all(np.linalg.eigvalsh(s.cor).min() >= np.sqrt(np.finfo(float).eps) for s in stats)
    if not (_catml_available(params) and pd_ok):
        return missing
    df3 = _catml_df(params, stats)
    xx3, c3, xx3_0, c3_0 = _catml(states, ds, stats, df3)
    return {
        **dwls.robust_cfi_tli(xx3, c3, xx3_0, c3_0, df, b_df),
        "rmsea.robust": float(np.sqrt(max(0.0, (xx3 / n_rmsea) / df3 - c3 / n_rmsea)) * np.sqrt(len(stats))),
    }
