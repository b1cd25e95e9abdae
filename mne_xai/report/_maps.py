"""The explanation sections: maps per class, over time, per frequency and channel type.

Also the spatial patterns of a network's filters, read from its weights.
"""

import matplotlib.pyplot as plt
import mne
import numpy as np
from mne.io.pick import _picks_to_idx
from mne.utils import logger, use_log_level

from .._outputs import evoked_array
from .._warnings import ignoring, quietly
from ..attribution import explain, explain_spectrum, method_unit, modality_importance
from ..attribution._registry import needs_patterns
from ..inspect import learn_patterns, spatial_patterns
from ..viz import (
    _bands_reached,
    plot_attribution_joint,
    plot_band_topomaps,
    plot_class_topomaps,
    plot_method_comparison,
)
from ._text import HOW_TO_READ


def _explain_all(context):
    """Explain every method once; a method the network refuses is noted.

    Methods passing the decision back through patterns (PatternNet,
    PatternAttribution) get them learned from the epochs the network was
    fitted on, as Kindermans et al. do: all epochs when the report fitted
    it, the epochs given (representative of what is explained) otherwise.
    """
    patterns = None
    for method in context.methods:
        params = {}
        try:
            if needs_patterns(method):
                if patterns is None:  # learned once, for both methods
                    patterns = learn_patterns(
                        context.estimator, context.epochs, verbose=quietly()
                    )
                params["patterns"] = patterns
            attribution = explain(
                context.estimator,
                context.epochs,
                method,
                target=context.target,
                random_state=context.random_state,
                verbose=quietly(),
                **params,
            )
            context.attributions[method] = _grouped_by_class(
                attribution, context.y, context.class_names
            )
        except ValueError as err:
            context.refused[method] = str(err)
            logger.info(f"  {method} refused: {err}")
    if not context.attributions:
        raise ValueError(
            "The network refuses every method asked for: "
            + " ".join(f"{m}: {e}" for m, e in context.refused.items())
        )


def _grouped_by_class(attribution, y, class_names):
    """Return the maps with the classes of ``y`` as their events.

    The per-class figures and tables group epochs by their events, which are
    not the classes explained when ``y`` gives other labels.
    """
    labels, codes = np.unique(y, return_inverse=True)
    events = attribution.events.copy()  # may be the epochs' own array
    events[:, 2] = codes + 1
    attribution.events = events
    attribution.event_id = {
        str(class_names.get(label, label)): code
        for code, label in enumerate(labels.tolist(), start=1)
    }
    return attribution


def _same_on_every_channel(attribution):
    """Whether every channel holds the same map (it says when, not where)."""
    data = attribution.get_data()
    return bool(np.all(data == data[:, :1]))


def _add_maps(context):
    plan = context.plan
    topomaps = plan.topomap_type is not None
    network_info = mne.pick_info(
        context.epochs.info, mne.pick_channels(context.epochs.ch_names, plan.ch_names)
    )
    context.paragraph(
        "maps",
        text=None if topomaps else "maps_without_topomaps",
        gradient_unit=method_unit("saliency", network_info),
    )
    for method, reason in context.refused.items():
        context.note("maps", f"{method} is not shown: {reason}")
    # A map zero everywhere was said to be the same on every channel "after the
    # network combines the channels": a network whose output does not move
    # with its input (units that never activate) gives no relevance at all.
    empty = [
        method
        for method, attribution in context.attributions.items()
        if not np.any(attribution.get_data())
    ]
    for method in empty:
        context.note(
            "maps",
            f"{method} gives no relevance: its maps are zero on every channel and "
            "sample of these epochs, where the network's output does not change "
            "with its input (e.g. units that never activate; see the accuracy "
            "section), so they show nothing.",
        )
    if plan.topomap_type is None:
        context.note("maps", f"No topomaps: {plan.why_no_topomaps}.")
        return
    # Class activation maps of a layer after the network combines the channels
    # give every channel the same relevance: a topomap would draw a uniform
    # scalp as if every channel contributed alike.
    mapped = {
        method: attribution
        for method, attribution in context.attributions.items()
        if not _same_on_every_channel(attribution)
    }
    for method in context.attributions.keys() - mapped.keys() - set(empty):
        context.note(
            "maps",
            f"{method} has no topomaps: it gives every channel the same relevance "
            "(its layer comes after the network combines the channels), so it "
            "tells when, not where; see its time course.",
        )
    if not mapped:
        return
    if len(plan.ch_types) > 1:
        others = ", ".join(
            f"{count} {kind}"
            for kind, count in plan.ch_types.items()
            if kind != plan.topomap_type
        )
        context.note(
            "maps",
            f"The topomaps show the {plan.ch_types[plan.topomap_type]} "
            f"{plan.topomap_type} channels only, the network's most numerous brain "
            "channel type; "
            f"the relevance of its other channels ({others}) is in the modality "
            "section.",
        )
    methods = list(mapped)
    # Every method's maps are given: nothing is explained again.
    comparison = plot_method_comparison(
        context.estimator,
        context.epochs,
        methods,
        ch_type=plan.topomap_type,
        attributions=mapped,
        title="Channel importance per class, each method on its own relative scale",
        show=False,
        verbose=quietly(),
    )
    context.add_figures([comparison], "All methods, relative scale", "maps")
    context.add_figures(
        [
            plot_class_topomaps(
                attribution,
                ch_type=plan.topomap_type,
                units=f"relevance ({method_unit(method, attribution.info)})",
                title=f"{method}: channel importance per class",
                show=False,
            )
            for method, attribution in mapped.items()
        ],
        "Each method in its unit",
        "maps",
        caption=[f"{method}" for method in methods],
    )


def _mean_magnitude(attribution, pick):
    """Mean |relevance| over epochs, as an Evoked of the picked channels."""
    attribution = attribution.copy().pick(pick)
    return evoked_array(
        np.abs(attribution.get_data()).mean(axis=0),
        attribution.info,
        attribution.tmin,
        comment="mean |relevance|",
        nave=len(attribution),
    )


def _data_or_all(info):
    """Pick MNE's data channels, or every channel where none is one.

    A network given misc channels by its picks reads no data channel, and
    MNE's ``pick("data")`` refuses such maps.
    """
    data = _picks_to_idx(info, "data", exclude=(), allow_empty=True)
    return "data" if len(data) else "all"


#: Most channels whose time courses one figure draws, each named in its legend.
_MAX_TIME_COURSES = 8


def _plot_time_course(evoked, title, units):
    """Mean |relevance| against time, for data with no topomaps.

    Of more than :data:`_MAX_TIME_COURSES` channels (no positions, sEEG
    contacts), those of the largest mean: a line per channel drew 32 in ten
    colours, under a legend taller than the plot.
    """
    n_channels = len(evoked.ch_names)
    if n_channels > _MAX_TIME_COURSES:
        largest = np.argsort(evoked.data.mean(axis=1))[::-1][:_MAX_TIME_COURSES]
        evoked = evoked.copy().pick(np.sort(largest))
        title = f"{title}\n({_MAX_TIME_COURSES} most relevant of {n_channels} channels)"
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    for name, values in zip(evoked.ch_names, evoked.data, strict=True):
        ax.plot(evoked.times, values, label=name)
    ax.set(xlabel="time (s)", ylabel=units, title=title)
    ax.legend(loc="upper right", fontsize="small")
    return fig


def _every_channel(evoked):
    """Return the mean over ``evoked``'s channels as one channel, "every channel"."""
    data = evoked.data.mean(axis=0, keepdims=True)
    info = mne.create_info(["every channel"], evoked.info["sfreq"], "misc")
    return mne.EvokedArray(data, info, tmin=evoked.tmin, verbose=quietly())


def _add_time(context):
    plan = context.plan
    windows = context.windows_read()
    context.paragraph(
        "time",
        topomaps="" if plan.topomap_type is None else ", with topomaps at its peaks",
        lines="one line per channel"
        if plan.topomap_type is not None
        else f"one line per channel, of the {_MAX_TIME_COURSES} of largest mean "
        f"where there are more",
        unread=""
        if windows is None
        else f" The network reads {windows}: outside them relevance is zero because "
        "those samples are not read, not because they carry no evidence.",
    )
    figures = []
    for method, attribution in context.attributions.items():
        title = f"{method}: mean |relevance| over epochs"
        units = f"|relevance| ({method_unit(method, attribution.info)})"
        if plan.topomap_type is None or _same_on_every_channel(attribution):
            evoked = _mean_magnitude(attribution, _data_or_all(attribution.info))
            if plan.topomap_type is not None:  # one line for all channels
                evoked = _every_channel(evoked)
            figures.append(_plot_time_course(evoked, title, units))
            continue
        evoked = _mean_magnitude(attribution, plan.topomap_type)
        try:
            # plot_joint logs that the maps have no projectors; they need none.
            with use_log_level(quietly()):
                figures.append(
                    plot_attribution_joint(evoked, units=units, title=title, show=False)
                )
        except ValueError as err:
            # MNE's joint plot does not draw every channel type (ECoG): the
            # mean over the channels stands in for it.
            logger.info(f"  no joint plot of {method}: {err}")
            figures.append(_plot_time_course(_every_channel(evoked), title, units))
    context.add_figures(
        figures, "Mean relevance magnitude", "time", caption=list(context.attributions)
    )


def _plot_frequency_relevance(spectrum, y, event_names):
    """Relevance magnitude summed over channels, against frequency, per class."""
    # Every channel the network read: MNE's default leaves out those marked
    # bad, which the band topomaps beside it show.
    relevance, freqs = spectrum.get_data(exclude=(), return_freqs=True)
    magnitude = np.abs(relevance).sum(axis=1)
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    for label in np.unique(y):
        ax.plot(
            freqs,
            magnitude[y == label].mean(axis=0),
            label=str(event_names.get(label, label)),
        )
    ax.set(
        xlabel="frequency (Hz)",
        ylabel="|relevance| (logit),\nsummed over channels",
        title="Relevance per frequency (gradient x input on the spectrum)",
        xlim=(freqs[0], freqs[-1]),
    )
    ax.legend(loc="upper right", title="class")
    return fig


def _add_spectrum(context):
    plan = context.plan
    try:
        with context.warnings_noted("spectrum"):
            spectrum = explain_spectrum(
                context.estimator,
                context.epochs,
                target=context.target,
                random_state=context.random_state,
                verbose=quietly(),
            )
    except ValueError as err:
        context.note("spectrum", f"Spectral relevance could not be computed: {err}")
        return
    names = context.class_names
    freqs = spectrum.freqs
    bands = (
        HOW_TO_READ["spectrum_bands"]
        if plan.topomap_type is not None
        else f"no band topomaps: {plan.why_no_topomaps}."
    )
    context.paragraph("spectrum", resolution=freqs[1] - freqs[0], bands=bands)
    figures = [_plot_frequency_relevance(spectrum, context.y, names)]
    if plan.topomap_type is not None:
        figures.append(
            plot_band_topomaps(
                spectrum,
                absolute=True,
                ch_type=plan.topomap_type,
                units="|relevance| (logit)",
                title="Relevance per band",
                show=False,
            )
        )
    for figure, title in zip(
        figures, ["Relevance per frequency", "Relevance per band"], strict=False
    ):
        context.add_figures([figure], title, "spectrum")
    if plan.topomap_type is not None:
        context.note("spectrum", _outside_the_bands(spectrum))


def _outside_the_bands(spectrum):
    """Say how much of the relevance the band topomaps leave out, below and above.

    On simulated epochs, 83 percent of it lay below 4 Hz, where the theta map
    looked the strongest of the three.
    """
    # Every channel the network read, as the line and the band topomaps.
    data = np.abs(spectrum.get_data(exclude=()))
    magnitude = data.reshape(-1, data.shape[-1]).sum(axis=0)
    # The bands drawn, which stop at the Nyquist frequency (at 20 Hz, theta
    # and 8-10 Hz; at 8 Hz or less, all frequencies).
    bands = _bands_reached(spectrum.freqs).values()
    low = max(min(fmin for fmin, _ in bands), spectrum.freqs[0])
    high = min(max(fmax for _, fmax in bands), spectrum.freqs[-1])
    total = magnitude.sum()
    if not total:  # was said as nan% of the |relevance| in and out of the bands
        return (
            "The spectrum holds no relevance: the network's output does not change "
            "with any frequency of these epochs."
        )
    below = magnitude[spectrum.freqs < low].sum() / total
    above = magnitude[spectrum.freqs > high].sum() / total
    return (
        f"The band topomaps show {low:g}-{high:g} Hz, which holds "
        f"{1 - below - above:.0%} of the |relevance|; {below:.0%} lies below "
        f"{low:g} Hz and {above:.0%} above {high:g} Hz (see the line above)."
    )


def _add_modality(context):
    types = context.plan.ch_types
    if len(types) < 2:
        (kind,) = types
        context.note(
            "modality",
            f"The network reads one channel type ({kind}), so there is no share of "
            "relevance between types to show.",
        )
        return
    comparable, refused = context.comparable_across_channels(
        "the share of each channel type"
    )
    if "random" in comparable:
        # Noise drawn whatever the network: its shares follow the channel
        # counts, and stood in for a method listed after it.
        comparable.remove("random")
        refused["random"] = (
            "random is not shown: its maps are noise drawn whatever the network "
            "(the anchor of the trust checks), whose shares follow the number of "
            "channels of each type."
        )
    if not comparable:
        context.note("modality", " ".join(refused.values()))
        return
    method = comparable[0]
    context.paragraph(
        "modality",
        method=method,
        unit=method_unit(method, context.attributions[method].info),
    )
    # The method was chosen comparable across types (maps in logits): the
    # warning that maps per unit of input would compare the units is not
    # about it.
    with ignoring("The channels are of several types"):
        table = modality_importance(context.attributions[method], kind="global")
    table["relevance per channel"] = table["relevance"] / table["n_channels"]
    context.add_table(
        table.set_index(["class", "channel_type"]),
        "Share of relevance per channel type",
        "modality",
        float_format="{:.3g}".format,
    )


def _add_patterns(context):
    plan = context.plan
    if plan.topomap_type is None:
        context.note("patterns", f"No pattern topomaps: {plan.why_no_topomaps}.")
        return
    try:
        patterns = spatial_patterns(
            context.estimator, context.epochs, verbose=quietly()
        )
    except ValueError as err:
        context.note("patterns", f"The network has no spatial patterns to show: {err}")
        return
    context.paragraph("patterns")
    # A topomap shows one channel type; the filters of a network that also
    # reads, say, EOG weigh that channel too, which the table keeps. Patterns
    # are signed, which planar gradiometers (drawn as the RMS of each pair)
    # cannot show: magnetometers stand in for them where there are some.
    ch_type = plan.topomap_type
    if ch_type == "grad" and "mag" in plan.ch_types:
        ch_type = "mag"
    try:
        figure = patterns.plot(
            n_components=min(4, len(patterns.ranking)), ch_type=ch_type, show=False
        )
    except ValueError as err:
        context.note("patterns", f"No pattern topomaps: {err}")
    else:
        context.add_figures([figure], "Most contributing patterns", "patterns")
    context.add_table(
        patterns.ranking.head(8)
        .set_index("rank")
        .rename(
            columns={
                "input_map": "input map (temporal filter)",
                "contribution": "contribution (logit)",
            }
        ),
        f"Units of layer {patterns.layer}, by contribution",
        "patterns",
        float_format="{:.3g}".format,
    )
