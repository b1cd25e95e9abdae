"""Similarity curves of sanity checks, one line per method."""

import numpy as np
from mne.utils import _check_option, _validate_type
from mne.viz.utils import plt_show

from ._result import SanityCheckResult
from ._similarity import SIMILARITY_METRICS


def plot_sanity_check(
    results, *, metric: str | None = None, axes=None, show: bool = True
):
    """Plot similarity curves of one or several sanity checks.

    Parameters
    ----------
    results : SanityCheckResult | list of SanityCheckResult
        Results of one check, e.g. for several methods, one line each.
    metric : "spearman_abs" | "spearman" | "ssim" | "pearson" | None
        The measure plotted; None plots the one the verdict rests on.
    axes : matplotlib.axes.Axes | None
        Where to draw; None makes a new figure.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Mean similarity per step (one point for checks with one step), with a
        band from the 25th to the 75th percentile over epochs, and the
        verdict's threshold as a dashed line.
    """
    import matplotlib.pyplot as plt

    if isinstance(results, SanityCheckResult):
        results = [results]
    _validate_type(results, (list, tuple), "results", "SanityCheckResult or list")
    if not results:
        raise ValueError("results is empty; give at least one SanityCheckResult.")
    for index, result in enumerate(results):
        _validate_type(result, SanityCheckResult, f"results[{index}]")
    first = results[0]
    metric = first.metric if metric is None else metric
    _check_option("metric", metric, SIMILARITY_METRICS)
    if axes is None:
        _, axes = plt.subplots(figsize=(6, 3.5), layout="constrained")
    positions = np.arange(len(first.steps))
    for result in results:
        if result.steps != first.steps:
            raise ValueError(
                f"results[{results.index(result)}] has steps {result.steps}, "
                f"results[0] has {first.steps}; plot results of one check on "
                "one network together."
            )
        (line,) = axes.plot(
            positions, result.mean[metric], marker="o", label=result.method
        )
        low, high = np.nanpercentile(result.similarity[metric], [25, 75], axis=1)
        axes.fill_between(positions, low, high, color=line.get_color(), alpha=0.2)
    axes.set_xticks(positions, first.steps, rotation=45, ha="right")
    if metric == first.metric:
        axes.axhline(first.threshold, color="k", linestyle="--", linewidth=1)
    axes.axhline(0, color="0.7", linewidth=0.5)
    axes.set(
        xlabel=f"{first.check} randomization",
        ylabel=f"similarity ({metric})",
        ylim=(-1.05, 1.05),
    )
    axes.legend(loc="best")
    plt_show(show)
    return axes.figure
