"""Prediction of the estimators of :mod:`mne_xai.estimators` on new data.

New data are checked against the training data (channels, sampling rate,
length and scale) before the network sees them.
"""

import threading

import numpy as np
import torch
from skorch.dataset import unpack_data
from skorch.utils import to_device, to_tensor

from ._convert import InputData, checked_batches
from ._data_checks import check_outputs_finite
from ._docs import fill_doc
from ._graph import check_float32, runs_hooks, shown_layer_name
from ._labels import labels_or_events
from ._matching import BASELINE_UNKNOWN, REFERENCE_UNKNOWN, check_matches_training

#: Marks the datasets that skorch makes in ``fit`` from the data converted and
#: checked there, on which its scoring callbacks predict.
FIT_DATASET = "_mne_xai_fit_dataset"


def is_fit_dataset(X):
    """Whether ``X`` is a dataset made in ``fit`` (or a subset of one)."""
    while isinstance(X, torch.utils.data.Subset):
        X = X.dataset
    return getattr(X, FIT_DATASET, False)


def decision_scores(logits):
    """Return logits as ``decision_function`` gives them: 1-D for two classes.

    scikit-learn's scorers (``"roc_auc"``, ``"average_precision"``) read a
    binary classifier's ``decision_function`` as one score per sample,
    positive for ``classes_[1]``; the difference of the two logits is that
    score, the log-odds of ``classes_[1]`` (what ``LogisticRegression`` gives).
    """
    return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 else logits


class StreamedData(torch.utils.data.Dataset):
    """Data to predict on, read a batch at a time, as skorch's ``(X, y)`` batches.

    skorch batches a dataset through a data loader, which indexes an array
    held whole; this dataset yields the batches themselves, read by
    ``InputData``, so that memory grows with the batch size rather than with
    the number of epochs: Epochs that are not preloaded stream from disk. The
    estimators' ``get_iterator`` gives it the batch size; it has no items to
    index one by one.

    Parameters
    ----------
    data : InputData
        The data, checked against training.
    train_std, info
        The training scale and channels, to warn about data in another unit
        (see ``check_amplitudes``).
    train_baseline : tuple of float | None | "unknown"
        The training epochs' baseline, to advise removing offsets as in
        training.
    """

    def __init__(self, data, train_std, info, train_baseline=BASELINE_UNKNOWN):
        self.data, self.train_std, self.info = data, train_std, info
        self.train_baseline = train_baseline
        self._checked = False

    def __len__(self):
        return self.data.shape[0]

    def batched(self, batch_size):
        """Yield ``(X, None)`` batches of ``batch_size`` epochs as float32 tensors.

        The amplitudes are checked on the first pass only: adapting batch norm
        reads the data once per batch-norm layer, and one warning is enough.
        """
        if self._checked:
            batches = self.data.batches(batch_size)
        else:
            self._checked = True
            batches = checked_batches(
                self.data, batch_size, self.train_std, self.info, self.train_baseline
            )
        for batch in batches:
            yield torch.from_numpy(batch), None


class _ScoreMixin:
    """Score Epochs against their event codes when no labels are given.

    Mixed in before :class:`sklearn.base.ClassifierMixin`, whose ``score`` it
    wraps. It also tells scikit-learn's tags that the input is 3-D (epochs,
    channels, times), not a 2-D table.
    """

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    @fill_doc
    def score(self, X, y=None, sample_weight=None):
        """Return the accuracy on ``X``.

        Parameters
        ----------
        %(X_predict)s
        %(score_labels)s

        Returns
        -------
        score : float
            Mean accuracy.
        """
        y = labels_or_events(
            X,
            y,
            getattr(self, "event_id_", None),
            getattr(self, "classes_", None),
            getattr(self, "events_are_labels_", True),
        )
        return super().score(X, y, sample_weight=sample_weight)


class _PredictionMixin(_ScoreMixin):
    """Predict, score and adapt batch norm on Epochs or arrays.

    Mixed into ``_EEGClassifier`` before :class:`skorch.classifier.NeuralNetClassifier`,
    whose ``predict_proba`` and ``score`` it wraps; it reads the attributes
    that ``fit`` learns (``ch_names_``, ``info_``, ``n_channels_``, ...).
    """

    def _check_prediction_input(self, X, name="X"):
        """Check X against training without reading its data.

        ``name`` is the argument's name, for messages. An ``InputData`` is
        taken as it is, as the network's input read lazily: the spectra of a
        :class:`~mne_xai.inspect.SpectralClassifier`, computed batch by batch
        as they are read.

        Returns
        -------
        data : InputData
            X with the training channels picked, read lazily.
        """
        self.check_is_fitted()
        self._check_initialized_data()
        data = X
        if not isinstance(X, InputData):
            data = InputData(X, ch_names=self.ch_names_, name=name)
        if getattr(self, "reads_spectra_", False) and data.info is not None:
            if data.info["sfreq"] != self.info_["sfreq"]:  # epochs, not spectra
                raise ValueError(
                    "This network (a SpectralClassifier's estimator_) reads "
                    "log-power spectra, not epochs: give it "
                    "spectral.spectrum_.transform(epochs), or use the "
                    "SpectralClassifier itself."
                )
        check_matches_training(
            data,
            train_info=self.info_,
            n_channels=self.n_channels_,
            n_times=self.n_times_,
            train_tmin=self.tmin_,
            # Missing from estimators pickled before it was recorded.
            train_baseline=getattr(self, "baseline_", BASELINE_UNKNOWN),
            train_reference=getattr(self, "eeg_reference_", REFERENCE_UNKNOWN),
        )
        return data

    def _prediction_data(self, X):
        if is_fit_dataset(X):
            # skorch's own scoring callbacks predict on its internal datasets,
            # which hold data converted and checked by fit already.
            return X
        data = self._check_prediction_input(X)
        check_float32(self.module_)  # e.g. after module_.double()
        return StreamedData(
            data,
            self.data_std_,
            self.info_,
            getattr(self, "baseline_", BASELINE_UNKNOWN),
        )

    def forward_iter(self, X, training=False, device="cpu"):
        """Yield the network's outputs batch by batch, as skorch does.

        In evaluation mode the batches go through the network's
        ``inference_graph()`` (built and checked once per pass), which
        computes its logits faster where it has a faster form
        (:class:`~mne_xai.models.SpatialFirstEEGNet`). On the user's data
        (not skorch's own datasets of ``fit``), outputs that are not finite
        are refused, naming their epochs.
        """
        return self._checked_outputs(X, training, device, fast=not training)

    def _checked_outputs(self, X, training, device, fast):
        """:meth:`forward_iter`, through the inference graph if ``fast``."""
        graph = self._inference_graph() if fast else None
        if graph is None:
            outputs = super().forward_iter(X, training=training, device=device)
        else:
            outputs = self._outputs_of(graph, X, device)
        start = 0
        for batch_outputs in outputs:
            if isinstance(X, StreamedData):
                check_outputs_finite(batch_outputs, X.data.name, start)
                start += len(batch_outputs)
            yield batch_outputs

    def _inference_graph(self):
        """Return the network's faster evaluation-mode equivalent, or None."""
        self.check_is_fitted()
        self._set_training(False)  # as skorch's evaluation_step
        # A user's hooks watch the network's layers called once per batch; the
        # graph calls some of them on other values, and its check once more.
        if any(runs_hooks(module) for module in self.module_.modules()):
            return None
        inference_graph = getattr(self.module_, "inference_graph", None)
        graph = None if inference_graph is None else inference_graph()
        return None if graph is self.module_ else graph

    def _outputs_of(self, graph, X, device):
        """Yield the outputs of ``graph`` on ``X``'s batches, as skorch's ``forward_iter`` does."""
        for batch in self.get_iterator(self.get_dataset(X)):
            inputs, _ = unpack_data(batch)
            with torch.no_grad():
                outputs = graph(to_tensor(inputs, device=self.device))
            yield to_device(outputs, device=device)

    def adapt_batch_norm(self, X):
        """Re-estimate batch-norm statistics on unlabeled data (AdaBN).

        Each batch-norm layer, in the order the network runs them, gets the
        mean and (biased) variance of its input over all of ``X``, as batch
        norm in training mode computes them on ``X`` as one batch. This adapts
        a network trained on some subjects to a new subject without its labels
        (Li et al. 2018, "Adaptive batch normalization for practical domain
        adaptation", Pattern Recognition, doi:10.1016/j.patcog.2018.03.005),
        which is what InterpretableCNN's original code does implicitly by
        normalizing a held-out subject with its own batch statistics.
        Afterwards the outputs of an epoch again do not depend on its batch.

        Parameters
        ----------
        X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
            Unlabeled data of the domain to adapt to, matching the training
            data in channels, rate and length.

        Returns
        -------
        self : instance of the estimator
            The estimator, adapted in place (use ``copy.deepcopy`` first to
            keep the original). On any failure (an exception, or Ctrl-C)
            every batch norm keeps its statistics from before the call.

        Raises
        ------
        ValueError
            If the network has no batch norm keeping running statistics.
        """
        data = self._prediction_data(X)
        batch_norms = {
            # Named for the message as in the user's network.
            shown_layer_name(name, self.module_): module
            for name, module in self.module_.named_modules()
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm)
        }
        if not batch_norms:
            raise ValueError(
                "The network has no batch normalization: there are no statistics "
                "to adapt."
            )
        without_statistics = [
            name for name, module in batch_norms.items() if module.running_mean is None
        ]
        if without_statistics:
            raise ValueError(
                f"Batch norm {', '.join(without_statistics)} keeps no running "
                "statistics (track_running_stats=False): it normalizes every batch "
                "by its own statistics, so there is nothing to adapt, and its "
                "outputs depend on the other epochs of a batch."
            )
        batch_norms = list(batch_norms.values())
        # All or nothing: each layer's statistics are written after its own
        # pass, so a failure in a later pass (an error of the network or of a
        # lazy read, Ctrl-C) left the earlier layers adapted and the later
        # ones not, a network matching neither (predictions 0.006 apart).
        saved = [
            (batch_norm.running_mean.clone(), batch_norm.running_var.clone())
            for batch_norm in batch_norms
        ]
        try:
            for batch_norm in batch_norms:
                self._adapt_one_batch_norm(batch_norm, data)
        except BaseException:
            for batch_norm, (mean, var) in zip(batch_norms, saved, strict=True):
                batch_norm.running_mean.copy_(mean)
                batch_norm.running_var.copy_(var)
            raise
        return self

    def _adapt_one_batch_norm(self, batch_norm, data):
        """Set a batch norm's statistics to those of its input over all of data.

        Later layers see the already adapted earlier ones, as in a single
        training-mode pass; sums over batches give the statistics of all X.
        """
        count, total, total_squares = 0, 0.0, 0.0
        adapting = threading.get_ident()

        def accumulate(module, inputs):
            nonlocal count, total, total_squares
            # The hook is on the estimator's own layer: other threads'
            # predictions meanwhile would count their data as the new domain's.
            if threading.get_ident() != adapting:
                return
            values = inputs[0].detach().double().transpose(0, 1).flatten(1)
            count += values.shape[1]
            total = total + values.sum(1)
            total_squares = total_squares + (values**2).sum(1)

        handle = batch_norm.register_forward_pre_hook(accumulate)
        try:
            # The network itself: its inference graph skips batch norms.
            for _ in self._checked_outputs(data, False, "cpu", fast=False):
                pass
        finally:
            handle.remove()
        mean = total / count
        batch_norm.running_mean.copy_(mean)
        batch_norm.running_var.copy_((total_squares / count - mean**2).clamp(min=0))

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
        return super().predict_proba(self._prediction_data(X))

    def _logits(self, X):
        """Return the network's logits, one column per class of ``classes_``."""
        data = self._prediction_data(X)
        # skorch's cached training predictions keep their graph.
        return np.concatenate(
            [y.detach().cpu().numpy() for y in self.forward_iter(data)]
        )

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
        return decision_scores(self._logits(X))

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
        best = self._logits(X).argmax(axis=1)
        if is_fit_dataset(X):
            # skorch's scoring callbacks compare with the targets it trains on,
            # which are indices of classes_; labels would score 0 against
            # indices (classes 2 and 3) or fail (names).
            return best
        return self.classes_[best]
