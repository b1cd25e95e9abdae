"""The model contract: what explain and evaluate need from a fitted classifier.

:func:`mne_xai.explain` and :mod:`mne_xai.evaluate` ask little of a fitted
estimator, and ask it through these names only (which the estimators of
mne_xai have themselves):

- ``module_``: a torch module mapping the network's input, shape ``(batch,
  n_channels, n_times)`` in the unit of the data given, to one logit per class;
- ``classes_``: the class labels, in the order of the logits;
- ``info_``: the :class:`mne.Info` of the network's channels (None if unknown);
  ``_sfreq``, its sampling rate;
- ``n_channels_``, ``n_times_``: the shape of one input epoch (None if unknown);
- ``data_mean_`` (the mean training epoch, for ``baseline="mean"``) and
  ``data_std_`` (to warn about data in another unit; a float, or one value
  per channel for channels of several types), None if unknown;
- ``device``: where the module lives;
- ``_check_prediction_input(X, name)``: the transform from the user's data (Epochs,
  lists of Epochs, arrays) to the network's input, as an
  :class:`~mne_xai._convert.InputData` read lazily;
- ``predicted_index(data)`` and ``class_probabilities(data)``, only for a
  network whose prediction is not the softmax of its logits: the index in
  ``classes_`` of the class it predicts for each epoch of that InputData
  (which ``target=None`` explains), and its probability of each class.

:func:`as_network` gives other classifiers these names: a
:class:`~mne_xai.CroppedClassifier` (whole epochs, explained through the mean
of its window logits), a :class:`~sklearn.pipeline.Pipeline` ending in a
network, and any skorch classifier (braindecode's ``EEGClassifier``
included) with the ``info`` of its input channels.
"""

import copy
import math

import mne
import numpy as np
import torch
from mne.utils import _validate_type
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet, NeuralNetBinaryClassifier

from ._convert import InputData
from ._matching import check_matches_training
from ._warnings import quietly, warn
from .cropping import CroppedClassifier
from .estimators import _EEGClassifier
from .models import ScaledInput
from .spectral_input import LogPowerSpectrum

# Epochs read at a time to predict, as many as explain's default batch_size.
_PREDICTION_BATCH_SIZE = 64


def as_network(estimator, *, info=None, event_id=None, scaling=None):
    """Return what explain and evaluate need from a fitted classifier.

    Parameters
    ----------
    estimator : classifier
        A fitted :class:`~mne_xai.EEGNetClassifier` or
        :class:`~mne_xai.InterpretableCNNClassifier` (returned as it is), a
        fitted :class:`~mne_xai.CroppedClassifier`, a
        :class:`~sklearn.pipeline.Pipeline` whose last step is one of these
        and whose other steps are ``"passthrough"``, any fitted skorch
        classifier (e.g. braindecode's ``EEGClassifier``), or a fitted
        :class:`~sklearn.model_selection.GridSearchCV` (or another search)
        whose ``best_estimator_`` is one of these.
    info : mne.Info | None
        The channels a foreign skorch classifier was trained on, in its
        input's order; Epochs are then read from these channels by name and
        the maps carry this info. None: Epochs are read by position, their
        channels taken to be the network's in its order, and arrays are
        refused. skorch records neither the length nor the start of its
        training epochs: give epochs cut as the training data were (a network
        that pools over time adaptively reads others without an error).
        Ignored for the estimators of mne_xai, which know their channels.
    event_id : dict | None
        The event names of a foreign skorch classifier's classes, as
        ``{name: class}`` (e.g. ``{"left": 0, "right": 1}`` for a network
        trained on ``LabelEncoder``'s labels of those events). Events of
        Epochs are then read as its classes by name, as for the estimators of
        mne_xai trained on Epochs (``target="true"``, targets by event
        name). None: a network fitted on arrays says nothing of what its
        classes are, so events are matched to them by name only, where its
        classes are event names. Ignored for the estimators of mne_xai.
    scaling : float | None
        The factor a foreign skorch classifier's training data were multiplied
        by from MNE's units (volts for EEG): ``1e6`` for a network trained on
        microvolts, as braindecode's examples scale them. Data given (Epochs,
        and arrays) are then in MNE's units, multiplied by it before the
        network, and attributions are with respect to those data. None: data
        are given in the unit the network was trained on, which nothing
        records; Epochs in volts given to a network trained on microvolts
        are read a million times too small, and every output is that of a
        flat epoch, without warning. A classifier that reads Epochs in another
        unit itself (braindecode's ``EEGClassifier`` multiplies them by 1e6)
        is refused without ``scaling``. Ignored for the estimators of mne_xai,
        which record their training data's scale.

    Returns
    -------
    network : object
        An object with the names of the model contract (see
        :ref:`guide-own-network`).

    Notes
    -----
    A CroppedClassifier predicts an epoch by averaging the class
    probabilities of its windows. Its explanations are of the mean of the
    window logits, the linear average that attribution rules pass through.
    Both rank the classes alike unless windows disagree strongly; even then,
    ``target=None`` explains the class the classifier predicts (of the
    highest mean probability), not that of the highest mean logit.
    ``info``, ``event_id`` and ``scaling`` are those of its window network
    (a foreign skorch network's channels default to the classifier's).
    """
    return read_network(estimator, info=info, event_id=event_id, scaling=scaling)


def read_network(estimator, *, caller=None, info=None, event_id=None, scaling=None):
    """Return :func:`as_network` of ``estimator``, refused in the terms of ``caller``.

    ``caller`` names a function that reads the network alone, without epochs
    (e.g. ``"maximize_activation"``): a Pipeline that transforms the data
    before the network is refused with the advice to pass its last step.
    None: the function reads epochs, which the advice passes through the
    Pipeline's other steps first.
    """
    _validate_type(info, (None, mne.Info), "info")
    _validate_type(event_id, (None, dict), "event_id")
    _validate_type(scaling, (None, "numeric"), "scaling")
    if scaling is not None and not (np.isfinite(scaling) and scaling > 0):
        raise ValueError(f"scaling must be a positive number, got {scaling}.")
    if isinstance(estimator, _EEGClassifier):
        # Before any attribute the functions read (module_, info_, classes_).
        estimator.check_is_fitted()
        return estimator
    if isinstance(estimator, _CroppedNetwork | _SkorchNetwork):
        return estimator
    given = dict(caller=caller, info=info, event_id=event_id, scaling=scaling)
    if isinstance(estimator, Pipeline):
        check_passthrough(estimator, caller)
        return read_network(estimator.steps[-1][1], **given)
    if hasattr(estimator, "best_estimator_"):  # a search, refitted on all data
        return read_network(estimator.best_estimator_, **given)
    if isinstance(estimator, CroppedClassifier):
        return _CroppedNetwork(estimator, info, event_id, scaling)
    if isinstance(estimator, NeuralNet):
        return _SkorchNetwork(estimator, info, event_id, scaling)
    # Imported here: mne_xai.inspect builds on this module.
    from .inspect import SpectralClassifier

    advice = ""
    if isinstance(estimator, SpectralClassifier):
        # Its network reads spectra, not the epochs given here.
        advice = (
            " A SpectralClassifier's network reads spectra: explain it per "
            "channel and frequency with mne_xai.inspect.explain_spectral_classifier."
        )
    raise TypeError(
        f"Cannot read a network in a {type(estimator).__name__}: explanations, "
        "evaluations and inspections need a fitted network (an mne_xai "
        "estimator, a CroppedClassifier, a Pipeline ending in one, a skorch "
        f"classifier, or a search over one of these fitted with refit=True).{advice}"
    )


def _transforming_steps(pipeline):
    """Names of the steps of ``pipeline`` that change the data before its last."""
    return [
        name for name, step in pipeline.steps[:-1] if step not in ("passthrough", None)
    ]


def _transforming_window_steps(estimator):
    """Names of the steps that change a CroppedClassifier's windows before its network.

    Those of a Pipeline, of a Pipeline as its last step, and of a search's
    best estimator, at any depth.
    """
    if isinstance(estimator, Pipeline):
        return _transforming_steps(estimator) + _transforming_window_steps(
            estimator.steps[-1][1]
        )
    if hasattr(estimator, "best_estimator_"):
        return _transforming_window_steps(estimator.best_estimator_)
    return []


def check_passthrough(pipeline, caller=None):
    """Refuse a Pipeline whose steps before the network transform the data.

    ``caller`` names a function that reads the network alone (see
    :func:`read_network`); None, one that reads epochs.
    """
    transforming = _transforming_steps(pipeline)
    if not transforming:
        return
    spectra = [
        name
        for name in transforming
        if isinstance(pipeline.named_steps[name], LogPowerSpectrum)
    ]
    advice = (
        # Explained as epochs, spectra would be Fourier-transformed along their
        # frequencies and read as times.
        f"Step {spectra[0]!r} makes spectra: train a "
        "mne_xai.inspect.SpectralClassifier(network) instead and explain it with "
        "mne_xai.inspect.explain_spectral_classifier, which reads relevance per "
        "channel and frequency."
        if spectra
        # maximize_activation and temporal_filters without epochs: the epochs
        # explain's advice transformed are none of theirs.
        else f"{caller} reads the network alone: pass pipeline[-1] instead, "
        "whose input is the output of pipeline[:-1] (in its unit)."
        if caller
        else "The network is read on its own input: pass pipeline[-1] instead, "
        "with pipeline[:-1].transform(epochs) in place of the epochs."
    )
    raise ValueError(
        f"The Pipeline transforms the data before the network (steps "
        f"{transforming}). {advice}"
    )


class WindowAverage(torch.nn.Module):
    """The mean of a network's logits over windows cut from each epoch.

    Parameters
    ----------
    module : torch.nn.Module
        The network of one window.
    starts : array of int
        First sample of each window within an epoch.
    n_samples : int
        Samples per window.
    """

    #: It holds the user's network at ``module``: messages name its layers
    #: without that prefix (see mne_xai._graph.shown_layer_name).
    wraps_network = True

    def __init__(self, module, starts, n_samples):
        super().__init__()
        self.module = module
        self.starts = [int(start) for start in starts]
        self.n_samples = int(n_samples)
        # A new module is in training mode: report the mode of the network it
        # wraps, as every wrapper of the user's network does.
        self.train(module.training)

    def forward(self, x):  # noqa: D102
        return self.window_logits(x).mean(dim=1)

    def window_logits(self, x):
        """Return the logits of each window, shape (batch, n_windows, n_classes)."""
        # Epoch-major: the windows of a batch's first half stay in the first
        # half, as DeepLIFT needs (it runs inputs and baselines as one batch
        # and pairs the halves at every nonlinearity).
        windows = torch.stack(
            [x[..., start : start + self.n_samples] for start in self.starts], dim=1
        )
        logits = self.module(windows.flatten(0, 1))
        return logits.reshape(len(x), len(self.starts), -1)

    def in_windows(self, n_times):
        """Return which samples of an epoch of ``n_times`` some window reads.

        Returns
        -------
        read : ndarray of bool, shape (n_times,)
            False where no window reaches: between windows ``window_step``
            apart that is longer than them, and outside ``tmin`` to ``tmax``.
        """
        read = np.zeros(n_times, bool)
        for start in self.starts:
            read[start : start + self.n_samples] = True
        return read

    def zero_outside_windows(self, x):
        """Return ``x`` with the samples no window reads set to 0.

        The network's output does not depend on them, so whatever they hold
        (a method's values there, or what penalties alone shaped) is no part
        of an explanation.
        """
        unread = torch.from_numpy(~self.in_windows(x.shape[-1])).to(x.device)
        return x.masked_fill(unread, 0.0)

    def class_probabilities(self, x):
        """Return the mean of the windows' probabilities, as the classifier predicts."""
        return self.mean_probabilities(self.window_logits(x))

    def mean_probabilities(self, window_logits):
        """Return the mean of the windows' probabilities, given their logits."""
        if isinstance(self.module, BinaryLogOdds):  # (-s, s): not its probabilities
            window_logits = self.module.probability_logits(window_logits)
        return window_logits.softmax(dim=-1).mean(dim=1)


class BinaryLogOdds(torch.nn.Module):
    """A binary classifier's single score as one logit per class.

    skorch's ``NeuralNetBinaryClassifier`` trains a network returning one
    score per epoch, the log-odds ``z`` of ``classes_[1]``, and predicts
    ``classes_[1]`` when its probability exceeds ``threshold``. Returning
    ``(-s, s)`` with ``s = z - logit(threshold)``, the log-odds of each class
    measured from the decision threshold, makes the explained logit of a class
    its own evidence, and the larger one the class the classifier predicts.
    The shift is a constant: gradients, and maps against a baseline, are those
    of ``z``.

    Parameters
    ----------
    module : torch.nn.Module
        The network, returning shape ``(batch,)`` or ``(batch, 1)``.
    threshold : float
        The classifier's decision threshold on the probability of
        ``classes_[1]``, in (0, 1).
    """

    #: It holds the user's network at ``module``: messages name its layers
    #: without that prefix (see mne_xai._graph.shown_layer_name).
    wraps_network = True

    def __init__(self, module, threshold=0.5):
        super().__init__()
        if not 0 < threshold < 1:
            raise ValueError(
                f"The classifier's threshold must lie strictly between 0 and 1, "
                f"got {threshold}: at {threshold} it predicts one class whatever "
                "the input, and no map can say why."
            )
        self.module = module
        self.offset = math.log(threshold / (1 - threshold))
        self.train(module.training)

    def forward(self, x):  # noqa: D102
        score = self.module(x).reshape(len(x), 1)
        if self.offset:
            # Not at the default threshold, 0.5: a constant added to the score
            # has no relevance rule of LRP's, which then refuses it.
            score = score - self.offset
        return torch.cat([-score, score], dim=1)

    def probability_logits(self, outputs):
        """Return logits whose softmax is the classifier's probabilities: ``(0, z)``.

        The softmax of the outputs ``(-s, s)`` is ``sigmoid(2 s)``, not the
        classifier's ``sigmoid(z)``: what reads probabilities reads these.
        """
        score = outputs[..., 1:] + self.offset
        return torch.cat([torch.zeros_like(score), score], dim=-1)

    def output_probabilities(self, outputs):
        """Return the classifier's probabilities of the classes from the outputs."""
        return self.probability_logits(outputs).softmax(dim=-1)


class _CroppedNetwork:
    """A fitted CroppedClassifier, as a network of whole epochs."""

    def __init__(self, cropped, info=None, event_id=None, scaling=None):
        check_is_fitted(cropped, "estimator_")
        estimator = cropped.estimator_
        transforming = _transforming_window_steps(estimator)
        if transforming:  # the Pipeline's advice would explain no epoch's samples
            raise ValueError(
                f"The CroppedClassifier's Pipeline transforms each window before "
                f"the network (steps {transforming}), so its maps would be of "
                "the transformed windows, not of the epochs' samples; a "
                "CroppedClassifier is explained when its estimator reads the "
                "windows as they are."
            )
        self.cropped = cropped
        # What as_network is told of a foreign window network (braindecode's
        # reads Epochs in microvolts); the channels default to those the
        # classifier cut its windows from.
        self.window_network = as_network(
            estimator,
            info=getattr(cropped, "info_", None) if info is None else info,
            event_id=event_id,
            scaling=scaling,
        )
        self.module_ = WindowAverage(
            self.window_network.module_, cropped.window_starts_, cropped.window_samples_
        )
        self.classes_ = cropped.classes_
        self.event_id_ = cropped.event_id_
        # Missing from classifiers pickled before it was recorded.
        self.events_are_labels_ = getattr(cropped, "events_are_labels_", True)
        self.info_ = self.window_network.info_
        # A network of the user's own, fitted on arrays, knows no rate; the
        # classifier cut its windows at one (given, not assumed).
        self._sfreq = self.window_network._sfreq
        self._sfreq_given = self._sfreq is None and hasattr(cropped, "sfreq_")
        if self._sfreq_given:
            self._sfreq = cropped.sfreq_
        self.n_channels_, self.n_times_ = cropped.n_channels_, cropped.n_times_
        self.tmin_ = cropped.tmin_
        # The mean training window is no epoch: a "mean" baseline is refused.
        self.data_mean_ = None
        self.data_std_ = getattr(self.window_network, "data_std_", None)
        self.device = self.window_network.device

    def _check_prediction_input(self, X, name="X"):
        return self.cropped._checked_input(X, name)

    def predicted_index(self, data):
        """Return the index in ``classes_`` of the class predicted for each epoch.

        The classifier's own prediction, of the highest mean window
        probability, which the highest mean window logit (``module_``) need
        not be when windows disagree.

        Parameters
        ----------
        data : InputData
            Epochs, as ``_check_prediction_input`` returns them.

        Returns
        -------
        index : ndarray of int64, shape (n_epochs,)
            Index in ``classes_`` of each epoch's predicted class.
        """
        return self.class_probabilities(data).argmax(axis=1)

    def class_probabilities(self, data):
        """Return the classifier's probability of each class for each epoch.

        The mean over windows of their softmax probabilities, as
        ``predict_proba`` gives them.

        Parameters
        ----------
        data : InputData
            Epochs, as ``_check_prediction_input`` returns them.

        Returns
        -------
        proba : ndarray, shape (n_epochs, n_classes)
            Columns in the order of ``classes_``.
        """
        # Imported here: the attribution methods build on this module.
        from .attribution._core import private_module

        # The module, not predict_proba, whose check of each batch's unit
        # repeated the warning of the caller's own check; its private copy, as
        # every method computes with. Batches of epochs: the windows of every
        # epoch at once would hold n_windows times the data.
        module = private_module(self, self.device)
        with torch.no_grad():
            return np.concatenate(
                [
                    module.class_probabilities(
                        torch.as_tensor(batch, device=self.device)
                    )
                    .cpu()
                    .numpy()
                    for batch in data.batches(_PREDICTION_BATCH_SIZE)
                ]
            )


def _refuse_a_unit_of_its_own(net):
    """Refuse, without ``scaling``, a classifier that reads Epochs in another unit.

    braindecode's ``EEGClassifier`` multiplies Epochs by 1e6 in its
    ``get_dataset`` (microvolts), in ``predict`` as in ``fit``, and reads
    arrays as they are: given the Epochs in volts, its network answered as for
    flat epochs, without a word. Which unit arrays are in, only the user
    knows. skorch's own classifiers read no Epochs. One that changes Epochs
    otherwise than by one positive factor (removing each epoch's mean,
    scaling each by its own peak) is refused too: no ``scaling`` gives its
    network what it reads. Two epochs of unequal samples tell these from a
    unit (an epoch of ones, scaled by its own peak, reads as unscaled).
    """
    probe = np.array([[[1.0, 2.0]], [[-3.0, 5.0]]])
    epochs = mne.EpochsArray(probe, mne.create_info(1, 100.0, "eeg"), verbose=quietly())
    try:
        read = getattr(net.get_dataset(epochs), "X", None)
    except (TypeError, ValueError):
        return
    if not isinstance(read, np.ndarray) or read.shape != probe.shape:
        return
    with np.errstate(all="ignore"):
        factors = np.asarray(read, float) / probe
    factor = float(factors.flat[0])
    if not (
        np.isfinite(factor)
        and factor > 0
        and np.allclose(factors, factor, rtol=1e-5, atol=0)
    ):
        raise ValueError(
            f"This {type(net).__name__} changes Epochs by no single positive "
            "factor when it reads them (its get_dataset makes two epochs of "
            "samples [1, 2] and [-3, 5] into "
            f"{np.round(read.reshape(2, 2), 3).tolist()}), and mne_xai gives its "
            "network the data as they are. Give arrays as its get_dataset makes "
            "them from Epochs, with as_network(clf, info=epochs.info, scaling=1)."
        )
    if factor != 1:
        raise ValueError(
            f"This {type(net).__name__} multiplies Epochs by {factor:g} when it "
            "reads them (its get_dataset does), and mne_xai gives its network "
            "the data as they are. Say which unit it was trained in: "
            f"as_network(clf, info=epochs.info, scaling={factor:g}) to explain "
            "Epochs as it predicts them (arrays are then given in MNE's units, "
            "volts for EEG), or scaling=1 to give data in the unit it was "
            "trained on."
        )


class _SkorchNetwork:
    """A skorch classifier trained on arrays of some channels."""

    def __init__(self, net, info, event_id=None, scaling=None):
        net.check_is_fitted()
        self.module_ = net.module_
        if scaling is None:
            _refuse_a_unit_of_its_own(net)
        if scaling is not None:
            self.module_ = ScaledInput(self.module_, float(scaling))
        if isinstance(net, NeuralNetBinaryClassifier):
            self.module_ = BinaryLogOdds(self.module_, net.threshold)
        self.classes_ = np.asarray(net.classes_)
        if event_id is not None:
            others = sorted(
                set(event_id.values()) - set(self.classes_.tolist()), key=str
            )
            if others:
                raise ValueError(
                    f"event_id maps names to {others}, which are not classes of "
                    f"the network ({self.classes_.tolist()}); give each name the "
                    "class it was trained as."
                )
        self.event_id_ = event_id
        self._read_channels(info)
        self.n_times_ = None
        self.data_mean_ = self.data_std_ = None
        self.device = net.device

    def _read_channels(self, info):
        self.info_ = None if info is None else info.copy()
        self._sfreq = None if info is None else info["sfreq"]
        self.n_channels_ = None if info is None else len(info.ch_names)

    def _check_prediction_input(self, X, name="X"):
        ch_names = None if self.info_ is None else list(self.info_.ch_names)
        data = InputData(X, ch_names=ch_names, name=name)
        if self.info_ is None:
            if data.info is None:
                raise ValueError(
                    "This skorch classifier does not know its channels: pass "
                    "as_network(net, info=epochs.info) to explain it on arrays."
                )
            return data  # nothing known of the training data to compare with
        # Epochs are checked against info as the estimators of mne_xai check
        # them (rate, pass band, reference); skorch records neither the
        # length nor the start time of its training epochs.
        check_matches_training(
            data,
            train_info=self.info_,
            n_channels=self.n_channels_,
            n_times=data.shape[2],
        )
        return data


def reading_channels(network, info):
    """Return ``network``, told the channels of Epochs it was wrapped without.

    A skorch classifier wrapped without ``info`` reads Epochs by position and
    refuses arrays, whose channels it cannot know. Functions that check Epochs
    once and then explain them batch by batch as arrays (the evaluations) give
    it the Epochs' info, so that it explains the batches as
    :func:`mne_xai.explain` explains the Epochs.

    Parameters
    ----------
    network : object
        A fitted classifier, as :func:`as_network` returns it.
    info : mne.Info | None
        The info of the Epochs, None for arrays.

    Returns
    -------
    network : object
        ``network`` itself, or a copy sharing its module that reads the
        channels of ``info``.
    """
    # Networks that know their channels, or read arrays as they are (the
    # estimators of mne_xai fitted on arrays), are used as they are.
    known = network.info_ is not None or not isinstance(network, _SkorchNetwork)
    if known or info is None:
        return network
    network = copy.copy(network)
    network._read_channels(info)
    return network


def check_reads_time(network, tool):
    """Refuse a network whose last input axis is frequency, not time.

    A :class:`~mne_xai.inspect.SpectralClassifier`'s ``estimator_`` reads
    log-power spectra as if they were time series at ``network_sfreq_``:
    filters, bands and 1/f priors computed on that axis would be read as
    time and Hz, and are wrong.
    """
    if getattr(network, "reads_spectra_", False):
        raise ValueError(
            f"{tool} reads the network's input as time, and this network (a "
            "SpectralClassifier's estimator_) reads log-power spectra, whose last "
            "axis is frequency. Explain it with "
            "mne_xai.inspect.explain_spectral_classifier; spatial_patterns, "
            "layer_activations and pruning_curve take it with "
            "spectral.spectrum_.transform(epochs)."
        )


def sampling_rate(network, what):
    """Return the network's sampling rate, warning when it was assumed.

    The estimators size their kernels for 128 Hz, the published rate, when
    fitted on arrays without ``info``: frequencies then hold only if the data
    were sampled at 128 Hz, which nothing records.

    Parameters
    ----------
    network : object
        A fitted classifier, as :func:`as_network` returns it.
    what : str
        What is given in Hz, for the warning.

    Returns
    -------
    sfreq : float | None
        The rate, None when unknown.
    """
    assumed = network.info_ is None and not getattr(network, "_sfreq_given", False)
    if network._sfreq is not None and assumed:
        warn(
            f"The network was fitted on arrays without info, so its sampling rate "
            f"is taken as {network._sfreq:g} Hz, the rate its kernels were sized "
            f"for; {what} hold at that rate only. Fit it on Epochs, or with "
            "info=mne.create_info(ch_names, sfreq, 'eeg'), to use your rate."
        )
    return network._sfreq
