"""Monte Carlo replicates: draw a sample from the population (:class:`iasem.simulation.Design`), refit the
analysis model, keep every reported parameter's estimate and standard error.

Two paths give the same numbers as :func:`iasem.fit` on each replicate's data:

- **batched** (ML, GLS or ULS on complete, single-group data treated as continuous): all replicates' sample
  covariance matrices are refitted at once by :func:`iasem.engine.batched.minimise` (Fisher scoring with
  rank-two derivatives), warm-started from the population values, with the convergence rules of a single fit;
  the standard errors come from each replicate's expected information at its estimate, (n I_b)^-1 (n - 1 for
  GLS and ULS, as :func:`iasem.fit`), and those of ``:=`` parameters by the delta method;
- **per replicate** (WLSMV on ordered items, MLR, FIML, groups): one :func:`iasem.fit` per replicate.

Replicate r at sample size n draws from its own generator, ``SeedSequence(entropy, spawn_key=(n, r))``, so its
data do not depend on which worker, chunk or backend runs it: local and Dask runs agree number for number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import IasemError
from ..simulation import Design
from ..syntax import parse_model, partable, variable_roles
from ..syntax.parser import Formula
from . import batched, ls
from .defined import evaluate_array
from .estimate import parameters, start_values
from .lisrel import MODEL_OPERATORS, represent
from .ordinal import bivariate_normal_cdf
from .sample_stats import SampleStats

BATCH_ESTIMATORS = batched.ESTIMATORS
# Replicates start at the population values, close to their optimum: the chord method with an information
# matrix refreshed every few iterations (batched.minimise) reaches it in about the same number of iterations
# as Fisher scoring at a third of the cost (relational model, n = 200: 9.6 vs 8.7 iterations on average).
REFRESH = 3


@dataclass(frozen=True)
class Analysis:
    """The analysis model of a Monte Carlo study and the population values of what it reports.

    Attributes
    ----------
    text : str
        The analysis model's syntax (what each replicate fits).
    estimator : str
        Its estimator; ``ordered`` whether the items are fitted as ordered (WLSMV).
    rows : DataFrame
        The reported parameters (``lhs, op, rhs, label``): the free rows, then the ``:=`` rows.
    truth : numpy.ndarray
        Their population values: the analysis model fitted to the population moments (so a marker-scaled
        loading's truth is the ratio of loadings, and a misspecified model's truth its pseudo-true value).
    """

    text: str
    estimator: str
    ordered: bool
    rows: pd.DataFrame
    truth: np.ndarray
    batch: _BatchModel | None


@dataclass(frozen=True)
class _BatchModel:
    """What the batched path needs: the parameter mapping, the start, and where the reported rows live."""

    params: object  # estimate.Parameters
    x0: np.ndarray
    free_columns: np.ndarray  # x position of each reported free row
    defined: list[tuple[str, str]]  # (name, expression) of the := rows, in order
    label_columns: dict[str, int]  # label -> x position (free labelled rows)
    label_fixed: dict[str, float]  # label -> value (fixed labelled rows)
    fixed_x: bool
    names: list[str]


@dataclass(frozen=True)
class Replicates:
    """Estimates and standard errors of the reported parameters, one row per replicate (NaN where a replicate
    did not converge)."""

    est: np.ndarray
    se: np.ndarray
    converged: np.ndarray


def free_syntax(text: str) -> str:
    """The model with its fixed values freed: the numbers of a population model (``0.7*x``) are values to
    recover, not constraints. Labels, start values and ``NA*`` stay; ``:=`` and constraints are kept as written.

    >>> print(free_syntax("f =~ 0.8*x1 + a*x2 + 0.6*x3\\nab := a*2"))
    f =~ x1
    f =~ a*x2
    f =~ x3
    ab := a*2
    """
    return "\n".join(_render(f) for f in parse_model(text))


def _render(f: Formula) -> str:
    if f.op in (":=", "==", "<", ">"):
        return f"{f.lhs} {f.op} {f.rhs}"
    m = f.modifiers
    if max(len(m.fixed), len(m.label), len(m.start)) > 1:
        raise IasemError(f"{f.lhs} {f.op} {f.rhs}: group-specific modifiers (c(...)) cannot be simulated")
    pieces = [*m.label, *(f"start({v})" for v in m.start)]
    if m.fixed and m.fixed[0] is None:
        pieces.append("NA")
    prefix = "".join(f"{piece}*" for piece in pieces)
    if f.op == "~1":
        return f"{f.lhs} ~ {prefix}1"
    return f"{f.lhs} {f.op} {prefix}{f.rhs}"


def analysis_of(text: str, design: Design, estimator: str, *, ordered: bool) -> Analysis:
    """The :class:`Analysis` of ``text`` (analysis syntax) for data drawn from ``design``."""
    formulas = parse_model(text)
    roles = variable_roles(formulas)
    missing = [v for v in roles.ov if v not in design.names]
    if missing:
        raise IasemError(f"the analysis model uses {', '.join(missing)}, which the population model does not have")
    cov, mean = _population_moments(design, roles.ov, ordered)
    table = partable(formulas)
    rep = represent(table, roles.ov, meanstructure=False)
    stats = SampleStats(list(roles.ov), 100_000, cov, mean)
    params = parameters(rep, table, stats)
    # Population moments fit exactly (F = 0) when the analysis model is the population model.
    optimum = batched.minimise(params, cov[None], start_values(params, stats), tol=1e-12, gtol=1e-9, xtol=1e-9)
    if optimum.failed[0]:
        raise IasemError("the analysis model cannot be fitted to the population moments (is it identified?)")
    x_true = optimum.x[0]
    x_true[np.abs(x_true) < 1e-10] = 0.0  # a zero path fitted as 1e-17 is zero (its relative bias undefined)
    values = params.row_values(x_true)
    model_rows = rep.rows.iloc[: int(table["op"].isin(MODEL_OPERATORS).sum())]
    free = params.index[: len(model_rows)] >= 0
    labelled = {r.label: values[k] for k, r in enumerate(model_rows.itertuples()) if r.label}
    defined = [(r.lhs, r.rhs) for r in table[table["op"] == ":="].itertuples()]
    truth_defined = _defined_values(defined, {k: np.atleast_1d(v) for k, v in labelled.items()})[:, 0]
    if ordered:
        return _ordered_analysis(text, estimator, model_rows, free, values, design, defined, truth_defined)
    rows = model_rows.loc[free, ["lhs", "op", "rhs", "label"]]
    rows = pd.concat([rows, pd.DataFrame({"lhs": [d for d, _ in defined], "op": ":=",
                                          "rhs": [e for _, e in defined], "label": [d for d, _ in defined]})],
                     ignore_index=True)  # fmt: skip
    truth = np.concatenate([values[: len(model_rows)][free], truth_defined])
    batch = None
    if estimator in BATCH_ESTIMATORS and design.column is None and batched.supported(params, estimator):
        index = params.index[: len(model_rows)]
        labels = [(k, label) for k, label in enumerate(model_rows["label"]) if label]
        batch = _BatchModel(
            params=params,
            x0=x_true,
            free_columns=index[free],
            defined=defined,
            label_columns={label: index[k] for k, label in labels if index[k] >= 0},
            label_fixed={label: values[k] for k, label in labels if index[k] < 0},
            fixed_x=bool(roles.ov_x),
            names=list(roles.ov),
        )
    return Analysis(text, estimator, False, rows.reset_index(drop=True), truth, batch)


def _ordered_analysis(text, estimator, model_rows, free, values, design, defined, truth_defined) -> Analysis:
    """Reported rows of an ordered-items fit: the covariance-structure rows (their truth from the latent
    correlations), then every item's thresholds (the standard-unit thresholds of the design), then ``:=``."""
    rows = model_rows.loc[free, ["lhs", "op", "rhs", "label"]].reset_index(drop=True)
    truth = list(values[: len(model_rows)][free])
    keep = ~((rows["op"] == "~~") & rows["lhs"].isin(design.names) & (rows["lhs"] == rows["rhs"]))
    rows, truth = rows[keep.to_numpy()], list(np.asarray(truth)[keep.to_numpy()])
    items = [v for v in design.names if v in set(model_rows["rhs"]) | set(model_rows["lhs"])]
    thresholds = pd.DataFrame([{"lhs": v, "op": "|", "rhs": f"t{k + 1}", "label": ""}
                               for v in items for k in range(len(design.tau))])  # fmt: skip
    truth += [float(t) for _ in items for t in design.tau]
    defined_rows = pd.DataFrame({"lhs": [d for d, _ in defined], "op": ":=", "rhs": [e for _, e in defined],
                                 "label": [d for d, _ in defined]})  # fmt: skip
    out = pd.concat([rows, thresholds, defined_rows], ignore_index=True)
    return Analysis(text, estimator, True, out, np.concatenate([truth, truth_defined]), None)


def _population_moments(design: Design, names: list[str], ordered: bool) -> tuple[np.ndarray, np.ndarray]:
    """The moments the analysis model's truth is fitted to: the latent responses' (continuous data), their
    correlations (ordered items, the delta parameterization), or those of the categorized responses (Likert
    answers analysed as if continuous, computed exactly from bivariate normal probabilities)."""
    pick = [design.names.index(v) for v in names]
    mu, sigma, _ = design.moments[0]
    if len(design.moments) > 1:
        raise IasemError("power() simulates one group: give the population values of one group")
    mu, sigma = mu[pick], sigma[np.ix_(pick, pick)]
    if design.tau is None:
        return sigma, mu
    sd = np.sqrt(np.diag(sigma))
    if ordered:
        return sigma / np.outer(sd, sd), np.zeros(len(pick))
    return _categorized_moments(sigma / np.outer(sd, sd), design.tau, np.asarray(design.values, dtype=float))


def _categorized_moments(rho: np.ndarray, tau: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances of y_j = values[k] when tau_{k-1} < z_j <= tau_k, z standard bivariate normal with
    correlations ``rho``: E[y_i y_j] = sum_kl v_k v_l P(z_i in k, z_j in l)."""
    from scipy.stats import norm

    edges = np.concatenate([[-np.inf], tau, [np.inf]])
    prob = np.diff(norm.cdf(edges))
    mean_one = float(values @ prob)
    var_one = float(values**2 @ prob) - mean_one**2
    p = rho.shape[0]
    cov = np.eye(p) * var_one
    finite = np.clip(edges, -40.0, 40.0)
    h, k = np.meshgrid(finite, finite, indexing="ij")
    for i in range(p):
        for j in range(i):
            cdf = bivariate_normal_cdf(h.ravel(), k.ravel(), rho[i, j]).reshape(h.shape)
            cells = np.diff(np.diff(cdf, axis=0), axis=1)
            cov[i, j] = cov[j, i] = values @ cells @ values - mean_one**2
    return cov, np.full(p, mean_one)


def replicate_generator(entropy: int, n: int, r: int) -> np.random.Generator:
    """Replicate r's generator at sample size n: independent of chunks, workers and backends."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(int(n), int(r))))


def run(analysis: Analysis, design: Design, n: int, replicates: np.ndarray, entropy: int,
        tolerances: dict[str, float] | None = None) -> Replicates:  # fmt: skip
    """Estimates and standard errors of ``replicates`` (replicate numbers) at sample size ``n``.

    ``tolerances`` (``tol``, ``gtol``, ``xtol``) replace a single fit's convergence rules on the batched path.
    """
    replicates = np.asarray(replicates, dtype=int)
    if analysis.batch is not None:
        return _run_batched(analysis, design, n, replicates, entropy, tolerances or {})
    return _run_each(analysis, design, n, replicates, entropy)


def _run_each(analysis: Analysis, design: Design, n: int, replicates: np.ndarray, entropy: int) -> Replicates:
    from ..sem import fit

    m = len(analysis.rows)
    est, se = np.full((replicates.size, m), np.nan), np.full((replicates.size, m), np.nan)
    converged = np.zeros(replicates.size, dtype=bool)
    keys = list(zip(analysis.rows["lhs"], analysis.rows["op"], analysis.rows["rhs"], strict=True))
    for b, r in enumerate(replicates):
        data = design.draw(n, replicate_generator(entropy, n, r))
        try:
            result = fit(analysis.text, data, estimator=analysis.estimator, ordered=True if analysis.ordered else None)
        except (IasemError, np.linalg.LinAlgError, ValueError, FloatingPointError):
            continue
        params = result.params
        found = params.set_index(["lhs", "op", "rhs"])
        found = found[~found.index.duplicated()].reindex(keys)
        est[b] = found["est"].to_numpy(dtype=float)
        se[b] = found["se"].to_numpy(dtype=float)
        # An item with an empty category in this sample has fewer thresholds, numbered from its lowest used
        # category: they do not line up with the population's, so that item's thresholds are left out here
        # (NaN) while the replicate's other parameters count.
        collapsed = np.zeros(m, dtype=bool)
        if analysis.ordered:
            counts = params[params["op"] == "|"].groupby("lhs").size()
            for item, count in counts.items():
                if count != len(design.tau):
                    collapsed |= (analysis.rows["op"] == "|").to_numpy() & (analysis.rows["lhs"] == item).to_numpy()
        est[b, collapsed] = np.nan
        se[b, collapsed] = np.nan
        converged[b] = bool(result.converged) and bool(np.isfinite(se[b, ~collapsed]).all())
    est[~converged] = np.nan
    se[~converged] = np.nan
    return Replicates(est, se, converged)


def _run_batched(analysis: Analysis, design: Design, n: int, replicates: np.ndarray, entropy: int,
                 tolerances: dict[str, float]) -> Replicates:  # fmt: skip
    model = analysis.batch
    pick = [design.names.index(v) for v in model.names]
    samples = np.empty((replicates.size, n, len(pick)))
    for b, r in enumerate(replicates):
        values, _ = design.draw_values(n, replicate_generator(entropy, n, r))
        samples[b] = values[:, pick]
    unbiased = analysis.estimator in ls.ESTIMATORS
    cov, mean = batched.moments(samples, unbiased=unbiased)
    fixed = batched.fixed_values(model.params, model.names, cov, mean) if model.fixed_x else None
    fitted = batched.minimise(model.params, cov, model.x0, analysis.estimator, fixed=fixed, refresh=REFRESH, n_jobs=1,
                              **tolerances)  # fmt: skip
    converged = ~fitted.failed
    k = model.params.n_free
    vcov = np.full((replicates.size, k, k), np.nan)
    ok = np.flatnonzero(converged)
    if ok.size:
        information = batched.information(model.params, cov[ok], fitted.x[ok], analysis.estimator,
                                          fixed=None if fixed is None else fixed[ok])  # fmt: skip
        scale = n - 1 if unbiased else n
        inverse, singular = batched._stacked(np.linalg.inv, scale * information)
        vcov[ok] = inverse
        converged[ok[singular]] = False
    x = fitted.x
    est = x[:, model.free_columns]
    se = np.sqrt(np.clip(np.diagonal(vcov, axis1=1, axis2=2), 0.0, None))[:, model.free_columns]
    if model.defined:
        d_est, d_se = _delta_method(model, x, vcov)
        est, se = np.hstack([est, d_est]), np.hstack([se, d_se])
    bad = ~np.isfinite(se).all(axis=1)
    converged &= ~bad
    est[~converged] = np.nan
    se[~converged] = np.nan
    return Replicates(est, se, converged)


def _delta_method(model: _BatchModel, x: np.ndarray, vcov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and delta-method standard errors of the ``:=`` rows for every replicate, with the central-
    difference Jacobian :func:`iasem.fit` uses (step 1e-6 max(1, |x_k|))."""

    def values(xx: np.ndarray) -> np.ndarray:
        env = {label: xx[:, col] for label, col in model.label_columns.items()}
        env.update({label: np.full(len(xx), v) for label, v in model.label_fixed.items()})
        return _defined_values(model.defined, env)

    est = values(x)
    columns = sorted(set(model.label_columns.values()))
    jac = np.zeros((len(x), len(model.defined), x.shape[1]))
    for c in columns:
        h = 1e-6 * np.maximum(1.0, np.abs(x[:, c]))
        up, down = x.copy(), x.copy()
        up[:, c] += h
        down[:, c] -= h
        jac[:, :, c] = ((values(up) - values(down)) / (2 * h)[None, :]).T
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.clip(np.einsum("bdk,bkl,bdl->bd", jac, vcov, jac), 0.0, None))
    return est.T, se


def _defined_values(defined: list[tuple[str, str]], env: dict[str, np.ndarray]) -> np.ndarray:
    """(d, B) values of the ``:=`` expressions on arrays of label values (each may use those before it)."""
    env = dict(env)
    out = []
    for name, expression in defined:
        env[name] = evaluate_array(expression, env)
        out.append(env[name])
    return np.array(out, dtype=float).reshape(len(defined), -1) if defined else np.zeros((0, 1))
