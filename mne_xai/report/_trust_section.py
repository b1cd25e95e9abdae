"""The trust section: the trust summary's table, readings and curves."""

import html

import matplotlib.pyplot as plt
import numpy as np

from .._figure_text import _wrap_text
from ..attribution._registry import needs_patterns
from ..evaluate import CurveResult, plot_sanity_check, trust_summary

_TRUST_COLUMNS = {
    "similarity": "similarity after randomization",
    "input_similarity": "randomized map vs |x|",
    "beyond_input": "similarity beyond |x|",
    "randomization": "randomization",
    "target_similarity": "similarity to another class's map",
    "target_randomization": "target randomization",
}


def _trust_table(summary):
    """Lay the summary out for the page: deletion per class, then randomization."""
    gains = summary.class_gains.assign(
        text=[
            f"{row.gain:+.2f} ({row.deletion})"
            for row in summary.class_gains.itertuples()
        ]
    ).pivot(index="method", columns="class", values="text")
    # pivot sorts the classes; the figures and readings keep their order.
    gains = gains[summary.class_gains["class"].drop_duplicates()]
    gains.columns = [f"gain, {name}" for name in gains.columns]
    table = summary.table[["aopc"]].rename(columns={"aopc": "AOPC"}).join(gains)
    table = table.join(
        summary.table[list(_TRUST_COLUMNS)].rename(columns=_TRUST_COLUMNS)
    )
    # The anchor has no gain nor randomization: blank cells, not NaN.
    return (
        table.map(lambda value: f"{value:.2f}" if isinstance(value, float) else value)
        .replace("nan", "")
        .fillna("")
    )


def _class_curve(curve, index):
    """Return the deletion curve of the epochs of one class."""
    keep = curve.target == index
    return CurveResult(
        fractions=curve.fractions,
        scores=curve.scores[keep],
        aopc=curve.aopc[keep],
        target=curve.target[keep],
    )


def _plot_deletion(summary):
    """Plot deletion curves per class, since the zeroed epoch can favour a class."""
    targets = np.unique(summary.deletion_curves["random"].target)
    fig, axes = plt.subplots(
        1,
        len(targets),
        figsize=(1 + 4.5 * len(targets), 4),
        layout="constrained",
        squeeze=False,
        sharey=True,
    )
    # Each method in the colour the randomization curves beside give it (the
    # default cycle over the methods checked), random deletion in grey.
    methods = [method for method in summary.deletion_curves if method != "random"]
    colors = {method: f"C{index % 10}" for index, method in enumerate(methods)}
    colors["random"] = "0.5"
    for ax, index in zip(axes[0], targets, strict=True):
        for method, curve in summary.deletion_curves.items():
            _class_curve(curve, index).plot(
                label=method, color=colors[method], axes=ax, show=False
            )
        ax.set(
            title=_wrap_text(f"{summary.class_names[index]} epochs", 4),
            xlabel="fraction of samples set to zero,\nmost relevant first",
        )
    for ax in axes[0, 1:]:
        ax.set_ylabel("")
    fig.suptitle("Deletion curves: mean over a class's epochs, 25th-75th percentile")
    return fig


def _add_trust(context, checks):
    context.paragraph("trust")
    if context.beats_chance is False:
        context.add_html(
            '<div class="alert alert-danger" role="alert">The network does not '
            "beat chance (see the accuracy section): its maps explain noise, and "
            "no reading below makes them worth interpreting.</div>",
            "The network does not beat chance",
            "trust",
        )
    if not checks:
        context.note(
            "trust", "The trust checks were not run (checks=False, --no-checks)."
        )
        return
    methods, refused = context.comparable_across_channels("the trust checks")
    for method, reason in refused.items():
        context.note("trust", f"{method} is not checked: {reason}")
    for method in filter(needs_patterns, methods):
        context.note(
            "trust",
            f"{method} is not checked: its patterns would have to be learned again "
            "for every randomized network, which the checks do not do.",
        )
    if "random" in methods:
        context.note(
            "trust",
            "random is not checked: it is the anchor the checks compare every "
            "other method with (random deletion), not a map to trust.",
        )
    methods = [m for m in methods if m != "random" and not needs_patterns(m)]
    if not methods:
        return
    try:
        with context.warnings_noted("trust"):
            summary = trust_summary(
                context.estimator,
                context.epochs,
                methods,
                target=context.target,
                random_state=context.random_state,
            )
    except ValueError as err:
        context.note("trust", f"The checks could not run on this network: {err}")
        return
    context.add_table(_trust_table(summary), "Summary", "trust")
    context.add_html(f"<p>{html.escape(summary.legend)}</p>", "The columns", "trust")
    readings = "".join(
        f"<li><strong>{html.escape(method)}: {html.escape(row.advice)}</strong>"
        f"{html.escape(row.reading.removeprefix(row.advice))}</li>"
        for method, row in summary.table.iterrows()
    )
    context.add_html(f"<ul>{readings}</ul>", "Readings", "trust")
    context.add_figures([_plot_deletion(summary)], "Deletion curves", "trust")
    context.add_figures(
        [plot_sanity_check(list(summary.sanity_checks.values()), show=False)],
        "Randomization curves",
        "trust",
    )
