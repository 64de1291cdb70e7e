"""Time iasem against semopy and lavaan, side by side, and write docs/performance.md.

Run from the repository root with the project installed (``pip install -e .``; without it the clone's
``iasem/`` is used)::

    python3 benchmarks/run.py --quick          # ~1 minute: fewer repetitions, a 100-replicate Monte Carlo
    python3 benchmarks/run.py                  # ~10 minutes: 7 repetitions (3 for (c), (d)), 1000 replicates
    python3 benchmarks/run.py --install-r      # first `apt-get install -y r-base-core r-cran-lavaan`

Cases, all on data shipped in ``data/``:

(a) one ML fit of a 20-item relational sub-model (rsa, fgov, trust, success; 4 x 5 items, the structural paths
    and two indirect effects) on ``data/relational_trust_responses.csv`` (n = 400), items treated as continuous;
(b) one WLSMV fit of the same model with the items ordered (semopy has no WLSMV: n/a);
(c) a 1000-draw bootstrap of that fit (iasem ``bootstrap=1000``, lavaan ``se="bootstrap"``; semopy has none);
(d) a Monte Carlo of that model at n = 200, the population being iasem's estimates of (a): iasem runs
    ``iasem.power`` (batched replicates on all cores, with standard errors, the ``:=`` effects and the power
    table); lavaan ``simulateData`` + ``sem(se = "none")`` in a loop; semopy numpy draws from iasem's implied
    covariance + ``Model.fit`` in a loop;
(e) the Holzinger-Swineford (1939) three-factor CFA, ML.

Each time is the median of several repetitions of the whole call (``time.perf_counter`` in Python,
``proc.time`` inside R, reported back as JSON by ``Rscript``). The script prints the chi-squares of (a), (b)
and (e) of each tool (the timings compare like with like only if they agree), the peak memory of each iasem
case (``tracemalloc``), profiles the iasem case furthest from its target with ``cProfile``, and writes
``docs/performance.md`` atomically. lavaan is skipped, with a message, when ``Rscript`` is absent.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One BLAS thread: the products of one fit are small, and a threaded BLAS stalls them whenever the other core is
# busy (set before numpy loads its BLAS).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd

try:
    import iasem
except ModuleNotFoundError:  # run from a clone without `pip install -e .`: use the clone's package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import iasem

ROOT = Path(__file__).resolve().parents[1]
RELATIONAL_CSV = ROOT / "data" / "relational_trust_responses.csv"
HS39_CSV = ROOT / "data" / "holzinger_swineford_1939.csv"
DOC = ROOT / "docs" / "performance.md"

# The 20-item sub-model of models/relational_trust.lav: four constructs, the paths between them.
RELATIONAL_MEASUREMENT = """\
rsa =~ rsa1 + rsa2 + rsa3 + rsa4 + rsa5
fgov =~ fgov1 + fgov2 + fgov3 + fgov4 + fgov5
trust =~ trust1 + trust2 + trust3 + trust4 + trust5
success =~ succ1 + succ2 + succ3 + succ4 + succ5
trust ~ a1*rsa + a3*fgov
success ~ b*trust + c1*rsa + c3*fgov
"""
RELATIONAL = RELATIONAL_MEASUREMENT + "ind_rsa := a1*b\nind_fgov := a3*b\n"
HS39 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"
ITEMS = [f"{c}{i}" for c in ("rsa", "fgov", "trust", "succ") for i in range(1, 6)]
MC_N = 200

# The targets on this 2-core machine, in seconds; (e) has none.
TARGETS = {"a": 0.010, "b": 0.050, "c": 0.5, "d": 1.0}
CASES = {
    "a": "(a) ML fit, 20 items, n=400",
    "b": "(b) WLSMV fit, 20 ordered items, n=400",
    "c": "(c) bootstrap, 1000 draws",
    "d": "(d) Monte Carlo, 1000 x (simulate + fit), n=200",
    "e": "(e) HS39 CFA, ML, n=301",
}

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
source(commandArgs(trailingOnly = TRUE)[1])  # defines `args`, written by benchmarks/run.py
rel <- read.csv(args$relational)
hs <- read.csv(args$hs39)
timed <- function(reps, f) {
  t <- numeric(reps)
  for (i in seq_len(reps)) { s <- proc.time()[["elapsed"]]; f(); t[i] <- proc.time()[["elapsed"]] - s }
  median(t)
}
out <- list(version = as.character(packageVersion("lavaan")), r = paste(R.version$major, R.version$minor, sep = "."))
full <- function(fit) { parameterEstimates(fit, standardized = TRUE); fitMeasures(fit); fit }
fa <- sem(args$model, rel)
out$chisq_a <- unname(fitMeasures(fa, "chisq"))
out$a <- timed(args$reps, function() full(sem(args$model, rel)))
fb <- sem(args$model, rel, ordered = args$items, estimator = "WLSMV")
out$chisq_b <- unname(fitMeasures(fb, "chisq.scaled"))
out$b <- timed(args$reps, function() full(sem(args$model, rel, ordered = args$items, estimator = "WLSMV")))
set.seed(1)
out$c <- timed(args$boot_reps, function() {
  f <- sem(args$model, rel, se = "bootstrap", bootstrap = args$draws)
  parameterEstimates(f, boot.ci.type = "perc"); fitMeasures(f)
})
set.seed(1)
out$d <- timed(args$mc_reps, function() {
  for (i in seq_len(args$replicates)) {
    d <- simulateData(args$population, sample.nobs = args$n)
    sem(args$model_plain, d, se = "none")
  }
})
fe <- sem(args$hs39_model, hs)
out$chisq_e <- unname(fitMeasures(fe, "chisq"))
out$e <- timed(args$reps, function() full(sem(args$hs39_model, hs)))
value <- function(v) if (is.character(v)) sprintf('"%s"', v) else format(v, digits = 17)
writeLines(paste0("{", paste(sprintf('"%s": %s', names(out), vapply(out, value, "")), collapse = ", "), "}"), args$out)
"""


def median_time(reps: int, call: Callable[[], Any]) -> float:
    """Median wall time in seconds of ``reps`` calls."""
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> dict[str, str]:
    """CPU, cores, RAM and the versions of the tools."""
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kib / 2**20:.1f} GiB"
    info = {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "iasem": getattr(iasem, "__version__", "dev"),
    }
    try:
        import scipy

        info["scipy"] = scipy.__version__
    except ImportError:  # pragma: no cover - iasem needs scipy
        pass
    try:
        import semopy

        info["semopy"] = semopy.__version__
    except ImportError:
        info["semopy"] = "not installed"
    return info


# ---------------------------------------------------------------- iasem


def population_syntax(params: pd.DataFrame) -> str:
    """lavaan syntax with every free parameter of (a) fixed at iasem's estimate, for ``simulateData``."""
    rows = params[params["op"].isin(["=~", "~", "~~"])]
    return "\n".join(f"{r.lhs} {r.op} {r.est:.6f}*{r.rhs}" for r in rows.itertuples()) + "\n"


def iasem_cases(data: pd.DataFrame, hs: pd.DataFrame, replicates: int) -> dict[str, Callable[[], Any]]:
    """The five iasem calls."""
    population = iasem.fit(RELATIONAL, data).params

    def monte_carlo() -> pd.DataFrame:
        # Batched replicates on all cores, with standard errors and the summaries (more than the others' loops).
        return iasem.power(RELATIONAL, [MC_N], replicates, population=population, seed=1, progress=False)

    return {
        "a": lambda: iasem.fit(RELATIONAL, data),
        "b": lambda: iasem.fit(RELATIONAL, data, ordered=True),
        "c": lambda: iasem.fit(RELATIONAL, data, bootstrap=1000, seed=1),
        "d": monte_carlo,
        "e": lambda: iasem.fit(HS39, hs),
    }


def peak_memory(call: Callable[[], Any]) -> float:
    """Peak traced allocation (MiB) of one call."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _pstats_lines(profiler: cProfile.Profile, sort: str, restriction: str, top: int) -> list[str]:
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats(sort).print_stats(restriction, top)
    lines = [line.rstrip() for line in buffer.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return [line.replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "") for line in lines[start:]]


def profile(call: Callable[[], Any], top: int = 12) -> tuple[str, str]:
    """cProfile of one call: iasem's functions by cumulative time, and all functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    total = pstats.Stats(profiler).total_tt  # type: ignore[attr-defined]
    cumulative = _pstats_lines(profiler, "cumulative", "iasem/", top + 6)
    own = _pstats_lines(profiler, "tottime", "", top)
    header = f"total {total:.3f} s under the profiler"
    return header + "\n" + "\n".join(cumulative), "\n".join(own)


# ---------------------------------------------------------------- semopy


def semopy_cases(data: pd.DataFrame, hs: pd.DataFrame, implied: pd.DataFrame, replicates: int):
    """The semopy calls (fit + standard errors + fit statistics, as the other two tools do); None if absent."""
    try:
        import semopy
    except ImportError:
        return None, {}

    def full(model: str, frame: pd.DataFrame) -> semopy.Model:
        m = semopy.Model(model)
        m.fit(frame)
        m.inspect()
        semopy.calc_stats(m)
        return m

    names = list(implied.columns)
    sigma = implied.to_numpy()

    def monte_carlo() -> None:
        rng = np.random.default_rng(1)
        for _ in range(replicates):
            sample = pd.DataFrame(rng.multivariate_normal(np.zeros(len(names)), sigma, MC_N), columns=names)
            semopy.Model(RELATIONAL_MEASUREMENT).fit(sample)

    def chisq(model: str, frame: pd.DataFrame) -> float:
        return float(semopy.calc_stats(full(model, frame)).T.loc["chi2"].iloc[0])

    calls = {
        "a": lambda: full(RELATIONAL_MEASUREMENT, data),
        "d": monte_carlo,
        "e": lambda: full(HS39, hs),
    }
    return {"a": chisq(RELATIONAL_MEASUREMENT, data), "e": chisq(HS39, hs)}, calls


# ---------------------------------------------------------------- lavaan


def install_r() -> None:
    """Install R and lavaan from Debian (only with --install-r)."""
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update"], check=True)
    subprocess.run([*sudo, "apt-get", "install", "-y", "r-base-core", "r-cran-lavaan"], check=True)


def r_literal(value: Any) -> str:
    """An R literal for a string, a number or a list of strings (JSON string escapes are valid in R)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "c(" + ", ".join(r_literal(v) for v in value) + ")"
    return repr(value)


def r_list(args: dict[str, Any]) -> str:
    """R source defining ``args``, so that the R side needs no JSON package (lavaan alone)."""
    return "args <- list(" + ", ".join(f"{k} = {r_literal(v)}" for k, v in args.items()) + ")\n"


def run_lavaan(args: dict[str, Any]) -> dict[str, Any] | None:
    """Run the R side; None (with a message) when Rscript is absent or fails."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("lavaan skipped: Rscript not found (run with --install-r to install r-base-core r-cran-lavaan)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        script, params, out = Path(tmp, "bench.R"), Path(tmp, "args.R"), Path(tmp, "out.json")
        script.write_text(R_SCRIPT)
        params.write_text(r_list({**args, "out": str(out)}))
        done = subprocess.run([rscript, str(script), str(params)], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"lavaan skipped: Rscript failed:\n{done.stderr[-2000:]}")
            return None
        return json.loads(out.read_text())


# ---------------------------------------------------------------- report


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_ratio(other: float | None, mine: float) -> str:
    return "n/a" if other is None else f"{other / mine:.2f}"


def table(rows: list[dict[str, Any]]) -> str:
    head = "| case | iasem | lavaan | semopy | lavaan / iasem | semopy / iasem | iasem target | iasem peak memory |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        key = row["key"]
        target = TARGETS.get(key)
        lines.append(
            f"| {row['name']} | {fmt_time(row['iasem'])} | {fmt_time(row['lavaan'])} | {fmt_time(row['semopy'])} "
            f"| {fmt_ratio(row['lavaan'], row['iasem'])} | {fmt_ratio(row['semopy'], row['iasem'])} "
            f"| {'-' if target is None else '< ' + fmt_time(target)} | {row['memory']:.1f} MiB |"
        )
    return "\n".join(lines)


ANALYSIS = """\
## Where the time goes

*(Written by hand as a template in `benchmarks/run.py`; the timings and the profile are filled in by the run.)*

The iasem case closest to (or furthest beyond) its target is **{worst}**: {worst_time} against a target of
{worst_target} (x{worst_gap:.1f} of the target). cProfile of {profile_note}, iasem's functions by cumulative
time:

```text
{profile}
```

and all functions by own time:

```text
{profile_own}
```

How the targets were reached, and what is left:

- **(a) one ML fit** ({a_time}; semopy {a_semopy}): the model text is parsed and represented once per text and
  options (`sem.py`, cached, copy-on-write tables); the engine works on numpy arrays (parameter tables built
  from lists); the information matrix and gradient are BLAS products in row blocks small enough for a
  single-threaded BLAS; derivatives only for the rows of free parameters. About half of what is left is the
  Fisher scoring itself (about 15 evaluations); the next factor 2-3 is the rank-two form of the derivatives
  (below) in the single fit as well.
- **(b) one WLSMV fit** ({b_time}): the bivariate tables are built once and shared by the polychoric and Gamma
  steps; the scaled-shifted test uses trace identities. About half of what is left is the ordinal statistics
  (polychorics by Newton's method over all pairs, Owen's T); iterating only the pairs not yet converged and
  vectorising `ordinal_data` would take a few more milliseconds off.
- **(c) 1000 bootstrap draws** ({c_time}): the refits run batched (`engine/batched.py`), with the
  derivatives of Sigma in rank-two form (dSigma_k = a_k b_k' + b_k a_k', so the expected information is
  X o X' + Y o Z, O(p^2 k + p k^2) per replicate instead of O(p^2 k^2)), split over one thread per core (numpy
  releases the GIL; each replicate's arithmetic is its own, so no number changes).
- **(d) 1000 Monte Carlo replicates** ({d_time}, {d_each} per replicate): `iasem.power` draws every
  replicate's data from the population's Cholesky factor, refits all replicates batched with the chord method
  (the information refreshed every third iteration; each iteration costs one gradient), computes every
  replicate's standard errors from its expected information and the `:=` effects by a vectorised delta method,
  in threads. It does more than the other tools' loops (standard errors, defined effects, the summary table).

Measured with `OPENBLAS_NUM_THREADS=1` (set by this script): on this 2-core machine a multi-threaded BLAS only
stalls the small products of one fit when the other core is busy.

Note on (d) across tools: semopy's loop draws its data with numpy (cheaper than lavaan's `simulateData`), and
both run with `se = "none"`.

`benchmarks/bootstrap_batched.py` times the batched bootstrap refits against one refit per draw (and checks
that both give the same draws).
"""


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, a 100-replicate Monte Carlo")
    parser.add_argument("--install-r", action="store_true", help="apt-get install -y r-base-core r-cran-lavaan")
    parser.add_argument("--out", type=Path, default=DOC, help="the Markdown file to write (docs/performance.md)")
    opts = parser.parse_args(argv)
    if opts.install_r:
        install_r()

    reps, boot_reps, mc_reps = (3, 1, 1) if opts.quick else (7, 3, 3)
    replicates = 100 if opts.quick else 1000
    scale = 1000 / replicates  # (d) is reported per 1000 replicates

    data = pd.read_csv(RELATIONAL_CSV)[ITEMS]
    hs = pd.read_csv(HS39_CSV)
    fit_a = iasem.fit(RELATIONAL, data)
    fit_b = iasem.fit(RELATIONAL, data, ordered=True)
    fit_e = iasem.fit(HS39, hs)

    print(f"iasem: {len(CASES)} cases, {reps} repetitions ({boot_reps} for (c), {mc_reps} for (d))")
    calls = iasem_cases(data, hs, replicates)
    mine = {k: median_time(boot_reps if k == "c" else mc_reps if k == "d" else reps, f) for k, f in calls.items()}
    mine["d"] *= scale
    memory = {k: peak_memory(f) for k, f in calls.items()}

    print("semopy ...")
    implied = fit_a.implied_cov
    semopy_chisq, semopy_calls = semopy_cases(data, hs, implied, replicates)
    theirs = {k: median_time(mc_reps if k == "d" else reps, f) for k, f in semopy_calls.items()}
    if "d" in theirs:
        theirs["d"] *= scale

    print("lavaan ...")
    lavaan = run_lavaan(
        {
            "relational": str(RELATIONAL_CSV),
            "hs39": str(HS39_CSV),
            "model": RELATIONAL,
            "model_plain": RELATIONAL_MEASUREMENT,
            "hs39_model": HS39,
            "items": ITEMS,
            "population": population_syntax(fit_a.params),
            "n": MC_N,
            "draws": 1000,
            "replicates": replicates,
            "reps": reps,
            "boot_reps": boot_reps,
            "mc_reps": mc_reps,
        }
    )
    if lavaan is not None:
        lavaan["d"] *= scale

    rows = [
        {
            "key": k,
            "name": name,
            "iasem": mine[k],
            "lavaan": None if lavaan is None else lavaan[k],
            "semopy": theirs.get(k),
            "memory": memory[k],
        }
        for k, name in CASES.items()
    ]

    chisq_lines = []
    for key, fit, stat in (("a", fit_a, "chisq"), ("b", fit_b, "chisq.scaled"), ("e", fit_e, "chisq")):
        lav = "n/a" if lavaan is None else f"{lavaan[f'chisq_{key}']:.4f}"
        sem = "n/a" if semopy_chisq is None or key not in semopy_chisq else f"{semopy_chisq[key]:.4f}"
        chisq_lines.append(f"| {CASES[key]} | {stat} | {fit.fit_measures[stat]:.4f} | {lav} | {sem} |")
    chisq_table = "\n".join(
        ["| case | statistic | iasem | lavaan | semopy |", "|---|---|---:|---:|---:|", *chisq_lines]
    )

    # Profile the iasem case furthest from its target.
    worst = max(TARGETS, key=lambda k: mine[k] / TARGETS[k])
    print(f"profiling {CASES[worst]} ...")
    if worst == "d":
        profile_call = iasem_cases(data, hs, 20)["d"]
        profile_note = "20 replicates of (d)"
    else:
        profile_call, profile_note = calls[worst], "one call"
    profiled, profiled_own = profile(profile_call)

    info = machine()
    if lavaan is not None:
        info["R"] = lavaan["r"]
        info["lavaan"] = lavaan["version"]
    else:
        info["R / lavaan"] = "not run (Rscript not found)"
    info["peak RSS of this run"] = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    machine_lines = "\n".join(f"- **{k}**: {v}" for k, v in info.items())

    mode = "quick run: fewer repetitions, a 100-replicate Monte Carlo" if opts.quick else "full run"
    d_note = f"{replicates} replicates, timed and scaled x{scale:.0f} to 1000" if scale != 1 else "1000 replicates"
    text = f"""# Performance

How fast `iasem.fit` is next to [lavaan](https://lavaan.ugent.be) (R) and
[semopy](https://semopy.com) (Python), on the same data and models. Generated by
`python3 benchmarks/run.py{" --quick" if opts.quick else ""}` on {dt.date.today().isoformat()}
({mode}); rerun it to regenerate this file. Timing is never part of the test suite.

## Machine

{machine_lines}

## Results

Median wall time of the whole call over {reps} repetitions ({boot_reps} for (c), {mc_reps} for (d); (d): {d_note}).
A ratio above 1 means iasem is faster. Peak memory is the largest `tracemalloc` allocation of one iasem call.

{table(rows)}

What each tool does in each case:

- **iasem**: `iasem.fit(...)`, which always computes estimates, standard errors, all fit measures and the
  standardized solution; (b) with `ordered=True` (WLSMV); (c) with `bootstrap=1000, seed=1` (batched refits,
  percentile intervals); (d) `iasem.power(model, [200], 1000, population=...)`: batched replicates with
  standard errors, `:=` effects and the power table.
- **lavaan**: `sem()` + `parameterEstimates(standardized = TRUE)` + `fitMeasures()`, timed inside R with
  `proc.time()`; (b) `ordered = <items>, estimator = "WLSMV"`; (c) `se = "bootstrap", bootstrap = 1000` and
  percentile intervals; (d) `simulateData()` from iasem's estimates + `sem(se = "none")` per replicate.
- **semopy**: `Model.fit()` + `inspect()` (standard errors) + `calc_stats()`; (d) numpy normal draws from
  iasem's implied covariance + `Model.fit()`; no WLSMV and no bootstrap, hence n/a for (b) and (c).

The models: (a)-(d) the 20-item sub-model of `models/relational_trust.lav` (rsa, fgov, trust, success, 5 items
each; trust ~ rsa + fgov, success ~ trust + rsa + fgov, two indirect effects) on
`data/relational_trust_responses.csv` (n = 400, items treated as continuous for ML); (e) the three-factor
CFA of `data/holzinger_swineford_1939.csv` (n = 301). The source is `benchmarks/run.py`.

## The tools fit the same model

The timings compare like with like only if the three tools reach the same solution:

{chisq_table}

{
        ANALYSIS.format(
            worst=CASES[worst],
            worst_time=fmt_time(mine[worst]),
            worst_target=fmt_time(TARGETS[worst]),
            worst_gap=mine[worst] / TARGETS[worst],
            profile=profiled,
            profile_own=profiled_own,
            profile_note=profile_note,
            a_time=fmt_time(mine["a"]),
            a_semopy=fmt_time(theirs.get("a")),
            d_each=fmt_time(mine["d"] / 1000),
            b_time=fmt_time(mine["b"]),
            c_time=fmt_time(mine["c"]),
            d_time=fmt_time(mine["d"]),
        )
    }"""
    write_atomically(opts.out, text)
    print()
    print(table(rows))
    print()
    print(chisq_table)
    print(f"\nwrote {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
