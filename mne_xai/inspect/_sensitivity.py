"""Amplitude and phase sensitivity of a layer's units, band by band."""

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from mne.utils import _validate_type, logger, verbose
from scipy.optimize import brentq

from .._checks import check_axes, check_positive_int, check_seed, compute_device
from .._docs import fill_doc
from .._figure_text import plain_text
from .._network import as_network, check_reads_time
from ..attribution._core import _epoch_generators
from ._activations import batch_outputs, data_rate, find_layer, unit_output

#: Classical EEG bands in Hz, lower edge included and upper edge excluded.
DEFAULT_BANDS = {
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 45.0),
}
KINDS = ("amplitude", "phase")
UNIT_CLASSES = ("amplitude", "phase", "mixed", "insensitive")

#: Sum of the two sensitivities, in standard deviations of the unit's output,
#: below which a unit is insensitive: a unit tuned above every band responded
#: at float noise (both under 1e-5) and was called "mixed".
RESPONSE_FLOOR = 1e-3


@dataclass(eq=False)  # arrays inside: compared by identity, as MNE's objects
class UnitSensitivity:
    """How much each unit of a layer responds to the amplitude and the phase of bands.

    Returned by :func:`unit_sensitivity`; not meant to be built by hand.

    Attributes
    ----------
    layer : str
        The layer's name.
    bands : dict of str to tuple of float
        The frequency bands, ``name: (low, high)`` in Hz.
    amplitude : ndarray, shape (n_units, n_bands)
        Mean absolute change of each unit's output when the band's amplitude
        envelope is perturbed, in units of the standard deviation of the
        unit's output over the data (NaN for a unit whose output is constant).
    phase : ndarray, shape (n_units, n_bands)
        The same for perturbations of the band's phase.
    ratio : float
        A unit is amplitude-sensitive when its amplitude sensitivity exceeds
        its phase sensitivity by more than this factor, phase-sensitive in
        the reverse case, and mixed otherwise.
    """

    layer: str
    bands: dict
    amplitude: np.ndarray
    phase: np.ndarray
    ratio: float

    def _classify(self, amplitude, phase):
        """Log-ratio of the sensitivities and the class of each value."""
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.log(amplitude / phase)
        threshold = np.log(self.ratio)
        silent = np.isnan(log_ratio) | (amplitude + phase < RESPONSE_FLOOR)
        kind = np.select(
            [silent, log_ratio > threshold, log_ratio < -threshold],
            ["insensitive", "amplitude", "phase"],
            "mixed",
        )
        return log_ratio, kind

    def to_frame(self):
        """Return the sensitivity of every unit in every band.

        Returns
        -------
        table : pandas.DataFrame
            One row per unit and band: ``unit`` (its index along the layer's
            second axis), ``band``, ``amplitude_sensitivity``,
            ``phase_sensitivity``, ``log_ratio`` (natural log of amplitude over
            phase sensitivity) and ``class`` (``"amplitude"``, ``"phase"``,
            ``"mixed"``, or ``"insensitive"`` for a unit whose two
            sensitivities sum to less than 0.001, its output changing by less
            than a thousandth of its standard deviation).
        """
        n_units, n_bands = self.amplitude.shape
        log_ratio, kind = self._classify(self.amplitude, self.phase)
        return pd.DataFrame(
            {
                "unit": np.repeat(np.arange(n_units), n_bands),
                "band": np.tile(list(self.bands), n_units),
                "amplitude_sensitivity": self.amplitude.ravel(),
                "phase_sensitivity": self.phase.ravel(),
                "log_ratio": log_ratio.ravel(),
                "class": kind.ravel(),
            }
        )

    def summary(self):
        """Return each unit's class over all bands, and the band it responds to most.

        Returns
        -------
        table : pandas.DataFrame
            One row per unit: ``amplitude_sensitivity`` and
            ``phase_sensitivity`` summed over the bands (each band is
            perturbed alone, so the sums are the unit's response to the whole
            spectrum covered), their ``log_ratio`` and ``class`` by the rule
            of ``ratio``; ``band``, the band with the largest sum of both
            sensitivities, and ``band_class``, the unit's class in that band
            (missing, NaN, and ``"insensitive"`` for a unit that does not
            respond). The perturbation of a band spreads a little into its
            neighbours, moving amplitude and phase alike there, so the sums
            lean to ``"mixed"``: a unit tuned to one band (a phase unit whose
            ratio in alpha was 2.1 to 2.4) can be ``"mixed"`` over all bands.
            For such units, read ``band_class``.
        """
        amplitude, phase = self.amplitude.sum(axis=1), self.phase.sum(axis=1)
        log_ratio, kind = self._classify(amplitude, phase)
        total = self.amplitude + self.phase
        responds = kind != "insensitive"
        best = np.argmax(np.where(np.isnan(total), -np.inf, total), axis=1)
        band_kind = self._classify(self.amplitude, self.phase)[1]
        return pd.DataFrame(
            {
                "unit": np.arange(len(amplitude)),
                "amplitude_sensitivity": amplitude,
                "phase_sensitivity": phase,
                "log_ratio": log_ratio,
                "class": kind,
                "band": np.where(responds, np.array([*self.bands], object)[best], None),
                "band_class": np.where(
                    responds, band_kind[np.arange(len(best)), best], "insensitive"
                ),
            }
        ).set_index("unit")

    @plain_text()
    def plot(self, *, axes=None, show=True):
        """Plot the band profile: amplitude against phase sensitivity per band.

        Parameters
        ----------
        axes : matplotlib.axes.Axes | None
            Where to draw; None makes a new figure.
        show : bool
            Show the figure.

        Returns
        -------
        fig : matplotlib.figure.Figure
            The log2 ratio of amplitude to phase sensitivity per unit (rows,
            labelled with the unit's class over all bands) and band
            (columns, labelled with their edges in Hz): red for amplitude,
            blue for phase; the lines on the colour bar mark the
            classification threshold ``ratio``.
        """
        import matplotlib.pyplot as plt
        from mne.viz.utils import plt_show

        from .._figure_text import _wrap_text

        n_units, n_bands = self.amplitude.shape
        check_axes(axes)
        if axes is None:
            _, axes = plt.subplots(
                figsize=(3.2 + 1.0 * n_bands, 1.6 + 0.25 * n_units),
                layout="constrained",
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            log2_ratio = np.log2(self.amplitude / self.phase)
        threshold = np.log2(self.ratio)
        # Room beyond the thresholds, whose lines sat on the bar's ends when
        # every unit was within them.
        limit = max(
            np.abs(log2_ratio[np.isfinite(log2_ratio)]).max(initial=0), 1.5 * threshold
        )
        image = axes.imshow(
            log2_ratio, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit
        )
        classes = self.summary()["class"]
        axes.set_yticks(
            np.arange(n_units), [f"{unit} ({kind})" for unit, kind in classes.items()]
        )
        axes.set_xticks(
            np.arange(n_bands),
            [
                f"{_wrap_text(name, 0.9)}\n{low:g}-{high:g} Hz"
                for name, (low, high) in self.bands.items()
            ],
        )
        title = f"Amplitude vs phase sensitivity, layer {self.layer!r}"
        axes.set(
            xlabel="frequency band",
            ylabel="unit (class over all bands)",
            # The colorbar takes about 1.5 inches beside the axes.
            title=_wrap_text(title, axes.figure.get_figwidth() - 1.5, "large"),
        )
        colorbar = axes.figure.colorbar(
            image,
            ax=axes,
            label="log2(amplitude / phase sensitivity)\n"
            f"black lines: class thresholds (ratio {self.ratio:g})",
        )
        for level in (-threshold, threshold):
            colorbar.ax.axhline(level, color="k", linewidth=1)
        plt_show(show)
        return axes.figure

    def __repr__(self):
        counts = self.summary()["class"].value_counts()
        described = ", ".join(
            f"{counts[kind]} {kind}" for kind in UNIT_CLASSES if kind in counts
        )
        return (
            f"<UnitSensitivity | layer {self.layer!r}, {len(self.amplitude)} units "
            f"({described}), bands {', '.join(self.bands)}>"
        )


def _check_bands(bands, sfreq, n_times):
    """Return the bands as floats, refusing any the epochs cannot resolve."""
    nyquist, resolution = sfreq / 2, sfreq / n_times
    defaults = bands is None
    if defaults:
        bands = {
            name: band for name, band in DEFAULT_BANDS.items() if band[1] <= nyquist
        }
        if len(bands) < len(DEFAULT_BANDS):
            logger.info(f"Leaving out the bands above {nyquist:g} Hz (Nyquist).")
    _validate_type(bands, dict, "bands", "dict of name: (low, high), or None")
    if not bands and defaults:
        # "bands is empty" spoke of bands the user never gave.
        raise ValueError(
            "The default bands all reach above the Nyquist frequency "
            f"({nyquist:g} Hz) of these epochs at {sfreq:g} Hz; give bands "
            "below it, as {name: (low, high)} in Hz."
        )
    if not bands:
        raise ValueError("bands is empty; give at least one (low, high) band in Hz.")
    checked = {}
    for name, edges in bands.items():
        # A tuple, list or array of two numbers, as MNE takes (fmin, fmax).
        edges = np.asarray(edges, dtype=object)
        if edges.shape != (2,) or not all(
            isinstance(edge, numbers.Real) for edge in edges
        ):
            raise ValueError(
                f"bands[{name!r}] must be two numbers (low, high) in Hz, got "
                f"{bands[name]!r}."
            )
        low, high = (float(edge) for edge in edges)
        if low == 0 < high:
            raise ValueError(
                f"Band {name!r} ({low:g}-{high:g} Hz) starts at 0 Hz, the mean of "
                "the signal, whose phase cannot change (a real signal's mean is "
                "real). Start it at the first frequency bin of the epochs "
                f"({resolution:g} Hz) or above."
            )
        if not 0 < low < high:
            raise ValueError(
                f"Band {name!r} must have 0 < low < high Hz, got ({low:g}, {high:g})."
            )
        if high > nyquist:
            raise ValueError(
                f"Band {name!r} ({low:g}-{high:g} Hz) reaches above the Nyquist "
                f"frequency of the data ({nyquist:g} Hz at {sfreq:g} Hz); lower "
                "its upper edge."
            )
        if high - low < resolution:
            which, fix = (
                ("The default band", "pass bands at least that wide")
                if defaults
                else ("Band", "widen it")
            )
            raise ValueError(
                f"{which} {name!r} ({low:g}-{high:g} Hz) is narrower than the "
                f"frequency resolution of {n_times}-sample epochs ({resolution:g} "
                f"Hz); {fix}, or give longer epochs."
            )
        checked[str(name)] = (low, high)
    return checked


def _amplitude_log_std(phase_std):
    """Log-amplitude SD whose perturbation moves the signal as far as the phase's.

    With a standard normal ``z``, multiplying the analytic signal by
    ``exp(i * phase_std * z)`` changes it by a mean squared amount of
    ``2 - 2 exp(-phase_std**2 / 2)`` times its power, and by ``exp(s * z)``
    of ``exp(2 s**2) - 2 exp(s**2 / 2) + 1``; this returns the ``s`` that
    equates them.
    """
    target = 2 - 2 * np.exp(-(phase_std**2) / 2)
    # The amplitude change reaches 5.1 at s = 1, above any phase change (< 2).
    return brentq(
        lambda s: np.exp(2 * s**2) - 2 * np.exp(s**2 / 2) + 1 - target, 0.0, 1.0
    )


class _PerturbedData:
    """Each batch of the data followed by its perturbed copies, read lazily.

    Reads like :class:`~mne_xai._convert.InputData` for :func:`batch_outputs`:
    a batch, then one copy per band, draw and kind (in this order) in which
    the band's analytic signal ``a`` (its positive frequencies, doubled) is
    replaced by ``a w``: ``x - Re(a) + Re(a w)``, with ``w = exp(s z)`` or
    ``exp(i phase_std z)`` and ``z`` unit-variance white noise low-passed at
    half the band's width, so that the perturbed band stays near the band,
    and below the band's distance to 0 Hz and to the Nyquist frequency.
    """

    def __init__(self, data, bands, sfreq, n_draws, phase_std, seed):
        self.data = data
        self.name = data.name
        self.bands = bands
        self.n_draws = n_draws
        self.seed = seed
        self.n_variants = len(bands) * n_draws * len(KINDS)
        n_times = data.shape[2]
        self.scales = {"amplitude": _amplitude_log_std(phase_std), "phase": phase_std}
        freqs = np.fft.fftfreq(n_times, 1 / sfreq)
        rfreqs = np.fft.rfftfreq(n_times, 1 / sfreq)
        self.analytic_masks, self.smoothing = [], []
        for low, high in bands.values():
            in_band = (freqs >= low) & (freqs < high)
            self.analytic_masks.append(np.where(in_band, 2, 0))
            # The factors shift the band's frequencies by as much as their
            # own: no further than 0 Hz and the Nyquist frequency, past which
            # the real part folds the shift back as a change of amplitude (a
            # phase perturbation next to 0 Hz changed a sinusoid's energy).
            # In bins, which float frequencies could round across the edge.
            first, last = np.flatnonzero(in_band)[[0, -1]]
            shifts = np.arange(len(rfreqs))
            lowpass = (
                (rfreqs <= (high - low) / 2)
                & (shifts < first)
                & (last + shifts < n_times / 2)
            ).astype(float)
            # Circular filtering keeps white noise stationary: its variance is
            # the squared norm of the filter's impulse response everywhere.
            impulse = np.fft.irfft(lowpass, n=n_times)
            self.smoothing.append(lowpass / np.linalg.norm(impulse))

    def variant(self, index):
        """Return (band index, kind) of the ``index``-th perturbed copy."""
        band, rest = divmod(index, self.n_draws * len(KINDS))
        return band, KINDS[rest % len(KINDS)]

    def n_batches(self, batch_size):
        """Return the number of batches :meth:`batches` yields."""
        return -(-self.data.shape[0] // batch_size) * (1 + self.n_variants)

    def batches(self, batch_size):
        """Yield each batch of epochs, then its perturbed copies."""
        n_times = self.data.shape[2]
        n_per_band = self.n_draws * len(KINDS)
        for batch in self.data.batches(batch_size):
            yield batch
            spectrum = np.fft.fft(batch.astype(np.float64), axis=-1)
            for band, edges in enumerate(self.bands.values()):
                analytic = np.fft.ifft(spectrum * self.analytic_masks[band])
                # The draws of z of each epoch and band, by draw and kind, come
                # from the epoch and the band's edges: the same whatever the
                # batch and the other bands asked for.
                key = np.asarray(edges, np.float64).view(np.uint64).tolist()
                generators = _epoch_generators(batch, self.seed, key)
                noise = np.stack(
                    [
                        # float32 whatever torch's default dtype: that draws
                        # another stream from the same seed.
                        torch.randn(
                            (n_per_band, n_times), generator=g, dtype=torch.float32
                        ).numpy()
                        for g in generators
                    ],
                    axis=1,
                ).astype(np.float64)
                for index, noise_variant in enumerate(noise):
                    yield self._perturbed(
                        batch, analytic, noise_variant, band, KINDS[index % len(KINDS)]
                    )

    def _perturbed(self, batch, analytic, noise, band, kind):
        """Return the batch with the band's analytic signal modulated by ``noise``."""
        n_times = batch.shape[-1]
        smooth = np.fft.irfft(np.fft.rfft(noise) * self.smoothing[band], n=n_times)
        scaled = self.scales[kind] * smooth
        factor = np.exp(1j * scaled if kind == "phase" else scaled)
        change = (analytic * (factor[:, np.newaxis] - 1)).real
        return (batch + change).astype(np.float32)


@verbose
@fill_doc
def unit_sensitivity(
    estimator,
    epochs,
    layer,
    *,
    bands=None,
    n_draws=5,
    phase_std=0.5,
    ratio=2.0,
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
):
    """Measure how a layer's units respond to the amplitude and phase of each band.

    For each frequency band, the band's amplitude envelope and, separately,
    its phase are perturbed in the Hilbert domain, and the change of every
    unit's output is measured, as Hammer et al. :footcite:`HammerEtAl2022`
    did to find amplitude- and phase-specialized units (after the
    perturbation analyses of Schirrmeister et al.
    :footcite:`SchirrmeisterEtAl2017` and Hartmann et al.
    :footcite:`HartmannEtAl2018`).

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    %(unit_layer)s
    bands : dict of str to (float, float) | None
        Frequency bands ``name: (low, high)`` in Hz. None uses theta (4-8),
        alpha (8-13), beta (13-30) and gamma (30-45 Hz), leaving out those
        above the Nyquist frequency. A given band above the Nyquist
        frequency, starting at 0 Hz (whose phase cannot change), or narrower
        than the epochs' frequency resolution, is refused.
    n_draws : int
        Random perturbations of each kind per epoch and band.
    phase_std : float
        Standard deviation of the phase shifts, in radians, in (0, pi]. The
        log-amplitude factor is scaled so that both perturbations change the
        input by the same mean squared amount.
    ratio : float
        A unit is classified amplitude-sensitive when its amplitude
        sensitivity exceeds its phase sensitivity by more than this factor,
        phase-sensitive in the reverse case, and mixed otherwise.
    %(batch_size)s
    %(device)s
    %(random_state)s
    %(verbose)s

    Returns
    -------
    sensitivity : UnitSensitivity
        Sensitivities per unit and band; ``.to_frame()`` gives one row per
        unit and band, ``.summary()`` one row per unit, ``.plot()`` a figure.

    Notes
    -----
    A unit's sensitivity to a kind of perturbation is its mean absolute output
    change (over epochs, draws and the positions of its output, and over the
    windows of a :class:`~mne_xai.CroppedClassifier`) divided by the
    standard deviation of its output over the data, so units of different
    scales compare. Each perturbation replaces one band of every epoch by a
    copy whose envelope is multiplied by a smooth log-normal factor, or whose
    phase is shifted by a smooth normal one, the same on every channel; the
    rest of the signal is kept as it is. The factors vary within the epoch,
    so the perturbed band spreads by up to half its width on either side (on
    EEGBCI, a quarter to two fifths of the change lies outside the band),
    where it meets the signal of the neighbouring frequencies. Near 0 Hz and
    the Nyquist frequency the factors vary more slowly, so that the band
    spreads little further than these: past them, a real signal folds the
    spread back as a change of amplitude. A phase perturbation of a band next
    to either changed a sinusoid's energy 0.14 to 0.30 times as much as an
    amplitude perturbation did; with the slower factors, up to 0.023 times
    (the factors are exponentials of band-limited noise, and so not
    band-limited themselves). A band that starts at the first frequency
    bin is perturbed by factors constant over the epoch. A unit pooling
    their power with the band's therefore shows some phase sensitivity: the
    energy of the whole signal, a pure energy detector, had a phase
    sensitivity of 0.15 to 0.4 times its amplitude sensitivity on EEGBCI
    (0 on band-limited data).

    The two perturbations move the input equally far, which makes the ratio
    of the sensitivities meaningful: changing the log-amplitude or the phase
    of an analytic signal by the same small amount moves it by the same
    distance. So a linear filter of the band (a convolution without
    nonlinearity) is mixed: its output follows both. Amplitude-sensitive
    units discard the phase, as an energy detector does (a band-pass
    filter, squaring or rectification, and pooling over cycles);
    phase-sensitive units discard the amplitude, as a filter followed by a
    saturating nonlinearity does. The rule is a fixed factor between the
    sensitivities rather than a statistical test: with many epochs any
    difference becomes significant, while the question is whether one kind
    dominates.

    The perturbation of each epoch and band is drawn from a generator seeded
    by ``random_state``, the epoch's data and the band's edges, so results do
    not depend on ``batch_size`` nor on the other bands asked for. The network runs in evaluation mode on one batch of
    epochs and its perturbed copies at a time.

    References
    ----------
    .. footbibliography::
    """
    network = as_network(estimator)
    check_reads_time(network, "unit_sensitivity")
    batch_size = check_positive_int(batch_size, "batch_size")
    n_draws = check_positive_int(n_draws, "n_draws")
    _validate_type(phase_std, "numeric", "phase_std")
    if not 0 < phase_std <= np.pi:
        raise ValueError(f"phase_std must be in (0, pi] radians, got {phase_std}.")
    _validate_type(ratio, "numeric", "ratio")
    if not ratio > 1:
        raise ValueError(f"ratio must be above 1, got {ratio}.")
    random_state = check_seed(random_state)
    name, module_layer = find_layer(network.module_, layer)
    data = network._check_prediction_input(epochs, "epochs")
    # The data's own rate where they have one: a network fitted on arrays only
    # assumes one (128 Hz), and 256 Hz alpha read as theta.
    sfreq = data_rate(network, data, "the bands")
    if sfreq is None:
        raise ValueError(
            "The sampling rate is unknown (arrays given to a network without an "
            "info); pass Epochs, or as_network(estimator, info=...)."
        )
    bands = _check_bands(bands, sfreq, data.shape[2])
    seed = np.random.SeedSequence(random_state).entropy
    perturbed = _PerturbedData(data, bands, sfreq, n_draws, float(phase_std), seed)
    device = compute_device(device, network)
    logger.info(
        f"Perturbing the amplitude and phase of {len(bands)} band(s) "
        f"{n_draws} time(s) in {data.shape[0]} epochs for layer {name!r}"
    )
    group, changes, n_rows = 1 + perturbed.n_variants, None, 0
    for index, (_, output) in enumerate(
        batch_outputs(
            network,
            perturbed,
            module_layer,
            batch_size=batch_size,
            device=device,
        )
    ):
        output = unit_output(output, name).double().cpu().numpy()
        if index % group == 0:
            clean = output
            if changes is None:
                changes = np.zeros((len(bands), len(KINDS), output.shape[1]))
                # Sums about the first batch's mean keep the variance accurate
                # when a unit's mean is large against its spread.
                shift = clean.mean(axis=(0, 2), keepdims=True)
                sums = np.zeros((2, output.shape[1]))
            centred = clean - shift
            sums += [centred.sum(axis=(0, 2)), (centred**2).sum(axis=(0, 2))]
            # Rows, not epochs: a CroppedClassifier's layers run on every window.
            n_rows += len(clean)
            continue
        band, kind = perturbed.variant(index % group - 1)
        changes[band, KINDS.index(kind)] += np.abs(output - clean).sum(axis=(0, 2))
    n_values = n_rows * clean.shape[2]
    spread = np.sqrt(np.maximum(sums[1] / n_values - (sums[0] / n_values) ** 2, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        sensitivity = (
            changes / (n_values * n_draws) / np.where(spread > 0, spread, np.nan)
        )
    return UnitSensitivity(
        layer=name,
        bands=bands,
        amplitude=sensitivity[:, 0].T,
        phase=sensitivity[:, 1].T,
        ratio=float(ratio),
    )
