"""Cropped training: fit on windows cut from epochs, predict by averaging windows."""

import mne
import numpy as np
from mne.utils import _time_mask, _validate_type
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import check_is_fitted, column_or_1d, has_fit_parameter

from ._convert import InputData, array_info, training_channels
from ._docs import fill_doc
from ._labels import labels_match_events, labels_required
from ._matching import (
    BASELINE_UNKNOWN,
    REFERENCE_UNKNOWN,
    check_matches_training,
    eeg_reference,
)
from ._network_building import NetworkInputError
from ._prediction import _ScoreMixin
from ._warnings import ignoring, quietly, warn, warnings_once
from .estimators import (
    UNPREDICTED_CLASSES,
    _EEGClassifier,
    log_at_level_of,
    refuse_picks_of_bare_arrays,
    warn_if_classes_unpredicted,
)


def _final_step(estimator):
    """Return the classifier that reads the windows.

    That of a Pipeline is its last step; that of a search its estimator, or
    once fitted its best (read on the search, a network's ``picks`` were not
    found, and a stimulus channel was cut into the windows and required).
    """
    if isinstance(estimator, Pipeline):
        return _final_step(estimator.steps[-1][1])
    if isinstance(estimator, BaseSearchCV):
        return _final_step(getattr(estimator, "best_estimator_", estimator.estimator))
    return estimator


def _final_step_parameter(estimator, name):
    """Return the key of the final step's parameter ``name`` in ``estimator``."""
    if isinstance(estimator, Pipeline):
        last, step = estimator.steps[-1]
        return f"{last}__{_final_step_parameter(step, name)}"
    if isinstance(estimator, BaseSearchCV):
        return f"estimator__{_final_step_parameter(estimator.estimator, name)}"
    return name


def _groups_key(estimator):
    """Return the key under which ``fit`` passes the windows' epochs as groups.

    Without metadata routing: to the final step of a Pipeline that takes
    ``groups``; to a search itself, for its folds (a search passes no
    ``groups`` on to the candidates' ``fit``, and a ``cv`` that is not
    group-aware ignores them). None where nothing takes them.
    """
    if isinstance(estimator, Pipeline):
        last, step = estimator.steps[-1]
        key = _groups_key(step)
        return None if key is None else f"{last}__{key}"
    if isinstance(estimator, BaseSearchCV) or has_fit_parameter(estimator, "groups"):
        return "groups"
    return None


def _groups_fit_params(estimator, groups):
    """Return the parameters by which ``estimator.fit`` gets the windows' epochs.

    ``estimator`` is the clone about to be fitted. With scikit-learn's metadata
    routing enabled, a Pipeline or a search refuses the ``step__groups`` keys
    and passes on only what its steps request: the final step's request is set
    on the clone (the user's estimator is left as it was), and ``groups`` is
    passed where something consumes it (that step, or a search's group-aware
    ``cv``).
    """
    if not get_config().get("enable_metadata_routing", False):
        key = _groups_key(estimator)
        return {} if key is None else {key: groups}
    final = _final_step(estimator)
    if has_fit_parameter(final, "groups") and hasattr(final, "set_fit_request"):
        final.set_fit_request(groups=True)
    if get_routing_for_object(estimator).consumes("fit", ["groups"]):
        return {"groups": groups}
    return {}


#: The start of the warning that windows leave samples unread (a regex, for
#: warning filters).
UNREAD_SAMPLES = r"window_step \(\d+ samples\) is longer than window_length"


#: Epochs that ``predict_proba`` reads and cuts into windows at a time (as many
#: as ``explain`` reads by default): their windows hold several times their data,
#: and Epochs not preloaded stream from disk.
EPOCHS_PER_PREDICTION = 64


def _estimator_infos(estimator):
    """Return every ``info`` parameter of ``estimator``, in a Pipeline too."""
    return {
        key: value
        for key, value in estimator.get_params().items()
        if key == "info" or key.endswith("__info")
    }


def _rate_of_estimator_infos(estimator):
    """Return the sampling rate that the estimator's ``info`` parameters give arrays.

    Arrays carry no rate; an estimator given ``info=epochs.info`` states it.
    """
    rates = {
        value["sfreq"]
        for value in _estimator_infos(estimator).values()
        if isinstance(value, mne.Info)
    }
    if len(rates) != 1:
        raise ValueError(
            "sfreq is required when X is an array: windows are given in seconds "
            "(or an info parameter of the estimator, which gives it)"
            + (f"; its info parameters give {sorted(rates)} Hz." if rates else ".")
        )
    return float(rates.pop())


def _give_the_rate_of_array_windows(estimator, n_channels, sfreq):
    """Set the rate of windows cut from arrays as every ``info`` left at None.

    Windows of arrays carry no rate: without one, our estimators size their
    kernels for 128 Hz, whatever ``sfreq`` says. Every info left at None is
    given it, also inside a Pipeline or a GridSearchCV.
    """
    infos = _estimator_infos(estimator)
    other_rates = {
        key: value["sfreq"]
        for key, value in infos.items()
        if isinstance(value, mne.Info) and value["sfreq"] != sfreq
    }
    if other_rates:
        raise ValueError(
            f"Windows are cut at sfreq={sfreq:g} Hz, but the estimator's "
            + ", ".join(f"{k} says {v:g} Hz" for k, v in other_rates.items())
            + ", for which its network would be built. Give one rate."
        )
    unset = [key for key, value in infos.items() if value is None]
    estimator.set_params(**dict.fromkeys(unset, array_info(n_channels, sfreq)))


class CroppedClassifier(
    MetaEstimatorMixin, _ScoreMixin, ClassifierMixin, BaseEstimator
):
    """Train a classifier on windows cut from each epoch; average them to predict.

    Every training epoch is cut into overlapping windows of ``window_length``
    seconds, taken every ``window_step`` seconds between ``tmin`` and ``tmax``;
    each window inherits the label of its epoch and ``estimator`` is trained on
    all of them. An epoch is predicted by cutting the same windows from it and
    averaging the class probabilities the estimator gives them, which uses no
    label of the predicted data. This is the cropped training of Schirrmeister
    et al. [1]_: the network sees several shifted views of every trial, which
    multiplies the training examples of small EEG data sets and makes it less
    sensitive to when in the trial the activity occurs.

    Parameters
    ----------
    estimator : classifier
        A scikit-learn classifier with ``predict_proba``, e.g.
        :class:`mne_xai.EEGNetClassifier`. It is cloned at ``fit`` and sees
        windows of ``window_length`` seconds: as :class:`mne.EpochsArray`
        (with the training channels and sampling rate) when fitting on Epochs,
        as an array otherwise. Its ``time_shift`` is set to 0: the windows,
        ``window_step`` apart, shift the epochs already.
    window_length : float | "auto"
        Duration of a window in seconds. ``"auto"`` takes half the span that
        windows are cut from, at most 2 s (Schirrmeister et al.'s 2 s windows
        of 4 s trials), so that short epochs also give several windows.
    window_step : float | "auto"
        Time between the starts of consecutive windows, in seconds. ``"auto"``
        is an eighth of the window length (0.25 s for 2 s windows), which gives
        nine or ten windows per epoch at ``window_length="auto"`` from spans of
        up to 4 s (more from longer ones: 14 from EEGBCI's -1 to 4 s epochs,
        whose windows stay 2 s long). When the step
        does not divide the span, a last window ends on ``tmax``, closer to the
        one before it. Both lengths are rounded to whole samples; a step longer
        than the window may leave samples unread, which a warning says (their
        relevance is 0 in the maps of :func:`mne_xai.explain`, and the
        evaluations leave them out).
    tmin, tmax : float | None
        The part of each epoch windows are cut from, in seconds on the epochs'
        time axis (both ends included, as in :meth:`mne.Epochs.crop`). None
        means the start or end of the epoch. For arrays, the first sample is
        time 0.
    sfreq : float | None
        Sampling frequency of data given as arrays, which converts seconds to
        samples; None takes the rate of the estimator's ``info`` parameter,
        if it has one. Every ``info`` parameter of the estimator left at None
        (ours, also inside a Pipeline or a GridSearchCV) is given the windows'
        rate, with made-up EEG channel names, so that its network sizes its
        kernels for that rate. Ignored when fitting on Epochs, whose ``info``
        gives it.

    Attributes
    ----------
    estimator_ : classifier
        The estimator fitted on the windows.
    classes_ : ndarray, shape (n_classes,)
        The class labels (those of ``estimator_``).
    info_ : mne.Info | None
        The measurement info of the training Epochs, on the channels the
        estimator reads (None for arrays).
    sfreq_ : float
        The sampling rate the windows were cut at (of the Epochs, or
        ``sfreq``); predicted Epochs must have it.
    n_channels_, n_times_ : int
        Number of those channels, and of samples per training epoch; predicted
        epochs must have them.
    tmin_ : float
        Time of the first sample of the training epochs (0 for arrays).
    baseline_ : tuple of float | None | "unknown"
        The training epochs' ``baseline`` (``"unknown"`` for arrays); Epochs
        given later that were corrected over another period get a warning.
    eeg_reference_ : str | None
        The reference the training EEG shows, as for the estimators
        (``"average"``, a channel's name, or None); Epochs given later that
        show another get a warning.
    event_id_ : dict | None
        The event names of the training Epochs (None for arrays), by which
        targets and class names are read.
    events_are_labels_ : bool
        Whether the events of Epochs are read as class labels: True when ``y``
        was None or the training Epochs' event codes or names (and for arrays).
        When False, ``score`` needs ``y`` and explanations of ``target="true"``
        are refused.
    window_starts_ : ndarray of int, shape (n_windows,)
        Sample index, within an epoch, of the start of each window: every
        ``window_step``, and the last window ending on ``tmax``.
    window_samples_ : int
        Number of samples in a window.

    See Also
    --------
    mne_xai.EEGNetClassifier
    mne.decoding.SlidingEstimator

    Notes
    -----
    Predicted epochs must have the channels, sampling rate, length and start
    time of the training epochs, so that the windows fall at the same times;
    arrays, which carry no time, are read on the time axis of the training
    epochs, as the estimators of mne_xai read them.

    Windows of one epoch overlap (with a step no longer than the window), and
    together they read every sample from ``tmin`` to ``tmax``: the last one
    ends on ``tmax`` even when
    ``window_step`` does not divide the span, so it may be closer to the one
    before it than the others are. When the estimator's ``fit`` takes
    ``groups`` (as the estimators of mne_xai do), each window's epoch is passed
    as its group, so a validation split made by the estimator itself (e.g.
    ``early_stopping=True``) holds out whole epochs rather than windows that
    share samples with training windows. A search (e.g.
    :class:`~sklearn.model_selection.GridSearchCV`) gets them for its folds,
    which then hold out whole epochs with a group-aware ``cv``
    (:class:`~sklearn.model_selection.GroupKFold`). With scikit-learn's
    metadata routing enabled (``sklearn.set_config(enable_metadata_routing=True)``),
    the clone that is fitted requests ``groups`` on that final step itself
    (``set_fit_request(groups=True)``), so a search also passes them on to
    its candidates.

    References
    ----------
    .. [1] Schirrmeister, R. T., Springenberg, J. T., Fiederer, L. D. J., et al.
       (2017). Deep learning with convolutional neural networks for EEG decoding
       and visualization. Human Brain Mapping, 38(11), 5391-5420.
       https://doi.org/10.1002/hbm.23730
    """

    def __init__(
        self,
        estimator,
        *,
        window_length="auto",
        window_step="auto",
        tmin=None,
        tmax=None,
        sfreq=None,
    ):
        self.estimator = estimator
        self.window_length = window_length
        self.window_step = window_step
        self.tmin = tmin
        self.tmax = tmax
        self.sfreq = sfreq

    @staticmethod
    def _seconds_to_samples(name, value, sfreq):
        _validate_type(value, "numeric", name, '"auto" or a number of seconds')
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}.")
        samples = int(round(value * sfreq))
        if samples < 1:
            raise ValueError(
                f"{name}={value} s is shorter than one sample at {sfreq:g} Hz."
            )
        return samples

    def _window_starts(self, n_times, sfreq, first_time):
        last_time = first_time + (n_times - 1) / sfreq
        tmin = first_time if self.tmin is None else self.tmin
        tmax = last_time if self.tmax is None else self.tmax
        _validate_type(tmin, "numeric", "tmin")
        _validate_type(tmax, "numeric", "tmax")
        if tmin >= tmax:
            raise ValueError(f"tmin={tmin} must be below tmax={tmax}.")
        # The samples mne.Epochs.crop keeps: rounded in time from 0 s, not
        # from the first sample (half a sample off, the two part ways).
        times = first_time + np.arange(n_times) / sfreq
        read = np.flatnonzero(_time_mask(times, tmin, tmax, sfreq, raise_error=False))
        outside = tmin < first_time - 0.5 / sfreq or tmax > last_time + 0.5 / sfreq
        if outside or not len(read):
            raise ValueError(
                f"tmin={tmin} and tmax={tmax} must lie within the epochs, which "
                f"span {first_time:g} to {last_time:g} s."
            )
        start, stop = read[0], read[-1] + 1
        window_length = self.window_length
        if window_length == "auto":
            window_length = min(2.0, (stop - start) / sfreq / 2)
        window_samples = self._seconds_to_samples("window_length", window_length, sfreq)
        window_step = self.window_step
        name = "window_step"
        if window_step == "auto":
            window_step, name = window_length / 8, 'window_step="auto" (an eighth)'
        step = self._seconds_to_samples(name, window_step, sfreq)
        if stop - start < window_samples:
            raise ValueError(
                f"No window of {self.window_length} s fits between tmin={tmin} and "
                f"tmax={tmax} s; shorten window_length or widen tmin, tmax."
            )
        last = stop - window_samples
        starts = np.arange(start, last + 1, step)
        if starts[-1] != last:
            # A step that does not divide the span leaves its end unread; a last
            # window ending on tmax reads it, as braindecode's cropped decoding.
            starts = np.append(starts, last)
        covered = np.zeros(stop - start, bool)
        for first in starts - start:
            covered[first : first + window_samples] = True
        # Only a step longer than the window leaves samples out, and not always:
        # a single window, or a last one ending on tmax, may read them all.
        if not covered.all():
            warn(
                f"window_step ({step} samples) is longer than window_length "
                f"({window_samples}): {np.sum(~covered)} of the {len(covered)} samples "
                "from tmin to tmax are in no window, so the network never reads "
                "them and their relevance is zero."
            )
        return starts, window_samples

    def _windows(self, data, info, inputs=None):
        """Cut every epoch into windows, epoch-major; wrap them like the input.

        Given the epochs' ``inputs`` (training), each window carries its
        epoch's event and the event names, so that the window estimator
        knows them as an estimator fitted on the epochs would: made up, its
        events were one code '1', and its explain(target="drowsy") and
        score(windows) refused the windows' own labels.
        """
        views = np.lib.stride_tricks.sliding_window_view(
            data, self.window_samples_, axis=2
        )
        # (n_epochs, n_channels, n_windows, n_samples) -> epoch-major windows.
        windows = views[:, :, self.window_starts_].transpose(0, 2, 1, 3)
        windows = windows.reshape(-1, *windows.shape[2:])
        if info is None:
            return np.ascontiguousarray(windows)
        events, event_id = None, None
        if inputs is not None and inputs.events is not None:
            codes = np.repeat(inputs.event_codes, len(self.window_starts_))
            events = np.column_stack(
                [np.arange(len(codes)), np.zeros(len(codes), int), codes]
            )
            event_id = inputs.event_id
        # proj=False: a projector the epochs hold but have not applied (an
        # average reference added with projection=True) stays unapplied.
        return mne.EpochsArray(
            windows,
            info,
            events=events,
            event_id=event_id,
            tmin=0.0,
            proj=False,
            on_missing="ignore",
            verbose=quietly(),
        )

    @fill_doc
    def fit(self, X, y=None):
        """Fit the estimator on the windows of every epoch.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray
            Training epochs; an array has shape ``(n_epochs, n_channels, n_times)``.
            %(epochs_list_cv)s
        y : array-like, shape (n_epochs,) | None
            Labels; with Epochs, None means ``epochs.events[:, 2]``.

        Returns
        -------
        self : CroppedClassifier
            The fitted classifier.
        """
        # A fit that fails leaves no fitted state: the windows set below would
        # otherwise be cut for the estimator fitted before, which a network
        # reading any length (CSP) took without an error.
        for name in [name for name in vars(self) if name.endswith("_")]:
            delattr(self, name)
        # A class's name, or None, failed as "'str' object has no attribute
        # 'get_params'".
        if not hasattr(self.estimator, "get_params"):
            raise TypeError(
                "estimator must be a scikit-learn classifier with predict_proba "
                f"(e.g. mne_xai.EEGNetClassifier()), got {type(self.estimator).__name__}."
            )
        inputs = InputData(X)
        network = _final_step(self.estimator)
        picks = network.get_params().get("picks", "all")
        picked = None
        if inputs.info is not None and not (isinstance(picks, str) and picks == "all"):
            # Only the channels the estimator will read are cut into windows
            # (not a stimulus channel, nor a bad one that may hold NaN).
            picked = training_channels(inputs.info, picks)
            inputs.pick(picked)
        data, info, first_time = inputs.array(), inputs.info, inputs.tmin or 0.0
        if y is None:
            if inputs.events is None:
                raise labels_required()
            y = inputs.event_codes
        y = column_or_1d(np.asarray(y), warn=True)  # as scikit-learn's estimators
        if len(y) != len(data):
            raise ValueError(
                f"y must hold one label per epoch ({len(data)}), got shape {y.shape}."
            )
        if info is not None:
            sfreq = info["sfreq"]
        elif self.sfreq is not None:
            _validate_type(self.sfreq, "numeric", "sfreq")
            if not self.sfreq > 0:
                raise ValueError(
                    f"sfreq must be a positive rate in Hz, got {self.sfreq}."
                )
            sfreq = float(self.sfreq)
        else:
            sfreq = _rate_of_estimator_infos(self.estimator)
        self.window_starts_, self.window_samples_ = self._window_starts(
            data.shape[2], sfreq, first_time
        )
        self.tmin_, self.n_times_ = first_time, data.shape[2]
        self.baseline_ = inputs.baseline
        self.event_id_ = inputs.event_id
        self.events_are_labels_ = labels_match_events(inputs, y)
        n_windows = len(self.window_starts_)
        log_at_level_of(
            network,
            f"Training on {n_windows} windows of {self.window_samples_} "
            f"samples from each of {len(data)} epochs.",
        )
        estimator = clone(self.estimator)
        # Windows of one epoch stay on one side of an inner validation split.
        fit_params = _groups_fit_params(
            estimator, np.repeat(np.arange(len(data)), n_windows)
        )
        shift = _final_step_parameter(estimator, "time_shift")
        if shift in estimator.get_params():
            # The windows, window_step apart, are the shifts already: shifted
            # again, Cropped(EEGNet) scored less on EEGBCI and simulated ERPs.
            estimator.set_params(**{shift: 0.0})
        if picked is not None:
            # The windows hold the picked channels alone, among which indices
            # or a slice would pick again.
            estimator.set_params(**{_final_step_parameter(estimator, "picks"): picked})
        if info is None:
            if not any(
                isinstance(value, mne.Info)
                for value in _estimator_infos(estimator).values()
            ):
                # The info given to the windows below would be made up.
                refuse_picks_of_bare_arrays(picks, data.shape[1])
            _give_the_rate_of_array_windows(estimator, data.shape[1], sfreq)
        # Counted in windows; the epochs are judged below, by their mean.
        try:
            with ignoring(UNPREDICTED_CLASSES):
                self.estimator_ = estimator.fit(
                    self._windows(data, info, inputs),
                    np.repeat(y, n_windows),
                    **fit_params,
                )
        except NetworkInputError as err:
            # It spoke of epochs of the windows' length, which the user's
            # epochs are not: a network of a fixed input length (a Linear
            # layer after Flatten) failed on "auto" windows of half the span.
            auto = (
                ', window_length="auto": half the span windows are cut from, '
                "at most 2 s"
                if isinstance(self.window_length, str)
                else ""
            )
            raise ValueError(
                f"{err} Those epochs are the windows the CroppedClassifier cuts: "
                f"{self.window_samples_} samples ({self.window_samples_ / sfreq:g} "
                f"s{auto}) of the epochs' {data.shape[2]}. A network that reads a "
                "fixed number of samples needs window_length of that many samples, "
                "in seconds."
            ) from err
        self.classes_ = self.estimator_.classes_
        # The estimator picks the channels it reads (not EOG, by default): new
        # data need only those.
        read = getattr(_final_step(self.estimator_), "ch_names_", None)
        if info is not None and read is not None and read != info.ch_names:
            info = mne.pick_info(info, [info.ch_names.index(name) for name in read])
        # A copy: the Epochs may change in place after fit (reordered channels
        # gave the explanations another order), and the training must not.
        self.info_ = None if info is None else info.copy()
        self.eeg_reference_ = None
        if info is not None:
            read = [inputs.info.ch_names.index(name) for name in info.ch_names]
            self.eeg_reference_ = eeg_reference(data[:, read], info)
        self.sfreq_ = sfreq
        self.n_channels_ = data.shape[1] if info is None else info["nchan"]
        fitted = _final_step(self.estimator_)
        if isinstance(fitted, _EEGClassifier) and fitted.max_epochs_:
            warn_if_classes_unpredicted(
                self.predict_proba(X).argmax(axis=1),
                np.searchsorted(self.classes_, y),
                self.classes_,
                fitted.class_weight,
            )
        return self

    def predict_proba(self, X):
        """Return class probabilities averaged over the windows of each epoch.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray
            Epochs matching the training epochs in channels, sampling rate,
            length and start time.

        Returns
        -------
        proba : ndarray, shape (n_epochs, n_classes)
            Mean window probability, columns ordered as ``classes_``.
        """
        # The estimator checks the windows against its training windows, as
        # this classifier checked the epochs: a warning of both is one warning.
        with warnings_once():
            inputs, info = self._prediction_input(X)
            proba = np.concatenate(
                [
                    self.estimator_.predict_proba(self._windows(batch, info))
                    for batch in inputs.batches(EPOCHS_PER_PREDICTION)
                ]
            )
        return proba.reshape(inputs.shape[0], len(self.window_starts_), -1).mean(axis=1)

    def _prediction_input(self, X):
        """Check X against the training epochs; return it and its windows' info."""
        inputs = self._checked_input(X)
        return inputs, None if self.info_ is None else inputs.info

    def _checked_input(self, X, name="X"):
        """Return X as InputData, checked against the training epochs.

        What the classifier predicts and what is explained of it are read
        alike: the windows fall at the training epochs' times or nowhere.
        ``name`` is the argument's name, for messages.
        """
        check_is_fitted(self, "estimator_")
        inputs = InputData(
            X, ch_names=None if self.info_ is None else self.info_.ch_names, name=name
        )
        check_matches_training(
            inputs,
            train_info=self.info_,
            n_channels=self.n_channels_,
            n_times=self.n_times_,
            # Missing from classifiers pickled before they were recorded.
            train_sfreq=getattr(self, "sfreq_", None),
            train_baseline=getattr(self, "baseline_", BASELINE_UNKNOWN),
            train_reference=getattr(self, "eeg_reference_", REFERENCE_UNKNOWN),
        )
        # Arrays carry no time: they are read on the training epochs' time axis.
        if inputs.tmin is not None and not np.isclose(inputs.tmin, self.tmin_):
            # Trained on arrays, the windows' times were counted from their
            # first sample, which may or may not be this first sample.
            arrays = (
                " (trained on arrays, whose first sample is time 0: to read these "
                "epochs sample by sample, as the training arrays, give them as "
                "an array, X.get_data())"
                if self.info_ is None
                else ""
            )
            raise ValueError(
                f"X starts at {inputs.tmin:g} s but the training epochs started at "
                f"{self.tmin_:g} s{arrays}; the windows would fall at other times."
            )
        return inputs

    def adapt_batch_norm(self, X):
        """Re-estimate batch-norm statistics on the windows of unlabeled epochs.

        The estimator's ``adapt_batch_norm`` (AdaBN) applied to every window
        of ``X``, the windows the network reads when predicting ``X``.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray
            Unlabeled epochs of the domain to adapt to, matching the training
            epochs.

        Returns
        -------
        self : CroppedClassifier
            The classifier, adapted in place.
        """
        # Unfitted, it raised "object has no attribute 'estimator_'".
        check_is_fitted(self, "estimator_")
        if not hasattr(self.estimator_, "adapt_batch_norm"):
            raise TypeError(
                f"{type(self.estimator_).__name__} has no adapt_batch_norm; "
                "EEGNetClassifier and InterpretableCNNClassifier have."
            )
        with warnings_once():
            inputs, info = self._prediction_input(X)
            # The statistics are those of all windows at once.
            self.estimator_.adapt_batch_norm(self._windows(inputs.array(), info))
        return self

    def predict(self, X):
        """Return the class with the highest mean window probability.

        Around skorch's ``NeuralNetBinaryClassifier``, that is a threshold of
        0.5 on the mean probability of ``classes_[1]``, whatever the wrapped
        classifier's ``threshold``: to decide at another, compare
        ``predict_proba(X)[:, 1]`` with it.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | ndarray
            Epochs matching the training epochs.

        Returns
        -------
        y_pred : ndarray, shape (n_epochs,)
            Labels in the coding of ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]
