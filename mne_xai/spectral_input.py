"""Log-power spectra of epochs, as the input of a network.

A network trained on spectra reads the frequency axis where it would read
time: :class:`mne_xai.inspect.SpectralClassifier` trains one and
:func:`mne_xai.inspect.explain_spectral_classifier` explains it.
"""

import numpy as np
from mne.time_frequency import (
    EpochsSpectrum,
    Spectrum,
    psd_array_multitaper,
    psd_array_welch,
)
from mne.utils import _check_option, _validate_type
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._checks import check_n_jobs
from ._convert import InputData, as_float, training_channels
from ._matching import BASELINE_UNKNOWN, SCALE_TOLERANCE, check_matches_training
from ._warnings import quietly, warn_data_mismatch

#: Power below this share of a channel's median over frequencies is rounding
#: (150 dB down; float32 data hold about 140 dB): no power.
_NO_POWER = 1e-15
#: Epochs whose spectra are computed at once where all of them are returned:
#: Welch's zero-padded FFT of every epoch at once took eight times the size of
#: the epochs in float32 (1.8 GB for 220 MB of epochs).
_BATCH_SIZE = 64
#: The warning of spectra far from the training data's level (see _check_level).
_OTHER_LEVEL = (
    "The power of {name} is {offset:+.0f} dB from the training data's: are they "
    "in different units (e.g. volts and microvolts, 120 dB apart)? The network's "
    "outputs are meaningless unless the data are given in the training unit."
)


def _frequency_span(freqs):
    """Describe frequencies by their range and spacing, for messages."""
    step = f", {freqs[1] - freqs[0]:.4g} Hz apart" if len(freqs) > 1 else ""
    return f"{freqs[0]:.4g} to {freqs[-1]:.4g} Hz{step}"


class LogPowerSpectrum(TransformerMixin, BaseEstimator):
    """Turn epochs into log-power spectra, the input of a spectral network.

    Each channel of each epoch becomes its power spectral density in
    decibels, ``10 * log10(psd)`` with ``psd`` in the data's unit squared per
    Hz (V²/Hz for MNE's EEG), at the frequencies from ``fmin`` to ``fmax``:
    an array ``(n_epochs, n_channels, n_freqs)`` that a network reads as it
    reads ``(n_epochs, n_channels, n_times)``. The spectra are those of
    :func:`mne.time_frequency.psd_array_welch` (Welch's averaged periodograms
    :footcite:`Welch1967`) or :func:`mne.time_frequency.psd_array_multitaper`
    with ``normalization="full"``, as :meth:`mne.Epochs.compute_psd` gives
    them with the same settings; they are the spectral input of Truong et al.
    :footcite:`TruongEtAl2021`.

    Parameters
    ----------
    fmin, fmax : float
        The frequencies kept, in Hz (both ends included). ``fmax`` may not
        exceed the Nyquist frequency, half the sampling rate.
    method : "welch" | "multitaper"
        How the spectrum is estimated. The settings of the other method
        (``n_fft``, ``n_per_seg`` and ``n_overlap`` of Welch, ``bandwidth`` of
        multitaper) must be None, as MNE's ``compute_psd`` refuses them.
    n_fft : int | None
        Welch only: the length of each segment's FFT, at least ``n_per_seg``;
        longer segments are zero-padded, which samples the spectrum every
        ``sfreq / n_fft`` Hz (an interpolation: the resolution stays
        ``sfreq / n_per_seg``). None means ``4 * n_per_seg`` (every 0.25 Hz
        for one-second segments), so that a network pooling along the
        frequency axis can still tell neighbouring bands apart (see
        :class:`mne_xai.inspect.SpectralClassifier`).
    n_per_seg : int | None
        Welch only: samples per segment, each tapered by ``window``. None
        means one second of data (1 Hz resolution), or the whole epoch if it
        is shorter.
    n_overlap : int | None
        Welch only: samples shared by consecutive segments. None means half a
        segment, the usual 50 % overlap of Welch.
    window : str | tuple
        Welch only: the taper of each segment (see
        :func:`scipy.signal.get_window`).
    bandwidth : float | None
        Multitaper only: the bandwidth of the tapers in Hz; None uses MNE's
        default, eight over the epoch's duration (4 Hz for 2-s epochs). Power
        within half the bandwidth of a frequency is smoothed together, so this
        is the resolution; the bins are one over the duration apart.
    picks : str | list | slice | None
        Channels of Epochs to use, as in MNE. None means the good data
        channels (those the estimators of mne_xai train on). Arrays carry no
        channel names and are taken whole: picks other than None or ``"all"``
        are refused for them.
    sfreq : float | None
        Sampling rate, in Hz, of data given as arrays. Ignored for Epochs,
        whose ``info`` gives it. Once fitted, arrays given without it are taken
        at the training rate.
    n_jobs : int | None
        Jobs computing the spectra in parallel, as in MNE.

    Attributes
    ----------
    freqs_ : ndarray, shape (n_freqs,)
        The frequencies of the spectra, in Hz.
    sfreq_ : float
        The sampling rate of the training data.
    power_level_ : float
        The mean power, in dB, of the first training epoch: data whose power
        is over 40 dB from it (a factor of 100 in amplitude) get a warning
        that their unit probably differs.
    info_ : mne.Info | None
        The measurement info of the picked channels (None for arrays).
    ch_names_ : list of str | None
        The picked channels; transformed Epochs must hold them.
    n_channels_ : int
        Number of channels.
    n_fft_, n_per_seg_, n_overlap_ : int | None
        The Welch settings used (None for multitaper).

    See Also
    --------
    mne_xai.inspect.SpectralClassifier
    mne.Epochs.compute_psd

    Notes
    -----
    In dB, a gain that differs between channels or subjects is an offset,
    and the 1/f background spans tens of dB instead of orders of magnitude.
    Zero power (a flat channel) has no log and is refused.

    References
    ----------
    .. footbibliography::
    """

    def __init__(
        self,
        fmin=1.0,
        fmax=40.0,
        *,
        method="welch",
        n_fft=None,
        n_per_seg=None,
        n_overlap=None,
        window="hamming",
        bandwidth=None,
        picks=None,
        sfreq=None,
        n_jobs=None,
    ):
        self.fmin = fmin
        self.fmax = fmax
        self.method = method
        self.n_fft = n_fft
        self.n_per_seg = n_per_seg
        self.n_overlap = n_overlap
        self.window = window
        self.bandwidth = bandwidth
        self.picks = picks
        self.sfreq = sfreq
        self.n_jobs = n_jobs

    def _check_params(self, sfreq, n_times):
        """Check the settings for data at ``sfreq``; return Welch's segments."""
        _check_option("method", self.method, ("welch", "multitaper"))
        _validate_type(self.fmin, "numeric", "fmin")
        _validate_type(self.fmax, "numeric", "fmax")
        if not 0 <= self.fmin < self.fmax:
            raise ValueError(
                f"Need 0 <= fmin < fmax, got fmin={self.fmin} and fmax={self.fmax}."
            )
        if self.fmax > sfreq / 2:
            raise ValueError(
                f"fmax={self.fmax} Hz is above the Nyquist frequency of the data "
                f"({sfreq / 2:g} Hz, half the sampling rate of {sfreq:g} Hz); lower "
                "fmax."
            )
        # As MNE's compute_psd refuses them: ignored, they would leave the
        # user believing the spectra were computed with them.
        welch_only = ("n_fft", "n_per_seg", "n_overlap")
        other = welch_only if self.method == "multitaper" else ("bandwidth",)
        given = [name for name in other if getattr(self, name) is not None]
        if given:
            settings = ", ".join(f"{name}={getattr(self, name)!r}" for name in given)
            kind = "Welch" if self.method == "multitaper" else "multitaper"
            raise ValueError(
                f"{settings}: settings of {kind} only, and method={self.method!r}. "
                f"Leave them at None, or use method={kind.lower()!r}."
            )
        if self.method == "multitaper":
            self._check_tapers(sfreq, n_times)
            return None, None, None
        n_per_seg = self.n_per_seg
        if n_per_seg is None:
            n_per_seg = min(int(round(sfreq)), n_times)
        _validate_type(n_per_seg, "int-like", "n_per_seg", "int or None")
        if not 1 < n_per_seg <= n_times:
            raise ValueError(
                f"n_per_seg must be between 2 and the epochs' length ({n_times} "
                f"samples), got {n_per_seg}."
            )
        n_fft = 4 * n_per_seg if self.n_fft is None else self.n_fft
        _validate_type(n_fft, "int-like", "n_fft", "int or None")
        if n_fft < n_per_seg:
            raise ValueError(
                f"n_fft must be at least n_per_seg={n_per_seg}, got {n_fft}."
            )
        n_overlap = n_per_seg // 2 if self.n_overlap is None else self.n_overlap
        _validate_type(n_overlap, "int-like", "n_overlap", "int or None")
        if not 0 <= n_overlap < n_per_seg:
            raise ValueError(
                f"n_overlap must be in [0, n_per_seg={n_per_seg}), got {n_overlap}."
            )
        return int(n_fft), int(n_per_seg), int(n_overlap)

    def _check_tapers(self, sfreq, n_times):
        """Refuse a bandwidth whose tapers the epochs are too short for.

        MNE's tapers have a time-half-bandwidth of ``bandwidth * n_times /
        (2 sfreq)`` (4 with ``bandwidth=None``), which scipy's DPSS needs
        below half the epoch's length; past it they failed in scipy's words
        ("Kmax must be greater than 0 and less than M").
        """
        _validate_type(self.bandwidth, ("numeric", None), "bandwidth")
        if self.bandwidth is None:
            if n_times <= 8:
                raise ValueError(
                    "With bandwidth=None (a time-half-bandwidth of 4), multitaper "
                    f"spectra need epochs of more than 8 samples, got {n_times}; "
                    f"pass a bandwidth from {sfreq / n_times:g} Hz to below "
                    f"{sfreq:g} Hz, or use method='welch'."
                )
        elif self.bandwidth >= sfreq:
            raise ValueError(
                f"bandwidth={self.bandwidth} Hz: multitaper tapers need a bandwidth "
                f"below the sampling rate ({sfreq:g} Hz); lower it."
            )

    def _log_power(self, data):
        """Return the log-power spectra of an array of epochs, and their frequencies."""
        settings = dict(
            fmin=self.fmin, fmax=self.fmax, n_jobs=check_n_jobs(self.n_jobs)
        )
        if self.method == "welch":
            power, freqs = psd_array_welch(
                data.astype(np.float64),
                self.sfreq_,
                n_fft=self.n_fft_,
                n_per_seg=self.n_per_seg_,
                n_overlap=self.n_overlap_,
                window=self.window,
                verbose=quietly(),
                **settings,
            )
        else:
            power, freqs = psd_array_multitaper(
                data.astype(np.float64),
                self.sfreq_,
                bandwidth=self.bandwidth,
                # MNE's default ("length") leaves the power per sample, sfreq
                # times (10 * log10(sfreq) dB) above the density in V²/Hz that
                # Welch gives and the docstring promises.
                normalization="full",
                verbose=quietly(),
                **settings,
            )
        if len(freqs) == 0:
            # Welch says so itself; multitaper returns an empty spectrum.
            raise ValueError(
                f"No frequencies found between fmin={self.fmin} and "
                f"fmax={self.fmax} Hz; widen the range."
            )
        # Its log, -inf or -440 dB (a detrended 0 Hz bin), is no input.
        empty = power <= _NO_POWER * np.median(power, axis=-1, keepdims=True)
        # A detrended 0 Hz bin (boxcar window) is empty in every channel: read
        # for flat channels, it named them all beside the one that was flat.
        above_0_hz = empty[..., 1:] if freqs[0] == 0 else empty
        flat = np.flatnonzero(above_0_hz.any(axis=(0, 2)))
        if len(flat):
            names = [self._channel_name(index) for index in flat]
            raise ValueError(
                f"Channel(s) {names} have no power at some frequency (flat or "
                "zeroed data), whose log is -inf; leave them out (picks) or drop "
                "those epochs."
            )
        if freqs[0] == 0 and empty[..., 0].any():
            raise ValueError(
                "The 0 Hz bin holds no power in some channel (each segment's "
                "mean is removed before its spectrum is taken, and a tapered "
                "segment can sum to zero), whose log is -inf. Raise fmin above "
                "0 Hz."
            )
        return 10 * np.log10(power), freqs

    def _settings(self):
        """Say how the spectra are computed, for messages."""
        if self.method == "multitaper":
            return f"multitaper, bandwidth={self.bandwidth}"
        return (
            f"Welch, n_fft={self.n_fft_}, n_per_seg={self.n_per_seg_}, "
            f"n_overlap={self.n_overlap_}, window={self.window!r}"
        )

    def _channel_name(self, index):
        return str(index) if self.ch_names_ is None else self.ch_names_[index]

    def _input(self, X, ch_names=None, fitted_sfreq=None, name="X"):
        """Return X as InputData and its sampling rate.

        Arrays are at ``sfreq``, or, once fitted, at the training rate, as
        arrays given to a fitted estimator are. ``name`` is the argument's
        name, for messages.
        """
        if isinstance(X, Spectrum | EpochsSpectrum):
            # Refused as the networks' input, with advice to use a
            # SpectralClassifier, which is what refuses it here.
            settings = f" ({self._settings()})" if hasattr(self, "freqs_") else ""
            raise TypeError(
                f"X is an MNE spectrum ({type(X).__name__}), and LogPowerSpectrum "
                f"computes the spectra itself from epochs in time, with its "
                f"settings{settings}: a spectrum records neither its segments nor "
                "its window, so it cannot be checked to match them. Give the "
                "epochs."
            )
        data = InputData(X, ch_names=ch_names, name=name)
        if data.info is not None:
            return data, data.info["sfreq"]
        if self.sfreq is None and fitted_sfreq is not None:
            return data, fitted_sfreq
        if self.sfreq is None:
            raise ValueError(
                "X is an array, which carries no sampling rate: pass "
                "LogPowerSpectrum(sfreq=...) in Hz, or give mne.Epochs."
            )
        _validate_type(self.sfreq, "numeric", "sfreq")
        if not self.sfreq > 0:
            raise ValueError(f"sfreq must be positive, got {self.sfreq}.")
        return data, float(self.sfreq)

    def fit(self, X, y=None):
        """Learn the channels, sampling rate and frequencies of the spectra.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Training data; arrays need the ``sfreq`` parameter.
        y : None
            Ignored.

        Returns
        -------
        self : LogPowerSpectrum
            The fitted transformer.
        """
        data, sfreq = self._input(X)
        if data.info is not None:
            data.pick(training_channels(data.info, self.picks))
        elif not (
            self.picks is None or (isinstance(self.picks, str) and self.picks == "all")
        ):
            # An array is read whole: picks=[0, 1] gave the spectra of all its
            # channels, and a SpectralClassifier trained on them, without a word.
            raise ValueError(
                f"picks={self.picks!r} chooses channels of Epochs by their info, "
                f"and X is an array without one, which is used whole "
                f"({data.shape[1]} channels). Give the array of the channels to "
                "use (e.g. epochs.get_data(picks=...)), or the Epochs."
            )
        self.sfreq_ = sfreq
        self.info_ = None if data.info is None else data.info.copy()
        self.ch_names_ = None if data.info is None else list(data.info.ch_names)
        self.n_channels_ = data.shape[1]
        self.n_fft_, self.n_per_seg_, self.n_overlap_ = self._check_params(
            sfreq, data.shape[2]
        )
        # The frequencies depend only on the settings and the length: one epoch
        # gives them without reading the rest, and the level of its power, to
        # tell data in another unit later.
        spectrum, self.freqs_ = self._log_power(next(data.batches(1)))
        self.power_level_ = float(spectrum.mean())
        return self

    def transform(self, X):
        """Return the log-power spectrum of every epoch.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Data with the training channels and sampling rate.

        Returns
        -------
        spectra : ndarray of float32, shape (n_epochs, n_channels, n_freqs)
            Power in dB (``10 * log10`` of the data's unit squared per Hz) at
            ``freqs_``, in float32 as networks read it. They are computed a
            batch of epochs at a time, so that memory grows with the spectra
            returned, and Epochs that are not preloaded are read a batch at a
            time.
        """
        return self._spectra(X).array()

    def _spectra(self, X, info=None, name="X"):
        """Return the spectra of ``X``, checked against training, computed as read.

        ``info`` is the info of the spectra as a network reads them (see
        :class:`Spectra`); ``name`` is the argument's name, for messages.
        """
        check_is_fitted(self, "freqs_")
        data, sfreq = self._input(
            X, ch_names=self.ch_names_, fitted_sfreq=self.sfreq_, name=name
        )
        # Fitted on arrays, there is no training info to compare rates with.
        if sfreq != self.sfreq_:
            raise ValueError(
                f"{name} is sampled at {sfreq} Hz but the spectra were fitted at "
                f"{self.sfreq_} Hz; resample it (e.g. epochs.resample"
                f"({self.sfreq_:g})), or it reads as other frequencies."
            )
        # Any length that gives the training frequencies will do, so the
        # length is checked through the frequencies of each batch.
        check_matches_training(
            data,
            train_info=self.info_,
            n_channels=self.n_channels_,
            n_times=data.shape[2],
        )
        if self.n_per_seg_ is not None and data.shape[2] < self.n_per_seg_:
            raise ValueError(
                f"{name} has {data.shape[2]} time samples, fewer than one Welch "
                f"segment (n_per_seg={self.n_per_seg_}) of the training data."
            )
        return Spectra(self, data, info)

    def _training_log_power(self, data, name="X"):
        """Return the log-power spectra of an array of epochs at ``freqs_``."""
        spectra, freqs = self._log_power(data)
        if not np.array_equal(freqs, self.freqs_):
            raise ValueError(
                f"{name} gives {len(freqs)} frequencies ({_frequency_span(freqs)}) "
                f"but the training data gave {len(self.freqs_)} "
                f"({_frequency_span(self.freqs_)}); give epochs of the training "
                "length."
            )
        return spectra

    def _check_level(self, spectra, message, name="X"):
        """Warn of spectra far in dB from the training data's, e.g. in another unit.

        In dB, another unit is an offset, which the network's check of
        amplitudes does not see: volts and microvolts are 120 dB apart.
        ``message`` is formatted with the ``offset`` in dB and the data's
        ``name``. Returns whether it warned.
        """
        offset = float(np.mean(spectra)) - self.power_level_
        far = abs(offset) > 20 * np.log10(SCALE_TOLERANCE)
        if far:
            warn_data_mismatch(message.format(offset=offset, name=name))
        return far


class Spectra(InputData):
    """The log-power spectra of epochs, computed a batch at a time as they are read.

    Read as the :class:`~mne_xai._convert.InputData` of the spectra would be:
    a network given it reads the spectra of each batch of epochs in turn, so
    that memory grows with the batch size, not with the number of epochs.
    Its events, event_id, metadata and selection are those of the epochs.

    Parameters
    ----------
    spectrum : LogPowerSpectrum
        The fitted transformer.
    data : InputData
        The epochs in time, checked against its training data.
    info : mne.Info | None
        The info of the spectra as a network reads them: its channels, in its
        order, at its rate. Spectra of arrays have none, as arrays.
    """

    def __init__(self, spectrum, data, info=None):
        self._spectrum, self._data = spectrum, data
        self.name, self.n_rejected = data.name, data.n_rejected
        self.events, self.event_id = data.events, data.event_id
        self._event_conflict = data._event_conflict
        self.info = None if data.info is None else info
        # As an EpochsArray of the spectra starts, without baseline correction.
        self.tmin = None if self.info is None else 0.0
        self.baseline = BASELINE_UNKNOWN if self.info is None else None
        # The epochs are read through ``data``; the spectra hold the channels
        # picked there, in the order read.
        self._epochs = self._picks = None
        self.shape = (*data.shape[:2], len(spectrum.freqs_))
        self._level_warned = False

    @property
    def metadata(self):
        """The epochs' metadata."""
        return self._data.metadata

    @property
    def selection(self):
        """The epochs' numbers (see :attr:`InputData.selection`)."""
        return self._data.selection

    @property
    def trials(self):
        """What ties each epoch to its trial (see :attr:`InputData.trials`)."""
        return self._data.trials

    def array(self):
        """Return all the spectra as one float32 array, computed a batch at a time."""
        return self._filled(_BATCH_SIZE)

    def batches(self, batch_size, dtype=np.float32):
        """Yield the spectra of consecutive batches of epochs, one batch at a time.

        Their level is checked batch by batch until one is far from the
        training data's (see :meth:`LogPowerSpectrum._check_level`): the
        parts of a list of Epochs may be in different units. One warning is
        enough.
        """
        for batch in self._data.batches(batch_size):
            spectra = self._spectrum._training_log_power(batch, self.name)
            if not self._level_warned:
                self._level_warned = self._spectrum._check_level(
                    spectra, _OTHER_LEVEL, self.name
                )
            yield as_float(spectra, dtype)
