"""A network trained on log-power spectra, and its relevance per frequency.

Truong et al. compared networks given raw EEG with networks given its
spectrum. :class:`SpectralClassifier` trains a network of mne_xai on the
spectra of :class:`~mne_xai.spectral_input.LogPowerSpectrum`, and
:func:`explain_spectral_classifier` returns its attributions at the channels
and frequencies of its input.
"""

import mne
import numpy as np
from mne.time_frequency import EpochsSpectrum, Spectrum
from mne.utils import _validate_type, verbose
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from .._convert import InputData, map_info, refuse_array_of_either_order
from .._docs import fill_doc
from .._labels import labels_match_events, labels_or_events
from .._network_building import NetworkInputError
from .._outputs import epochs_array, spectrum_array
from .._prediction import _ScoreMixin
from .._samples_read import unread_ends
from .._warnings import ignoring, warn
from ..attribution._core import (
    _resolve_target,
    attribution_values,
    log_unread_channels,
)
from ..attribution._registry import get_method
from ..attribution.spectral import _data_channels
from ..estimators import UNREAD_SAMPLES, EEGNetClassifier, log_at_level_of
from ..models._base import TooShortError
from ..spectral_input import LogPowerSpectrum, _frequency_span


def _default_spectrum(info):
    """Return the spectrum SpectralClassifier takes by default for data of ``info``.

    LogPowerSpectrum's own 1 to 40 Hz every 0.25 Hz (157 bins) leaves
    EEGNet's last pooling window of 32 bins 29 short: it never read 37 to
    40 Hz, and every method gave them zero relevance. 1 to 40.75 Hz fills
    five windows, where the data's Nyquist frequency reaches it.
    """
    if info is not None and info["sfreq"] / 2 >= 40.75:
        return LogPowerSpectrum(fmax=40.75)
    return LogPowerSpectrum()


class SpectralClassifier(
    MetaEstimatorMixin, _ScoreMixin, ClassifierMixin, BaseEstimator
):
    """Train a network on the log-power spectra of epochs.

    ``spectrum`` turns each epoch into log-power spectra and ``estimator``, a
    network classifier of mne_xai, learns from them, reading the frequency
    axis where it would read time: this is the spectral-feature input that
    Truong et al. compared with raw EEG :footcite:`TruongEtAl2021`. Unlike a
    :class:`~sklearn.pipeline.Pipeline` of the two, it builds the network with
    kernels of a chosen width in Hz, and it can be explained per channel and
    frequency with :func:`explain_spectral_classifier`.

    Parameters
    ----------
    estimator : classifier | None
        A network classifier with an ``info`` parameter, e.g.
        :class:`~mne_xai.EEGNetClassifier` (None) or
        :class:`~mne_xai.InterpretableCNNClassifier`. It is cloned at ``fit``,
        its ``info`` set to the spectra's (see Notes), its ``time_shift``
        to 0 (along frequency, a shift would move one band to another) and its
        ``spatial_init`` to None (CSP reads power as the variance of a signal;
        spectra hold powers already), and fitted on the spectra as arrays.
        Its ``picks`` choose the channels of the spectra, unless ``spectrum``
        has its own, and its ``verbose`` the level of what this classifier
        logs.
    spectrum : mne_xai.spectral_input.LogPowerSpectrum | None
        The spectra; None means ``LogPowerSpectrum(fmax=40.75)`` (Welch with
        one-second segments, 1 to 40.75 Hz every 0.25 Hz: 160 bins, five of
        EEGNet's 8 Hz pooling windows, which it reads whole), or
        ``LogPowerSpectrum()`` (1 to 40 Hz) for data sampled below 81.5 Hz. Give
        ``spectrum=LogPowerSpectrum(sfreq=...)`` for arrays.
    hz_per_second : float
        The span of spectrum, in Hz, that the network takes for one second
        (see Notes). The default 8 makes the half-second first kernels of
        EEGNet and InterpretableCNN span 4 Hz, the width of the alpha band.

    Attributes
    ----------
    spectrum_ : LogPowerSpectrum
        The fitted transformer.
    estimator_ : classifier
        The network fitted on the spectra. Its ``reads_spectra_`` is True:
        the tools that read the input's last axis as time
        (:func:`temporal_filters`, :func:`unit_sensitivity`,
        :func:`maximize_activation`, :func:`best_samples`, whose spectra
        are of its input, :func:`~mne_xai.attribution.explain_spectrum`)
        refuse it, and :func:`layer_activations` gives its layers no times.
    classes_ : ndarray, shape (n_classes,)
        The class labels (those of ``estimator_``).
    freqs_ : ndarray, shape (n_freqs,)
        The frequencies of the network's input, in Hz.
    info_ : mne.Info | None
        The measurement info of the training channels (None for arrays).
    network_sfreq_ : float
        The sampling rate the network was built for: frequency bins per
        ``hz_per_second`` Hz.
    network_info_ : mne.Info
        The info given to ``estimator``: the channels, at ``network_sfreq_``.
    event_id_ : dict | None
        The event names of the training epochs (None for arrays).
    events_are_labels_ : bool
        Whether the training labels were the events of the training epochs
        (their codes or names); if not, ``target="true"`` and scoring without
        ``y`` refuse to read events as classes.

    See Also
    --------
    mne_xai.spectral_input.LogPowerSpectrum
    explain_spectral_classifier

    Notes
    -----
    The networks of mne_xai set their kernel lengths in seconds from the
    sampling rate of their input (EEGNet's and InterpretableCNN's first
    kernels last half a second, 64 samples at 128 Hz). On a spectrum, one
    second stands for ``hz_per_second`` Hz: the network is built for
    ``network_sfreq_ = hz_per_second / step``, with ``step`` the spacing of
    the frequencies, so a kernel of ``s`` seconds covers ``s * hz_per_second``
    Hz however densely the spectrum is sampled (17 bins for EEGNet's first
    kernel with the default spectrum, sampled every 0.25 Hz).

    Convolutions and pooling treat every position alike: these networks were
    built to find a waveform whenever it occurs, and on a spectrum they find
    a spectral shape wherever it lies. EEGNet tells where only through its
    last layer, which sees the input pooled by 32 samples (every 8 Hz with
    the default spectrum); this is why the default spectrum is sampled four
    times more densely than its resolution: sampled once per Hz, 1 to 40 Hz
    are pooled into a single position and EEGNet cannot tell two equally
    wide bands apart. InterpretableCNN averages over its whole input, so it
    responds to spectral shapes only, wherever they lie.

    References
    ----------
    .. footbibliography::
    """

    def __init__(self, estimator=None, spectrum=None, *, hz_per_second=8.0):
        self.estimator = estimator
        self.spectrum = spectrum
        self.hz_per_second = hz_per_second

    @fill_doc
    def fit(self, X, y=None):
        """Compute the spectra of ``X`` and train the network on them.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Training epochs (arrays need ``LogPowerSpectrum(sfreq=...)``).
            %(epochs_list_cv)s
        y : array-like, shape (n_epochs,) | None
            Labels; with Epochs, None means ``epochs.events[:, 2]``.

        Returns
        -------
        self : SpectralClassifier
            The fitted classifier.
        """
        # A fit that fails leaves no fitted state: the classes of the fit before
        # stayed beside a network that diverged on other labels, which then
        # predicted them with NaN probabilities, without a word.
        for name in [name for name in vars(self) if name.endswith("_")]:
            delattr(self, name)
        estimator = EEGNetClassifier() if self.estimator is None else self.estimator
        # A name ("EEGNetClassifier") failed as "'str' object has no attribute
        # 'get_params'".
        if not hasattr(estimator, "get_params") or "info" not in estimator.get_params():
            raise TypeError(
                f"SpectralClassifier needs a network classifier with an info "
                f"parameter (EEGNetClassifier, InterpretableCNNClassifier), got "
                f"{type(estimator).__name__}: the network learns its kernel widths "
                "from info['sfreq']."
            )
        _validate_type(self.hz_per_second, "numeric", "hz_per_second")
        if not self.hz_per_second > 0:
            raise ValueError(
                f"hz_per_second must be positive, got {self.hz_per_second}."
            )
        y = labels_or_events(X, y)
        inputs = InputData(X)
        if self.spectrum is None:
            spectrum = _default_spectrum(inputs.info)
        else:
            spectrum = self.spectrum
        _validate_type(spectrum, LogPowerSpectrum, "spectrum")
        # The estimator's channels (picks=["eeg", "eog"]) are the spectra's,
        # unless the spectrum picks its own: the estimator reads what it gets.
        picks = estimator.get_params().get("picks")
        if spectrum.picks is None and picks is not None:
            spectrum = clone(spectrum).set_params(picks=picks)
        # The network is fitted on arrays, which carry no events: what the
        # labels are of the epochs' events is recorded here.
        self.event_id_ = inputs.event_id
        self.events_are_labels_ = labels_match_events(inputs, y)
        self.spectrum_ = clone(spectrum).fit(X)
        self.freqs_ = self.spectrum_.freqs_
        if len(self.freqs_) < 2:
            raise ValueError(
                f"The spectrum holds {len(self.freqs_)} frequency between fmin and "
                "fmax; a network needs several."
            )
        self.info_ = self.spectrum_.info_
        step = self.freqs_[1] - self.freqs_[0]
        self.network_sfreq_ = float(self.hz_per_second / step)
        if self.info_ is None:
            ch_names = [f"ch{index:03d}" for index in range(self.spectrum_.n_channels_)]
            ch_types = "misc"
        else:
            ch_names, ch_types = self.info_.ch_names, self.info_.get_channel_types()
        self.network_info_ = mne.create_info(ch_names, self.network_sfreq_, ch_types)
        log_at_level_of(
            estimator,
            f"Training on log-power spectra of {len(self.freqs_)} frequencies "
            f"({self.freqs_[0]:g} to {self.freqs_[-1]:g} Hz, {step:g} Hz "
            f"apart), read by the network at {self.network_sfreq_:g} bins per second.",
        )
        params = dict(info=self.network_info_)
        if "time_shift" in estimator.get_params():
            # Its axis is frequency here: a shift would move a band to another.
            params["time_shift"] = 0.0
        if "spatial_init" in estimator.get_params():
            # CSP reads power as a signal's variance; these are powers already.
            params["spatial_init"] = None
        if "picks" in estimator.get_params():
            # The spectra hold the picked channels alone: it reads them all.
            params["picks"] = ch_names
        network = clone(estimator).set_params(**params)
        spectra = self.spectrum_.transform(X)
        try:
            # It would speak of samples, seconds and cropping the epochs.
            with ignoring(UNREAD_SAMPLES):
                network.fit(spectra, y)
        except TooShortError as err:  # it spoke of time and of longer epochs
            raise ValueError(
                f"The network reads at least {err.needed} frequency bins, and the "
                f"spectrum holds {len(self.freqs_)} ({self.freqs_[0]:g} to "
                f"{self.freqs_[-1]:g} Hz, {step:g} Hz apart). Widen fmin to fmax, "
                "give finer bins (a larger n_fft for Welch, longer epochs for "
                f"multitaper), or shorten the network's span "
                f"(module__{err.shorter})."
            ) from None
        except NetworkInputError as err:  # it spoke of epochs of n_times samples
            raise ValueError(
                f"{err} Its n_times here are the {len(self.freqs_)} frequency bins "
                f"of the spectrum ({self.freqs_[0]:g} to {self.freqs_[-1]:g} Hz, "
                f"{step:g} Hz apart): a network that reads a fixed number of "
                "samples needs a spectrum of that many bins (set by fmin, fmax "
                "and the spacing of the bins)."
            ) from err
        self._warn_if_bins_unread(network, spectra)
        # Its "time" axis is frequency: the tools reading time refuse it.
        network.reads_spectra_ = True
        self.estimator_, self.classes_ = network, network.classes_
        return self

    def _warn_if_bins_unread(self, network, spectra):
        """Warn of the frequencies at either end that the network never reads.

        EEGNet's poolings drop the end of their input when they do not divide
        it: on 1 to 40 Hz every 0.25 Hz (157 bins, the default spectrum of
        LogPowerSpectrum) it read the bins up to 37 Hz, and every method gave
        37 to 40 Hz zero relevance.
        """
        read = network._span_read(spectra)
        if read is None:
            return
        first, last, n_freqs = read
        freqs = self.freqs_
        unread = unread_ends(
            first,
            last,
            n_freqs,
            lambda start, stop: f"{freqs[start]:g} to {freqs[stop - 1]:g} Hz",
        )
        warn(
            f"The network reads the frequency bins from {freqs[first]:g} to "
            f"{freqs[last]:g} Hz of the spectra's {freqs[0]:g} to {freqs[-1]:g} Hz: "
            f"{unread} never reach its logits (pooling "
            "that does not divide its input drops the end), so no prediction "
            "depends on them and every method gives them zero relevance. Keep "
            "the frequencies read (spectrum=LogPowerSpectrum("
            f"fmin={freqs[first]:g}, fmax={freqs[last]:g})), or give the spectra "
            "a number of bins the network reads whole (another fmin, fmax or "
            "n_fft)."
        )

    def _spectra(self, X, name="X"):
        """Return the spectra of ``X`` as the network reads them, computed as read.

        A :class:`~mne_xai.spectral_input.Spectra`, which the network reads
        a batch at a time, as it reads Epochs. ``name`` is the argument's
        name, for messages.
        """
        check_is_fitted(self, "estimator_")
        return self.spectrum_._spectra(X, self.network_info_, name)

    @fill_doc
    def predict_proba(self, X):
        """Return class probabilities.

        Parameters
        ----------
        %(X_predict)s

        Returns
        -------
        proba : ndarray, shape (n_epochs, n_classes)
            Probabilities, columns ordered as ``classes_``.
        """
        spectra = self._spectra(X)  # checks that it is fitted first
        return self.estimator_.predict_proba(spectra)

    @fill_doc
    def decision_function(self, X):
        """Return the network's class scores (logits), as scikit-learn shapes them.

        Parameters
        ----------
        %(X_predict)s

        Returns
        -------
        scores : ndarray, shape (n_epochs,) | (n_epochs, n_classes)
            %(decision_scores)s
        """
        spectra = self._spectra(X)
        return self.estimator_.decision_function(spectra)

    @fill_doc
    def predict(self, X):
        """Return the most probable class of each epoch.

        Parameters
        ----------
        %(X_predict)s

        Returns
        -------
        y_pred : ndarray, shape (n_epochs,)
            Labels in the coding of ``classes_``.
        """
        spectra = self._spectra(X)
        return self.estimator_.predict(spectra)


def _network_input(estimator, X):
    """Return all the spectra of ``X`` as the network reads them, with the events.

    For Epochs, an :class:`mne.EpochsArray` with ``network_info_`` (frequency
    bins as samples at ``network_sfreq_``) and what ties the epochs to their
    trials (events, metadata, selection); for arrays, the array.
    """
    spectra = estimator._spectra(X)
    if spectra.info is None:
        return spectra.array()
    return epochs_array(spectra.array(), spectra.info, 0.0, **spectra.trials)


def _spectrum_baseline_message(estimator, baseline):
    """Why an MNE spectrum is no baseline: it may not be what the network reads.

    A spectrum records its frequencies but not its segments nor its window:
    Welch spectra of another segment length lie at other frequencies (as many,
    for another fmax), or at the same ones with another resolution.
    """
    spectrum = estimator.spectrum_
    freqs = baseline.freqs
    same_freqs = len(freqs) == len(estimator.freqs_) and np.allclose(
        freqs, estimator.freqs_
    )
    other = ""
    if not same_freqs:
        other = (
            f" Its frequencies ({len(freqs)}, {_frequency_span(freqs)}) are not "
            f"those the network reads ({len(estimator.freqs_)}, "
            f"{_frequency_span(estimator.freqs_)}): Welch spectra of another "
            "segment length (n_fft, n_per_seg) lie at other frequencies, as MNE's "
            "combine_spectrum refuses to mix."
        )
    return (
        f"baseline is an MNE spectrum ({type(baseline).__name__}), which records "
        "neither its segments nor its window, so it cannot be checked to be the "
        f"spectra the network reads ({spectrum._settings()}; power in dB).{other} "
        "Give the epochs in time, read as their spectra with those settings, "
        '"mean", or an array in dB, shape (n_channels, n_freqs).'
    )


def _refuse_array_baseline_of_either_order(estimator, epochs, baseline):
    """Refuse a spectrum array that could be in the training or the Epochs' order.

    The network reads it in the training channels' order; one computed from
    Epochs holding them in another order (``compute_psd`` of them) was read
    so without a word, 70 % off the relevance to the baseline matched by
    name. :func:`mne_xai.explain` refuses the same ambiguity in time.
    """
    if estimator.info_ is None or not isinstance(baseline, np.ndarray):
        return
    refuse_array_of_either_order(
        InputData(epochs, ch_names=estimator.info_.ch_names),
        "an array baseline",
        "the baseline as Epochs (in time, read by channel name)",
        baseline,
    )


def _spectral_baseline(estimator, baseline):
    """Return the baseline as the network reads it: Epochs as their spectra."""
    if isinstance(baseline, str) and baseline == "zeros":
        raise ValueError(
            'baseline="zeros" is 0 dB (1 V²/Hz), no reference for log-power: '
            'EEG lies near -100 dB. Use "mean" (the mean training spectrum, the '
            "default), Epochs, or a spectrum in dB, shape (n_channels, n_freqs)."
        )
    if isinstance(baseline, mne.Evoked):
        raise TypeError(
            "baseline is an Evoked, an average in time, whose spectrum is not "
            "the mean spectrum of its epochs; pass Epochs (one epoch for a method "
            "with one baseline, such as deeplift; several for deeplift_shap or "
            'gradient_shap), "mean" or a spectrum in dB, shape (n_channels, '
            "n_freqs)."
        )
    if isinstance(baseline, Spectrum | EpochsSpectrum):
        raise TypeError(_spectrum_baseline_message(estimator, baseline))
    parts = baseline if isinstance(baseline, list | tuple) else [baseline]
    if parts and all(isinstance(part, mne.BaseEpochs) for part in parts):
        return _network_input(estimator, baseline)
    if isinstance(baseline, np.ndarray) and baseline.dtype.kind in "fiu":
        estimator.spectrum_._check_level(
            baseline,
            "The baseline is {offset:+.0f} dB from the training spectra: is it "
            "power (V²/Hz, as spectrum.get_data() gives it) rather than power in "
            "dB, 10 * log10(power)? Read as dB, power lies near 0 dB, no "
            "reference for EEG. Or is it in another unit (volts and microvolts "
            "are 120 dB apart)?",
        )
    return baseline


@verbose
@fill_doc
def explain_spectral_classifier(
    estimator,
    epochs,
    method="deeplift",
    *,
    target=None,
    average=False,
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Explain a network trained on spectra, per channel and frequency.

    The spectra of ``epochs`` are explained with :func:`mne_xai.explain` on
    the fitted network (``estimator.estimator_``), and the relevance of each
    input value is returned at its channel and frequency.

    Parameters
    ----------
    estimator : SpectralClassifier
        The fitted classifier, or a fitted
        :class:`~sklearn.model_selection.GridSearchCV` (or another search)
        whose ``best_estimator_`` is one.
    epochs : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        The data in time, matching the training data in channels and rate.
    %(method_explained)s
    %(target)s
    average : bool
        Return the average over epochs as a
        :class:`~mne.time_frequency.SpectrumArray` instead of an
        :class:`~mne.time_frequency.EpochsSpectrumArray`.
    %(batch_size)s
    %(device)s
    %(random_state)s
    %(verbose)s
    %(method_params)s
        A ``baseline`` defaults to ``"mean"``, the mean training spectrum:
        zero log-power (1 V²/Hz) is no reference for EEG. An array baseline is
        a spectrum, shape ``(n_channels, n_freqs)``, in dB, of the training
        channels in their order; Epochs are taken in time, as ``epochs`` are,
        and read by channel name. Methods that measure each input from zero
        without a baseline (gradient × input, LRP, FullGrad) are refused for
        that reason. MNE spectra are refused as baselines: they record neither
        their segments nor their window, and Welch spectra of another segment
        length lie at other frequencies than the network reads.

    Returns
    -------
    relevance : EpochsSpectrumArray | SpectrumArray
        Relevance of each channel and frequency (``estimator.freqs_``), in the
        method's unit (e.g. logit for DeepLIFT, logit per dB for gradients),
        on the training channels, in the order the Epochs given hold them,
        with their info (for arrays, the training channels' info, or EEG
        channels named ``ch000``, ``ch001``, ...) and, per epoch, the
        epochs' events, event_id and metadata. MNE's spectra hold data
        channels only: the relevance of other channels the network reads
        (EOG, EMG, ...) is left out, with a warning of its share.

    See Also
    --------
    mne_xai.attribution.explain_spectrum :
        The relevance of frequencies to a network trained on raw epochs.

    Notes
    -----
    Signed methods give positive relevance to power that raises the target
    class's logit. With a baseline, relevance compares each epoch's spectrum
    with the baseline's: a band whose power lies below the mean counts too,
    when that absence is evidence for the class. Values carry the method's
    unit; :meth:`~mne.time_frequency.SpectrumArray.plot_topomap` scales EEG
    channels as if they were power, so use
    :func:`mne_xai.viz.plot_band_topomaps` for maps in the true unit.
    """
    if hasattr(estimator, "best_estimator_"):  # a search, refitted on all data
        estimator = estimator.best_estimator_
    _validate_type(estimator, SpectralClassifier, "estimator")
    check_is_fitted(estimator, "estimator_")
    method_class = get_method(method)
    if method_class.from_zero_of(params):
        raise ValueError(
            f"{method!r} weighs each input value by its distance from zero, but "
            "the network reads log-power in dB, whose zero (1 V²/Hz) is no "
            "reference: EEG lies near -100 dB, and the map's signs would follow "
            "that arbitrary origin. Use a method with a baseline, such as "
            "'deeplift' or 'integrated_gradients' (the mean training spectrum by "
            "default), or a gradient ('saliency')."
        )
    if "baseline" in method_class.parameters():
        params["baseline"] = _spectral_baseline(
            estimator, params.get("baseline", "mean")
        )
        _refuse_array_baseline_of_either_order(estimator, epochs, params["baseline"])
    if target is not None:
        # The network was fitted on arrays of spectra: this classifier knows
        # the events, their names, and whether they are its classes.
        index, _ = _resolve_target(estimator, target, InputData(epochs))
        # Labels per epoch: a single one could also read as an index.
        target = estimator.classes_[index]
    if estimator.info_ is not None:
        log_unread_channels(epochs, estimator.info_)
    # Computed a batch at a time as explained: averages hold one batch.
    spectra = estimator._spectra(epochs, "epochs")
    relevance, request = attribution_values(
        estimator.estimator_,
        spectra,
        method,
        target=target,
        average=average,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        params=params,
    )
    if estimator.info_ is None:
        # Spectra need data channels; arrays of mne_xai are EEG.
        info = mne.create_info(
            estimator.network_info_.ch_names, estimator.spectrum_.sfreq_, "eeg"
        )
    else:
        # As explain's maps: on the channels of the Epochs given, in their
        # order (arrays: the training channels), without projectors or
        # channels marked bad, which the network read and whose rows MNE's
        # get_data and figures would leave out.
        given = InputData(epochs, ch_names=estimator.info_.ch_names)
        info = map_info(estimator.info_ if given.info is None else given.given_info)
        relevance = given.in_given_order(relevance)
    info, relevance = _data_channels(info, relevance)
    return spectrum_array(
        relevance,
        info,
        estimator.freqs_,
        trials=None if spectra.info is None else spectra.trials,
        nave=request.shape[0] if average else None,
    )
