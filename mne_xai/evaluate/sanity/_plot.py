"""Similarity curves of sanity checks, one line per method."""

import numpy as np
from mne.utils import _check_option, _validate_type
from mne.viz.utils import plt_show

from ..._checks import check_axes
from ..._figure_text import plain_text
from ..._warnings import ignoring
from ._result import SanityCheckResult
from ._similarity import SIMILARITY_METRICS

_TITLES = {
    "cascading": "Cascading parameter randomization",
    "independent": "Independent parameter randomization",
    "target": "Target randomization",
    "data": "Data randomization",
}
_STEP_LABELS = {
    "cascading": "layers re-initialized, from the output down (cumulative)",
    "independent": "layer re-initialized (one at a time)",
    "target": "maps explaining a random other class",
    "data": "maps of a network trained on shuffled labels",
}


@plain_text()
def plot_sanity_check(
    results,
    *,
    metric: str | None = None,
    axes=None,
    title: str | None = None,
    show: bool = True,
):
    """Plot similarity curves of one sanity check, for one or several methods.

    Parameters
    ----------
    results : SanityCheckResult | list of SanityCheckResult | dict
        Results of one check, e.g. for several methods, one line each; a dict
        (:attr:`TrustSummary.sanity_checks <mne_xai.evaluate.TrustSummary>`)
        gives its values.
    metric : "spearman_abs" | "spearman" | "ssim" | "pearson" | None
        The measure plotted; None plots the one the verdict rests on.
    axes : matplotlib.axes.Axes | None
        Where to draw; None makes a new figure.
    title : str | None
        Title of the axes; None names the check.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Mean similarity per step (one point for checks with one step), with a
        band from the 25th to the 75th percentile over epochs, and the
        verdict's threshold as a dashed line; the legend, outside the axes,
        names the methods, the band and the threshold.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from ..._figure_text import _text_height, _text_width, _wrap_text

    if isinstance(results, SanityCheckResult):
        results = [results]
    if isinstance(results, dict):  # e.g. TrustSummary.sanity_checks, by method
        results = list(results.values())
    _validate_type(results, (list, tuple), "results", "SanityCheckResult, list or dict")
    if not results:
        raise ValueError("results is empty; give at least one SanityCheckResult.")
    for index, result in enumerate(results):
        _validate_type(result, SanityCheckResult, f"results[{index}]")
    _validate_type(title, (str, None), "title")
    check_axes(axes)
    first = results[0]
    metric = first.metric if metric is None else metric
    _check_option("metric", metric, SIMILARITY_METRICS)
    # Layer names of nested networks run long; wrapped, they stay on the figure.
    # Only long ones wrap: slanted labels of two lines collide with their
    # neighbours in narrow axes, while labels of one line lie side by side.
    step_labels = [_wrap_text(step, 2.5) for step in first.steps]
    if axes is None:
        # Room under the axes for the tick labels, slanted at 45 degrees.
        below = max(
            _text_width(label) + _text_height(label) for label in step_labels
        ) / np.sqrt(2)
        _, axes = plt.subplots(figsize=(7.5, 3.2 + below), layout="constrained")
    positions = np.arange(len(first.steps))
    for index, result in enumerate(results):
        # Cascading and independent checks share their steps: a mix was drawn
        # under the first one's title, both lines named by the method alone.
        if result.check != first.check or result.steps != first.steps:
            raise ValueError(
                f"results[{index}] holds the {result.check} check of steps "
                f"{result.steps}, results[0] the {first.check} check of "
                f"{first.steps}; plot results of one check on one network together."
            )
    # One threshold line where the verdicts share it; else each its own, in
    # its method's colour (a method passing at 0.5 sat above a line at 0.4).
    verdicts = {(result.metric, result.threshold) for result in results}
    shared = len(verdicts) == 1
    for result in results:
        _draw_curve(axes, result, metric, own_threshold=not shared)
    axes.set_xticks(
        positions,
        step_labels,
        rotation=45,
        ha="right",
        rotation_mode="anchor",
    )
    if shared and metric == first.metric:
        axes.axhline(
            first.threshold,
            color="k",
            linestyle="--",
            linewidth=1,
            label=f"threshold {first.threshold:g}\n(passes below)",
        )
    axes.axhline(0, color="0.7", linewidth=0.5)
    # The axes' share of the figure, of which the legend beside them takes
    # about a quarter: titles wrap to it, also in axes the caller laid out.
    axes_width = axes.get_position().width * axes.figure.get_figwidth()
    axes.set(
        xlabel=_wrap_text(_STEP_LABELS.get(first.check, first.check), axes_width),
        ylabel=f"similarity to the original maps\n({metric}, mean over epochs)",
        ylim=(-1.05, 1.05),
    )
    title = (
        f"{_TITLES.get(first.check, first.check)} sanity check"
        if title is None
        else title
    )
    axes.set_title(_wrap_text(title, 0.75 * axes_width, "large"))
    handles, _ = axes.get_legend_handles_labels()
    band = Patch(color="0.5", alpha=0.3, label="25th-75th percentile\nover epochs")
    axes.legend(
        handles=[*handles, band],
        loc="upper left",
        bbox_to_anchor=(1.02, 1),
        fontsize="small",
    )
    plt_show(show)
    return axes.figure


def _draw_curve(axes, result, metric, *, own_threshold):
    """Draw one result's mean similarity per step, with its band over epochs."""
    from ..._figure_text import _wrap_text

    positions = np.arange(len(result.steps))
    (line,) = axes.plot(
        positions,
        result.mean[metric],
        marker="o",
        label=_wrap_text(result.method, 2.0, "small"),
    )
    # A step whose maps were all constant has no quartiles (NaN, a gap in
    # the band), of which the check already warned.
    with ignoring("All-NaN slice"):
        low, high = np.nanpercentile(result.similarity[metric], [25, 75], axis=1)
    if len(positions) == 1:  # a band of one step has no width
        # Centred on the quartiles, not on the mean, which a skewed spread over
        # epochs puts outside them (matplotlib refuses negative errors).
        axes.errorbar(
            positions,
            (low + high) / 2,
            yerr=(high - low) / 2,
            fmt="none",
            color=line.get_color(),
            alpha=0.4,
            capsize=8,
            linewidth=6,
        )
    else:
        axes.fill_between(positions, low, high, color=line.get_color(), alpha=0.2)
    if own_threshold and metric == result.metric:
        axes.axhline(
            result.threshold,
            color=line.get_color(),
            linestyle="--",
            linewidth=1,
            label=f"its threshold {result.threshold:g}\n(passes below)",
        )
