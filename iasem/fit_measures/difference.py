r"""The chi-square difference test of two nested models, as lavaan's ``lavTestLRT`` (lavaan 0.6.14).

lavaan's default ``method`` depends on the models' test. Model 0 is the restricted one (more degrees of freedom
df_0), model 1 the less restricted one (df_1), T the *unscaled* chi-squares, m = df_0 - df_1.

**No scaled test (ML):** the plain difference T_0 - T_1 on m degrees of freedom, with lavaan's RMSEA of the
difference, sqrt(max(T_d / (N m) - 1 / N, 0)) sqrt(G).

**Satorra-Bentler, Yuan-Bentler or Yuan-Bentler (Mplus) scaled test (MLR):** ``method =
"satorra.bentler.2001"``, the scaled difference of Satorra & Bentler (2001) from the models' scaling factors c:

.. math::

    c_d = \frac{df_0\, c_0 - df_1\, c_1}{df_0 - df_1}, \qquad
    T_d = \frac{T_0 - T_1}{c_d}, \qquad df_d = m, \qquad p = 1 - F_{\chi^2_{m}}(T_d)

a saturated less restricted model (df_1 = 0) having c_1 = 1; a negative c_d gives NaN (lavaan warns "scaling
factor is negative").

**Scaled-shifted test (WLSMV):** ``method = "satorra.2000"`` with ``scaled.shifted = TRUE``
(``lav_test_diff_Satorra2000``): Satorra's (2000) test of the constraints that turn model 1 into model 0, with
the mean-and-variance (scaled and shifted) correction of Asparouhov & Muthén (2006, 2010). Everything is
evaluated at model 1's estimates, with its groups' sample statistics (thresholds and polychoric correlations),
Gamma_g (N_g times their asymptotic covariance), DWLS weights W_g = diag(Gamma_g)^-1 and f_g = N_g / N:

- Delta_1 = d sigma / d theta_1' (the groups' Jacobians stacked) at model 1's estimates and Delta_0 = d sigma /
  d theta_0' at *model 0's* estimates; H = Delta_1^+ Delta_0, the delta method's map from model 0's parameters
  to model 1's, and A (m_A x q_1) a basis of the orthogonal complement of the columns of H, so that the
  constraints are A theta_1 = 0 (``lav_test_diff_A``, ``A.method = "delta"``; m_A = m for nested models);
- P = sum_g f_g Delta_1g' W_g Delta_1g, model 1's expected information, and

  .. math::

      Q = P^{-1} A' (A P^{-1} A')^{+} A P^{-1}, \qquad
      U = V \Delta_1 Q \Delta_1' V, \qquad V = \mathrm{blockdiag}(W_g), \quad
      \Gamma_f = \mathrm{blockdiag}(f_g \Gamma_g);

- with t_1 = tr(U Gamma_f), t_2 = tr((U Gamma_f)^2):

  .. math::

      a = \sqrt{m / t_2}, \qquad b = m - a\, t_1, \qquad T_d = a (T_0 - T_1) + b, \qquad df_d = m,
      \qquad p = 1 - F_{\chi^2_{m}}(T_d).

lavaan reports a and b as the attributes ``scale`` and ``shift`` of the table; here they are
``scaling.factor.diff`` = 1 / a (the divisor, as lavaan's ``chisq.scaling.factor`` of one model) and
``shift.diff`` = b.

lavaan computes this in its full parameter space, an equality constraint being a pair of parameters tied by the
orthonormal basis K of its null space (``eq.constraints.K``, K'K = I) and P^-1 the augmented inverse of the
information; iasem's parameter vector is the reduced one (a parameter shared by several rows is one element).
The two give the same statistic: Q depends on A only through its null space, the column space of H, and that
space maps one-to-one between the two parameter bases. lavaan drops rows of A that vanish in A P^-1 A' (they
arise in the full space); in the reduced space P is positive definite and there are none. The rank of H is read
from its singular values (relative tolerance 1e-7, R's ``qr`` default).

Equal degrees of freedom give T_0 - T_1 and no p-value, as lavaan.

References
----------
Asparouhov, T., & Muthén, B. (2006). Robust chi square difference testing with mean and variance adjusted test
statistics. Mplus Web Notes, No. 10.

Asparouhov, T., & Muthén, B. (2010). Simple second order chi-square correction. Mplus technical appendix.

Satorra, A. (2000). Scaled and adjusted restricted tests in multi-sample analysis of moment structures. In R. D.
H. Heijmans, D. S. G. Pollock, & A. Satorra (Eds.), *Innovations in multivariate statistical analysis* (pp.
233-247). Kluwer.

Satorra, A., & Bentler, P. M. (2001). A scaled difference chi-square test statistic for moment structure
analysis. *Psychometrika*, 66(4), 507-514.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import linalg, stats

from ..errors import IasemError
from .rmsea import rmsea

__all__ = ["satorra_2000", "satorra_2000_test", "scaled_difference_test"]

# R's qr() tolerance, with which lavaan's lav_matrix_orthogonal_complement reads the rank of H.
_RANK_TOL = 1e-7


def _measures(fit: Any) -> tuple[Mapping[str, float], str, int]:
    """A fit's measures, estimator and number of groups, from an :class:`~iasem.results.SEMResult`."""
    measures = getattr(fit, "fit_measures", None)
    if measures is None:
        raise IasemError("scaled_difference_test compares two results of iasem.fit")
    engine = getattr(fit, "engine", None)
    n_groups = len(engine.stats) if engine is not None and getattr(engine, "stats", None) else 1
    return measures, str(getattr(fit, "estimator", "")), n_groups


def scaled_difference_test(fit0: Any, fit1: Any) -> dict[str, float]:
    """The chi-square difference test of two nested fits, in either order, as lavaan's ``lavTestLRT`` with its
    default method.

    Parameters
    ----------
    fit0, fit1 : SEMResult
        Two fits of nested models to the same data with the same estimator (for example two steps of a
        measurement-invariance analysis). The one with more degrees of freedom is taken as the restricted
        model, as ``lavTestLRT`` orders them.

    Returns
    -------
    dict
        ``chisq.diff`` (lavaan's "Chisq diff"), ``df.diff`` ("Df diff"), ``pvalue.diff`` ("Pr(>Chisq)"),
        ``scaling.factor.diff`` (c_d of Satorra-Bentler 2001, or 1 / a of the scaled-shifted test; NaN for the
        plain test), ``shift.diff`` (b of the scaled-shifted test, else NaN) and ``rmsea.diff`` (lavaan's
        "RMSEA" column of the plain test; NaN for the scaled ones). The method is lavaan's default: the plain
        difference when neither fit has a scaled test (ML), "satorra.bentler.2001" for MLR and "satorra.2000"
        with the scaled-shifted correction for WLSMV (:func:`satorra_2000_test`).

    Raises
    ------
    IasemError
        When the two fits use different estimators or only one of them has a scaled test, and for WLSMV fits as
        :func:`satorra_2000_test`.

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> model = "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9"
    >>> configural = iasem.fit(model, data, group="school", estimator="MLR")
    >>> metric = iasem.fit(model, data, group="school", group_equal=("loadings",), estimator="MLR")
    >>> test = scaled_difference_test(metric, configural)
    >>> round(test["chisq.diff"], 3), test["df.diff"], round(test["pvalue.diff"], 3)
    (6.567, 6.0, 0.363)
    """
    m_a, est_a, groups_a = _measures(fit0)
    m_b, est_b, groups_b = _measures(fit1)
    if est_a != est_b:
        raise IasemError(f"the two fits use different estimators ({est_a} and {est_b})")
    if est_a == "WLSMV":
        return satorra_2000_test(fit0, fit1)
    restricted, free = (m_a, m_b) if m_a["df"] >= m_b["df"] else (m_b, m_a)
    t0, df0, t1, df1 = restricted["chisq"], restricted["df"], free["chisq"], free["df"]
    scaled = ["chisq.scaling.factor" in m for m in (restricted, free)]
    if scaled[0] != scaled[1] and not (scaled[0] and df1 == 0):
        raise IasemError("only one of the two fits has a scaled test statistic; compare fits of one estimator")
    m = df0 - df1
    if not scaled[0]:
        chisq = t0 - t1
        n = restricted["ntotal"]
        rmsea_diff = rmsea(chisq, m, n, max(groups_a, groups_b)) if m > 0 else math.nan
        return _result(chisq, m, math.nan, rmsea_diff)
    if m == 0:
        return _result(t0 - t1, m, math.nan, math.nan)
    c0 = restricted["chisq.scaling.factor"]
    c1 = 1.0 if df1 == 0 else free["chisq.scaling.factor"]
    cd = (df0 * c0 - df1 * c1) / m
    if cd < 0:
        cd = math.nan
    return _result((t0 - t1) / cd, m, cd, math.nan)


def satorra_2000_test(fit0: Any, fit1: Any) -> dict[str, float]:
    """lavaan's ``lavTestLRT`` of two nested WLSMV fits, in either order: ``method = "satorra.2000"`` with
    ``scaled.shifted = TRUE``, its default for the scaled-shifted test (see the module docstring).

    Parameters
    ----------
    fit0, fit1 : SEMResult
        Two WLSMV fits (``iasem.fit(..., ordered=...)``, one group or several) of nested models to the same data;
        the one with more degrees of freedom is the restricted one. The models need not be nested by equality
        constraints: fixing parameters or dropping factors works too, as the constraints are read from the two
        models' Jacobians.

    Returns
    -------
    dict
        ``chisq.diff`` (T_d, lavaan's "Chisq diff"), ``df.diff`` (m), ``pvalue.diff``, ``scaling.factor.diff``
        (1 / a; lavaan's attribute ``scale`` is a), ``shift.diff`` (b, lavaan's ``shift``), ``rmsea.diff`` (NaN),
        ``trace.UGamma`` (t_1) and ``trace.UGamma2`` (t_2).

    Raises
    ------
    IasemError
        When a fit is not a WLSMV fit of iasem, when the two fits are not of the same data (groups, sizes,
        sample statistics), when the less restricted model's information is singular, or when the restricted
        model spans the whole parameter space of the other one (the models are not nested; lavaan gives NaN).

    Examples
    --------
    >>> import iasem, pandas as pd
    >>> data = pd.read_csv(iasem.resources.resource_path("data") / "holzinger_swineford_1939.csv")
    >>> cut = [0, 0.15, 0.4, 0.65, 0.85, 1]  # five categories, as tests/fixtures/lavaan/hs39_ordinal5.csv
    >>> data = data.assign(**{f"x{i}": pd.qcut(data[f"x{i}"], cut, labels=False) for i in range(1, 10)})
    >>> model = "visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6\\nspeed =~ x7 + x8 + x9"
    >>> configural = iasem.fit(model, data, ordered=True, group="school")
    >>> equal = iasem.fit(model, data, ordered=True, group="school", group_equal=("thresholds",))
    >>> test = satorra_2000_test(configural, equal)
    >>> round(test["chisq.diff"], 3), test["df.diff"], round(1 / test["scaling.factor.diff"], 4)
    (91.989, 24.0, 1.3517)
    """
    fits = [fit0, fit1]
    for f in fits:
        _, estimator, _ = _measures(f)
        if estimator != "WLSMV" or getattr(f, "engine", None) is None:
            raise IasemError("satorra_2000_test compares two WLSMV results of iasem.fit")
    restricted, free = sorted(fits, key=lambda f: f.fit_measures["df"], reverse=True)
    d1, weights, gammas, nobs, s1 = _dwls_parts(free)
    d0, _, _, nobs0, s0 = _dwls_parts(restricted)
    same = nobs == nobs0 and all(np.array_equal(a, b) for a, b in zip(s1, s0, strict=True))
    if not same:
        raise IasemError("the two fits are not of the same data (groups, their sizes or sample statistics differ)")
    return satorra_2000(restricted.fit_measures["chisq"], restricted.fit_measures["df"], free.fit_measures["chisq"],
                        free.fit_measures["df"], d1, d0, weights, gammas, nobs)  # fmt: skip


def _dwls_parts(fit: Any) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[int], list[np.ndarray]]:
    """Per group of a WLSMV fit: Delta_g at its estimates, W_g (diagonal), Gamma_g, N_g and s_g."""
    from ..engine import dwls  # the engine's Jacobian; imported here, these modules are otherwise engine-free

    engine = fit.engine
    groups = engine.stats
    deltas = [dwls.jacobian(p, st.mats, s) for p, st, s in zip(engine.params, engine.states, groups, strict=True)]
    weights, gammas = [s.weights for s in groups], [s.gamma for s in groups]
    return deltas, weights, gammas, [int(s.n) for s in groups], [s.s for s in groups]


def satorra_2000(t0: float, df0: float, t1: float, df1: float, delta1: Sequence[np.ndarray],
                 delta0: Sequence[np.ndarray], weights: Sequence[np.ndarray], gamma: Sequence[np.ndarray],
                 nobs: Sequence[int]) -> dict[str, float]:  # fmt: skip
    """Satorra's (2000) scaled-shifted difference test from the two models' Jacobians (the module docstring's
    formulas; lavaan's ``lav_test_diff_Satorra2000`` with ``scaled.shifted = TRUE``, ``A.method = "delta"``).

    Parameters
    ----------
    t0, df0 : float
        The restricted model's (unscaled) chi-square and degrees of freedom.
    t1, df1 : float
        The less restricted model's.
    delta1 : sequence of ndarray
        Per group, d sigma_g / d theta_1' at the less restricted model's estimates, (len(s_g), q_1).
    delta0 : sequence of ndarray
        Per group, d sigma_g / d theta_0' at the restricted model's estimates, (len(s_g), q_0).
    weights : sequence of ndarray
        Per group, the diagonal of the DWLS weight matrix W_g.
    gamma : sequence of ndarray
        Per group, Gamma_g (N_g times the asymptotic covariance of s_g).
    nobs : sequence of int
        Per group, N_g.

    Returns
    -------
    dict
        ``chisq.diff``, ``df.diff``, ``pvalue.diff``, ``scaling.factor.diff`` (1 / a), ``shift.diff`` (b),
        ``rmsea.diff`` (NaN), ``trace.UGamma``, ``trace.UGamma2``.
    """
    m = df0 - df1
    if m == 0:
        return {**_result(t0 - t1, m, math.nan, math.nan), "trace.UGamma": math.nan, "trace.UGamma2": math.nan}
    d1, d0 = np.vstack(delta1), np.vstack(delta0)
    fractions = np.asarray(nobs, dtype=float) / float(sum(nobs))
    v = np.concatenate([np.asarray(w, dtype=float) for w in weights])
    # A: the constraints A theta_1 = 0, orthogonal to the columns of H = Delta_1^+ Delta_0.
    h = np.linalg.pinv(d1) @ d0
    u_h, sv, _ = np.linalg.svd(h, full_matrices=True)
    rank = int(np.sum(sv > _RANK_TOL * sv[0])) if sv.size and sv[0] > 0 else 0
    a_mat = u_h[:, rank:].T
    if a_mat.shape[0] == 0:
        raise IasemError("the restricted model spans the whole parameter space of the other one: the models are "
                         "not nested (lavaan's satorra.2000 gives NaN)")  # fmt: skip
    vd = v[:, None] * d1
    # P = sum_g f_g Delta_g' W_g Delta_g: the rows of group g weighted by f_g.
    row_f = np.concatenate([np.full(len(w), fg) for fg, w in zip(fractions, weights, strict=True)])
    info = d1.T @ (row_f[:, None] * vd)
    try:
        p_inv = np.linalg.inv(info)
    except np.linalg.LinAlgError as err:
        raise IasemError("the information matrix of the less restricted model is singular: it may not be "
                         "identified") from err  # fmt: skip
    pa = p_inv @ a_mat.T
    q = pa @ np.linalg.pinv(a_mat @ pa) @ pa.T
    u = vd @ q @ vd.T
    ug = u @ linalg.block_diag(*[fg * np.asarray(g, dtype=float) for fg, g in zip(fractions, gamma, strict=True)])
    tr1 = float(np.trace(ug))
    tr2 = float(np.sum(ug * ug.T))
    a = math.sqrt(m / tr2)
    b = m - a * tr1
    out = _result((t0 - t1) * a + b, m, 1.0 / a, math.nan, shift=b)
    return {**out, "trace.UGamma": tr1, "trace.UGamma2": tr2}


def _result(chisq: float, df: float, scaling: float, rmsea_diff: float, shift: float = math.nan) -> dict[str, float]:
    # lavaan: pchisq(T_d, df_d, lower.tail = FALSE), so no underflow to 0 at tiny p-values
    pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 and math.isfinite(chisq) else math.nan
    return {
        "chisq.diff": float(chisq),
        "df.diff": float(df),
        "pvalue.diff": float(pvalue),
        "scaling.factor.diff": float(scaling),
        "shift.diff": float(shift),
        "rmsea.diff": float(rmsea_diff),
    }
