"""``iasem.power``: Monte Carlo power analysis. How many respondents does a model need?

For every sample size n of a grid, ``reps`` samples are drawn from the population model
(:mod:`iasem.simulation`), the analysis model is refitted to each (:mod:`iasem.engine.montecarlo`, batched
where the estimator allows), and every parameter's estimates and standard errors are summarised: power,
convergence, bias and coverage, as in Muthén & Muthén (2002).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as st

from .engine import montecarlo
from .errors import IasemError
from .parallel import check_backend, map_tasks, workers
from .sem import ESTIMATORS, model_text
from .simulation import Population, design_of

#: The columns of :func:`power`'s table.
POWER_COLUMNS = ["n", "lhs", "op", "rhs", "label", "population", "mean", "bias", "rel_bias", "sd", "mean_se",
                 "se_bias", "coverage", "power", "converged", "reps"]  # fmt: skip
#: Replicates per task of one fit per replicate (WLSMV, MLR): enough to amortise a task, few enough to spread
#: a grid over the workers and to move a progress bar.
CHUNK = 25


def power(
    model: str | Path,
    n: Sequence[int] | int,
    reps: int = 1000,
    *,
    alpha: float = 0.05,
    estimator: str = "ML",
    seed: int | None = None,
    backend: str = "local",
    population: Population | None = None,
    analysis: str | Path | None = None,
    scale: str | int | None = None,
    thresholds: str | Sequence[float] | None = None,
    level: float = 0.95,
    n_jobs: int | None = None,
    scheduler: object = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    r"""Monte Carlo power, convergence, bias and coverage for every parameter at every sample size.

    Parameters
    ----------
    model : str or Path
        The population model: lavaan syntax, a ``.lav`` file or a shipped model, with population values as
        :func:`iasem.simulate` takes them (fixed values in the syntax, ``population``, standardized defaults).
    n : int or sequence of int
        The sample sizes, each larger than the number of observed variables.
    reps : int
        Replicates per sample size (default 1000).
    alpha : float
        Two-sided significance level of the Wald test of each parameter against 0.
    estimator : {"ML", "MLR", "GLS", "ULS", "WLSMV"}
        The analysis estimator; "WLSMV" treats every item as ordered (needs a categorical ``scale``).
    seed : int or None
        Seed of the whole study; None draws one, kept in ``attrs["seed"]`` so the study can be repeated.
    backend : {"local", "dask"}
        "local" runs on ``n_jobs`` processes (default: every core); "dask" on the cluster of ``scheduler``.
        Both give the same numbers for the same seed.
    population : dict or DataFrame, optional
        Population values (see :func:`iasem.simulate`).
    analysis : str or Path, optional
        The model fitted to each replicate. Default: ``model`` with its fixed values freed (the numbers of a
        population model are values to recover), lavaan's default identification (first loadings fixed to 1).
    scale, thresholds : optional
        The response scale (see :func:`iasem.simulate`); default None, continuous (normal) responses.
    level : float
        Coverage is that of the ``level`` Wald interval, est +- z se.
    n_jobs : int, optional
        Worker processes for backend="local" (default: all cores).
    scheduler : str or distributed.Client, optional
        The Dask scheduler (backend="dask").
    progress : bool, optional
        Show a progress bar (default: on a terminal or in a notebook).

    Returns
    -------
    DataFrame
        One row per sample size and parameter (free parameters and ``:=`` ones), with the columns of
        ``POWER_COLUMNS``: ``population`` (the true value), ``mean`` of the estimates, ``bias`` (mean -
        population), ``rel_bias`` (bias / population; NaN where the population value is 0), ``sd`` of the
        estimates, ``mean_se``, ``se_bias`` (mean_se / sd - 1), ``coverage``, ``power`` (share of
        replicates with p < alpha), ``converged`` (share of replicates that converged; the other columns
        are over those) and ``reps``. ``attrs`` hold the settings (``alpha``, ``level``, ``estimator``,
        ``seed``, ``reps``). :func:`smallest_n` reads the sample size that reaches a power;
        :func:`plot_power` draws the curves.

    Notes
    -----
    Replicate r of sample size n draws its data with its own generator, ``SeedSequence(seed, spawn_key=(n,
    r))``; replicates are independent of one another and of the worker that runs them. For each parameter
    with population value :math:`\theta` and the converged replicates' estimates :math:`\hat\theta_r` and
    standard errors :math:`s_r` (:math:`R` of them):

    .. math:: \text{power} = \frac{1}{R}\sum_r 1\{|\hat\theta_r / s_r| > z_{1-\alpha/2}\},\qquad
              \text{coverage} = \frac{1}{R}\sum_r 1\{|\hat\theta_r - \theta| \le z_{(1+\text{level})/2}\, s_r\}.

    The population value of each analysis parameter is the analysis model fitted to the population moments
    (exact for a correctly specified model; the pseudo-true value otherwise). Ordered items under WLSMV are
    fitted to the latent correlations; Likert answers analysed as continuous (ML on a categorical scale) to
    the exact moments of the categorized responses, so their bias is that of the estimator, not of the
    categorization. Muthén & Muthén's rules of thumb: bias and standard-error bias within 10 % (5 % for the
    parameters of interest), coverage between .91 and .98, and power of at least .80.

    References
    ----------
    Muthén, L. K., & Muthén, B. O. (2002). How to use a Monte Carlo study to decide on sample size and
    determine power. *Structural Equation Modeling*, 9(4), 599-620.

    Examples
    --------
    >>> table = power("trust =~ 0.6*t1 + 0.6*t2 + 0.6*t3\nsuccess =~ 0.6*s1 + 0.6*s2 + 0.6*s3\n"
    ...               "success ~ 0.3*trust", n=[100, 300], reps=50, seed=1, n_jobs=1, progress=False)
    >>> paths = table.loc[table["op"] == "~", ["n", "rhs", "population", "power", "coverage"]]
    >>> print(paths.round(2).to_string(index=False))
      n   rhs  population  power  coverage
    100 trust         0.3   0.42      0.92
    300 trust         0.3   0.96      0.94
    >>> print(smallest_n(table, 0.8).loc[lambda t: t["op"] == "~", ["rhs", "n", "power"]].to_string(index=False))
      rhs   n  power
    trust 300   0.96
    """
    grid = _check(n, reps, alpha, estimator, level)
    check_backend(backend, n_jobs, scheduler)
    ordered = estimator == "WLSMV"
    if ordered and scale is None:
        raise IasemError("estimator='WLSMV' fits ordered items: give a categorical scale, e.g. scale='agree5'")
    text = model_text(model)
    design = design_of(text, population=population, scale=scale, thresholds=thresholds)
    analysis_text = montecarlo.free_syntax(text) if analysis is None else model_text(analysis)
    study = montecarlo.analysis_of(analysis_text, design, estimator, ordered=ordered)
    too_small = [size for size in grid if size <= len(design.names)]
    if too_small:
        raise IasemError(f"n={too_small[0]} is not larger than the {len(design.names)} observed variables")
    entropy = int(np.random.SeedSequence().entropy if seed is None else seed)
    # Batched replicates run in threads (numpy releases the GIL), one large batch per worker and n; one fit
    # per replicate runs in processes, in smaller chunks that keep the workers busy and the progress bar moving.
    threads = study.batch is not None and backend == "local"
    chunk = min(reps, CHUNK if not threads else -(-reps // workers(n_jobs)))
    tasks = [(size, np.arange(start, min(reps, start + chunk))) for size in grid for start in range(0, reps, chunk)]
    run = partial(montecarlo.run, study, design, entropy=entropy)
    parts = map_tasks(run, tasks, backend=backend, n_jobs=n_jobs, scheduler=scheduler, progress=progress,
                      desc=f"Monte Carlo ({len(grid)} n x {reps} replicates)", threads=threads)  # fmt: skip
    frames = []
    for size in grid:
        pieces = [part for (task_n, _), part in zip(tasks, parts, strict=True) if task_n == size]
        frames.append(_summary(study, size, pieces, alpha, level))
    out = pd.concat(frames, ignore_index=True)[POWER_COLUMNS]
    for size, share in out.groupby("n")["converged"].first().items():
        if share < 1:
            failed = round((1 - share) * reps)
            warnings.warn(f"n={size}: {failed} of {reps} replicates did not converge (or gave no standard errors); "
                          f"the summaries are over the {reps - failed} that did", stacklevel=2)  # fmt: skip
    out.attrs.update({"alpha": alpha, "level": level, "estimator": estimator, "seed": entropy, "reps": reps})
    return out


def _check(n, reps, alpha, estimator, level) -> list[int]:
    sizes = [n] if isinstance(n, (int, np.integer)) and not isinstance(n, bool) else list(n)
    if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 2 for s in sizes):
        raise IasemError(f"n must be a whole number or a list of whole numbers of at least 2, not {n!r}")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise IasemError(f"reps must be a whole number of at least 1, not {reps!r}")
    for name, value in (("alpha", alpha), ("level", level)):
        if not isinstance(value, (int, float)) or not 0 < value < 1:
            raise IasemError(f"{name} must be between 0 and 1, not {value!r}")
    if estimator not in ESTIMATORS:
        raise IasemError(f"estimator must be one of {', '.join(ESTIMATORS)}, not {estimator!r}")
    return sorted({int(s) for s in sizes})


def _summary(study: montecarlo.Analysis, n: int, pieces: list[montecarlo.Replicates], alpha: float,
             level: float) -> pd.DataFrame:  # fmt: skip
    """Per parameter, over the converged replicates that estimated it (an ordered item's thresholds are
    missing in a replicate where one of its categories is empty)."""
    est = np.vstack([p.est for p in pieces])
    se = np.vstack([p.se for p in pieces])
    converged = np.concatenate([p.converged for p in pieces])
    truth = study.truth
    est, se = est[converged], se[converged]
    usable = np.isfinite(est) & np.isfinite(se)
    count = usable.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        significant = np.where(usable, np.abs(est / se) > st.norm.ppf(1 - alpha / 2), False)
        covered = np.where(usable, np.abs(est - truth) <= st.norm.ppf(0.5 + level / 2) * se, False)
        mean = np.where(count > 0, np.nansum(np.where(usable, est, 0.0), axis=0) / count, np.nan)
        deviation = np.where(usable, est - mean, 0.0)
        sd = np.where(count > 1, np.sqrt((deviation**2).sum(axis=0) / (count - 1)), np.nan)
        mean_se = np.where(count > 0, np.where(usable, se, 0.0).sum(axis=0) / count, np.nan)
        out = study.rows.copy()
        out.insert(0, "n", n)
        out["population"] = truth
        out["mean"] = mean
        out["bias"] = mean - truth
        out["rel_bias"] = np.where(truth != 0, (mean - truth) / np.where(truth == 0, 1.0, truth), np.nan)
        out["sd"] = sd
        out["mean_se"] = mean_se
        out["se_bias"] = mean_se / sd - 1
        out["coverage"] = np.where(count > 0, covered.sum(axis=0) / count, np.nan)
        out["power"] = np.where(count > 0, significant.sum(axis=0) / count, np.nan)
    out["converged"] = converged.mean()
    out["reps"] = len(converged)
    return out


def smallest_n(table: pd.DataFrame, target: float = 0.8) -> pd.DataFrame:
    """The smallest sample size of the grid at which each parameter's power reaches ``target``.

    Parameters
    ----------
    table : DataFrame
        :func:`power`'s table.
    target : float
        The power to reach (default .80).

    Returns
    -------
    DataFrame
        ``lhs, op, rhs, label, population``, ``n`` (NaN where no sample size of the grid reaches the target)
        and ``power`` at that n.
    """
    if not 0 < target < 1:
        raise IasemError(f"target must be between 0 and 1, not {target!r}")
    keys = ["lhs", "op", "rhs", "label"]
    rows = []
    for key, group in table.groupby(keys, sort=False):
        reached = group[group["power"] >= target].sort_values("n")
        first = reached.iloc[0] if len(reached) else None
        rows.append({**dict(zip(keys, key, strict=True)), "population": group["population"].iloc[0],
                     "n": first["n"] if first is not None else np.nan,
                     "power": first["power"] if first is not None else np.nan})  # fmt: skip
    out = pd.DataFrame(rows).astype({"n": "Int64"})
    out.attrs["target"] = target
    return out


def plot_power(table: pd.DataFrame, parameters: Sequence[str] | None = None, *, target: float | None = 0.8,
               ax=None):  # fmt: skip
    """Power curves: power against n, one line per parameter.

    Parameters
    ----------
    table : DataFrame
        :func:`power`'s table.
    parameters : list of str, optional
        Which parameters, by label or ``"lhs op rhs"`` (default: the regressions and ``:=`` parameters, or
        every parameter when the model has none).
    target : float or None
        Draw this power as a dashed line.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.4, 4.2))
    names = table.apply(lambda r: r["label"] or f"{r['lhs']} {r['op']} {r['rhs']}", axis=1)
    if parameters is None:
        chosen = table["op"].isin(["~", ":="])
        picked = table[chosen] if chosen.any() else table
    else:
        wanted = set(parameters)
        full = table["lhs"] + " " + table["op"] + " " + table["rhs"]
        picked = table[names.isin(wanted) | full.isin(wanted)]
        unknown = wanted - set(names) - set(full)
        if unknown:
            raise IasemError(f"no parameter(s) {', '.join(sorted(unknown))} in the power table")
    styles = {"~": "-", ":=": "--"}  # regressions solid, defined (indirect, total) effects dashed, others dotted
    for name, group in picked.groupby(names[picked.index], sort=False):
        ax.plot(group["n"], group["power"], marker="o", label=name, linestyle=styles.get(group["op"].iloc[0], ":"))
    if target is not None:
        ax.axhline(target, linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("sample size n")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small", ncol=1 + len(picked.groupby(names[picked.index])) // 14, loc="upper left",
              bbox_to_anchor=(1.02, 1.0), frameon=False)  # fmt: skip
    reps, alpha = table.attrs.get("reps", "?"), table.attrs.get("alpha", "?")
    ax.set_title(f"Monte Carlo power ({reps} replicates, alpha = {alpha})")
    return ax
