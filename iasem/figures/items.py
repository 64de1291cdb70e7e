"""Item distributions: a diverging stacked bar chart (a Likert plot) of the answers to each item."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from ..errors import IasemError
from ._common import GREY, LIGHT_GREY, new_axes

TEXTS = {"en": ("share of answers", "n = {n}"), "nl": ("aandeel antwoorden", "n = {n}")}


def item_distributions(responses_or_frame, items: Sequence[str] | None = None, *,
                       scale_labels: Mapping[int, str] | Sequence[str] | None = None, lang: str = "en",
                       constructs: Mapping[str, Sequence[str]] | None = None,
                       title: str | None = None) -> Figure:  # fmt: skip
    """The answer distribution of each item as a diverging stacked bar, centred on the neutral category.

    Each bar is one item; its segments are the shares of the answers in each category (of the item's
    non-missing answers, so they sum to 1), the disagreeing categories to the left of zero and the agreeing
    ones to the right, the neutral category (odd number of categories) split over zero. Items are grouped by
    construct, each group headed by the construct's name.

    Parameters
    ----------
    responses_or_frame : ResponseSet or DataFrame
        :func:`iasem.read_responses`' result (the instrument gives the categories' labels and the constructs)
        or a data frame of answers (whole numbers).
    items : list of str, optional
        The items to show, in order (default: the Likert items with answers; with a data frame, every numeric
        column). They must share one scale.
    scale_labels : mapping or sequence, optional
        The categories' labels ``{value: label}`` (or labels for the values 1, 2, ...): they override the
        scale's and are needed to name the categories of a data frame.
    lang : {"en", "nl"}
        The language of the scale's labels and the constructs' names.
    constructs : mapping, optional
        ``{construct: [items]}`` to group the items of a data frame (a ResponseSet's instrument knows them).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One horizontal stacked bar per item, one ``BarContainer`` per category; the shares drawn are in its
        attribute ``iasem_shares`` (items x category values).

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame({"q1": [1, 2, 3, 4, 5, 5], "q2": [3, 3, 4, 4, 5, 2]})
    >>> fig = item_distributions(answers, scale_labels=["--", "-", "0", "+", "++"])
    >>> [label.get_text() for label in fig.axes[0].get_yticklabels()]
    ['q1', 'q2']
    """
    if lang not in TEXTS:
        raise IasemError(f"lang={lang!r} is not available; choose from {', '.join(TEXTS)}")
    data, items, categories, groups = _inputs(responses_or_frame, items, scale_labels, lang, constructs)
    values = list(categories)
    shares = pd.DataFrame(0.0, index=items, columns=values)
    counts = {}
    for item in items:
        column = pd.to_numeric(data[item], errors="coerce").dropna()
        outside = sorted(set(column.astype(float)) - {float(v) for v in values})
        if outside:
            raise IasemError(f"item {item} has answers {outside[:5]} outside the scale's values {values}")
        counts[item] = len(column)
        if len(column):
            tally = column.value_counts()
            shares.loc[item] = [float(tally.get(v, 0)) / len(column) for v in values]
    k = len(values)
    colours = _colours(k)
    # Rows from the top: a construct's heading, then its items.
    rows: list[tuple[str, str]] = []
    for name, members in groups:
        if name is not None:
            rows.append(("heading", name))
        rows += [("item", m) for m in members]
    y = {item: i for i, (kind, item) in enumerate(rows) if kind == "item"}
    fig, ax = new_axes(7.5, 1.5 + 0.28 * len(rows))
    ys = np.array([y[i] for i in items], dtype=float)
    below = shares.iloc[:, : k // 2].sum(axis=1).to_numpy() + (shares.iloc[:, k // 2].to_numpy() / 2 if k % 2 else 0)
    left = -below
    for j, value in enumerate(values):
        width = shares[value].to_numpy()
        ax.barh(ys, width, left=left, height=0.72, color=colours[j], edgecolor="white", linewidth=0.5,
                label=categories[value])  # fmt: skip
        left = left + width
    ax.axvline(0, color=GREY, linewidth=0.8, zorder=0)
    ax.set_yticks(ys, [f"{i}" for i in items])
    for row, (kind, name) in enumerate(rows):
        if kind == "heading":
            ax.text(0.0, row, name, ha="left", va="center", fontweight="bold", transform=ax.get_yaxis_transform())
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(-1, 1)
    ticks = np.linspace(-1, 1, 9)
    ax.set_xticks(ticks, [f"{abs(t):.0%}" for t in ticks])
    ax.set_xlabel(TEXTS[lang][0])
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=min(k, 5), frameon=False,
               fontsize="small")  # fmt: skip
    if title:
        ax.set_title(title)
    fig.iasem_shares = shares  # the numbers drawn, for tables and tests
    return fig


def _colours(k: int) -> list:
    """A diverging purple-orange (colour-blind safe, ColorBrewer's PuOr) with a grey neutral category."""
    cmap = colormaps["PuOr"]
    colours = [cmap(x) for x in np.linspace(0.1, 0.9, k)]
    if k % 2:
        colours[k // 2] = LIGHT_GREY
    return colours


def _inputs(source, items, scale_labels, lang, constructs):
    """The answers, the items, ``{value: label}`` of the categories and ``[(heading, items)]``."""
    instrument = getattr(source, "instrument", None)
    data = source.data if hasattr(source, "data") and instrument is not None else source
    if not isinstance(data, pd.DataFrame):
        raise IasemError(f"item_distributions() takes a ResponseSet or a DataFrame, not {type(source).__name__}")
    questions = {q.code: q for q in instrument.likert_questions} if instrument is not None else {}
    if items is None:
        if questions:
            answered = [c for c in questions if c in data and data[c].notna().any()]
            common = Counter(questions[c].scale_id for c in answered).most_common(1)
            items = [c for c in answered if common and questions[c].scale_id == common[0][0]]
        else:
            items = [c for c in data.columns if pd.api.types.is_numeric_dtype(data[c]) and data[c].notna().any()]
    items = list(dict.fromkeys(items))
    if not items:
        raise IasemError("no items to plot")
    missing = [i for i in items if i not in data.columns]
    if missing:
        raise IasemError(f"the data have no column(s) {', '.join(missing)}")
    scales = {questions[i].scale_id for i in items if i in questions}
    if len(scales) > 1:
        raise IasemError(f"the items use different scales ({', '.join(sorted(scales))}); plot each scale's items "
                         "on its own")  # fmt: skip
    if scale_labels is not None:
        if isinstance(scale_labels, Mapping):
            categories = {int(v): str(label) for v, label in scale_labels.items()}
        else:
            categories = {v + 1: str(label) for v, label in enumerate(scale_labels)}
    elif scales:
        scale = next(questions[i].scale for i in items if i in questions)
        categories = {o.value: getattr(o, lang) for o in scale.options}
    else:
        observed = pd.concat([pd.to_numeric(data[i], errors="coerce") for i in items]).dropna().unique()
        if np.any(observed != np.round(observed)):
            raise IasemError("the answers are not whole numbers; give scale_labels")
        categories = {int(v): str(int(v)) for v in sorted(observed)}
    categories = dict(sorted(categories.items()))
    if len(categories) < 2:
        raise IasemError("a Likert plot needs at least two categories")
    groups: list[tuple[str | None, list[str]]] = []
    if constructs is not None:
        membership = {i: str(c) for c, members in constructs.items() for i in members}
    elif questions:
        names = {c.id: c.name[lang] for c in instrument.constructs}
        membership = {i: names.get(questions[i].construct, questions[i].construct) for i in items if i in questions}
    else:
        membership = {}
    for item in items:
        heading = membership.get(item)
        if groups and groups[-1][0] == heading:
            groups[-1][1].append(item)
        else:
            groups.append((heading, [item]))
    if len(groups) == 1 and groups[0][0] is None:
        groups = [(None, items)]
    return data, items, categories, groups
