"""Labels per group: a one-group model's labels and ``:=`` effects rewritten for a multi-group fit.

In lavaan syntax a single label in a multi-group model names *one* parameter, equal in every group (lavaan warns
about it). To compare alliance types, each group needs its own paths and its own indirect effects:
``c(a_pps, a_png)*x`` and ``ind_pps := a_pps*b_pps``. :func:`per_group_labels` writes that model from the
one-group one, so that a model file serves both fits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..errors import IasemError
from .parser import parse_model

_LABEL_TERM = r"(?<![\w.])({labels})\s*\*"


def group_suffix(group: object) -> str:
    """The identifier a group's value appends to labels: its characters other than letters, digits and _
    become _ (``"public-private"`` -> ``"public_private"``)."""
    return re.sub(r"\W", "_", str(group)).strip("_") or "group"


def per_group_labels(text: str, groups: Sequence[object]) -> str:
    """``text`` with every label ``a`` written as ``c(a_<g1>, ..., a_<gG>)`` and every ``name := expression``
    written once per group as ``name_<g> := expression`` with the group's labels.

    Parameters
    ----------
    text : str
        lavaan model syntax for one group (single labels only).
    groups : sequence
        The group values, in the order the fit takes them (order of first appearance in the data).

    Returns
    -------
    str

    Examples
    --------
    >>> print(per_group_labels("y ~ a*x\\nx ~~ x\\nab := a*2", ["pps", "png"]))
    y ~ c(a_pps, a_png)*x
    x ~~ x
    ab_pps := a_pps*2
    ab_png := a_png*2
    """
    suffixes = [group_suffix(g) for g in groups]
    if len(set(suffixes)) < len(suffixes):
        raise IasemError(f"the groups {list(groups)} do not give distinct label suffixes ({suffixes})")
    formulas = parse_model(text)
    if any(len(f.modifiers.label) > 1 for f in formulas):
        raise IasemError("the model already has labels per group (c(...)); give a model with single labels")
    if any(f.op in ("==", "<", ">") for f in formulas):
        raise IasemError("constraints (==, <, >) cannot be rewritten per group; write them for each group's labels")
    labels = sorted({f.modifiers.label[0] for f in formulas if f.modifiers.label}, key=len, reverse=True)
    defined = [f.lhs for f in formulas if f.op == ":="]
    if not labels:
        return text
    term = re.compile(_LABEL_TERM.format(labels="|".join(map(re.escape, labels))))
    names = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, labels + defined)) + r")(?![\w.(])")
    out = []
    for line in text.splitlines():
        code, hash_, comment = line.partition("#")
        if ":=" in code:
            lhs, _, rhs = code.partition(":=")
            for s in suffixes:
                out.append(f"{lhs.strip()}_{s} := " + names.sub(lambda m, s=s: f"{m.group(1)}_{s}", rhs.strip()))
            continue
        code = term.sub(lambda m: "c(" + ", ".join(f"{m.group(1)}_{s}" for s in suffixes) + ")*", code)
        out.append(code + hash_ + comment)
    return "\n".join(out)
