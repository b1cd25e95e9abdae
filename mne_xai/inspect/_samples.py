"""The real epochs a network finds most typical of each class, and their spectra."""

from dataclasses import dataclass

import mne
import numpy as np
import torch
from mne.utils import _check_option, _validate_type, logger, verbose

from .._checks import check_positive_int, compute_device, returns_probabilities
from .._convert import start_time
from .._docs import fill_doc
from .._labels import EventsAreNotClasses
from .._network import BinaryLogOdds, WindowAverage, as_network, check_reads_time
from .._outputs import epochs_array, spectrum_array, spectrum_channels
from .._warnings import ignoring, quietly
from ..attribution._core import _resolve_target, output_info_for_arrays
from ._activations import batch_outputs


def class_names(network):
    """Name of each class of a network: its event name when known, else its label.

    Parameters
    ----------
    network : object
        A fitted classifier, as :func:`mne_xai.as_network` returns it.

    Returns
    -------
    names : list
        One per class, in the order of ``classes_``: the event name of the
        training epochs whose code is the label (e.g. ``"feet"`` for 3), or
        the label itself (always, for a network trained on labels other than
        the events, which may share their codes).
    """
    labels = np.asarray(network.classes_).tolist()
    if not getattr(network, "events_are_labels_", True):
        return labels
    names = {
        code: name for name, code in (getattr(network, "event_id_", None) or {}).items()
    }
    return [names.get(label, label) for label in labels]


def class_log_odds(logits):
    """Log-odds of each class against the others, from logits.

    Parameters
    ----------
    logits : ndarray, shape (n_epochs, n_windows, n_classes)
        The network's logits, one window per epoch for networks that read the
        epoch whole; with windows (a CroppedClassifier's), the probability of
        a class is the mean of the windows' softmax probabilities, as the
        classifier predicts.

    Returns
    -------
    log_odds : ndarray, shape (n_epochs, n_classes)
        ``log(p / (1 - p))`` of each class's probability ``p``, computed from
        log-probabilities (``logsumexp`` over windows and the other classes)
        so that it does not saturate where ``p`` rounds to 1.
    """
    logits = torch.as_tensor(logits, dtype=torch.float64)
    log_p = logits.log_softmax(dim=-1)
    n_classes = log_p.shape[-1]
    own = torch.logsumexp(log_p, dim=1)
    others = torch.stack(
        [
            torch.logsumexp(log_p[..., np.arange(n_classes) != index].flatten(1), dim=1)
            for index in range(n_classes)
        ],
        dim=1,
    )
    return (own - others).numpy()


def _class_scores(network, data, batch_size, device):
    """Return the log-odds of each class for each epoch, as the network predicts.

    A CroppedClassifier predicts by the mean of its windows' probabilities,
    not by the softmax of their mean logit (up to 0.48 apart in log-odds,
    and another ranking where windows disagree): its windows' logits are
    read. Its float32 probabilities tied the most confident epochs (13 at the
    top), ranked then by index.
    """
    module = network.module_
    windows = module if isinstance(module, WindowAverage) else None
    scorer = module if windows is None else windows.module
    # Of a network ending in a (log-)softmax, that its outputs are read as
    # logits: here they are read as probabilities, below.
    with ignoring("The network returns (log-)?prob"):
        logits = torch.cat(
            [
                output.double().cpu().reshape(len(batch), -1, output.shape[-1])
                for batch, output in batch_outputs(
                    network,
                    data,
                    None if windows is None else scorer,
                    batch_size=batch_size,
                    device=device,
                )
            ]
        )
    if returns_probabilities(logits.flatten(0, 1)):
        # A final softmax: its log is logits whose softmax gives the
        # probabilities back (a log-softmax already is; softmax'd again as
        # logits, they ranked an epoch of p = 0.51 below one of 0.50).
        logits = logits.log()
    if isinstance(scorer, BinaryLogOdds):
        # Its logits are (-s, s), s measured from the decision threshold, whose
        # softmax is not the classifier's probability, sigmoid(z).
        logits = scorer.probability_logits(logits)
    return class_log_odds(logits)


@dataclass(eq=False)  # arrays inside: compared by identity, as MNE's objects
class BestSamples:
    """The epochs a network scores highest for each class.

    Attributes
    ----------
    indices : dict
        Class name (see ``epochs``) to the indices, best first, of its top
        epochs in the epochs given.
    epochs : dict
        Class name to its top epochs, as :class:`mne.Epochs` in the order of
        ``indices`` (of arrays, :class:`mne.EpochsArray` starting when the
        training epochs did). Names are the event names of the training
        epochs where the estimator knows them, else the class labels.
    spectra : dict
        Class name to the difference, in dB, between the mean log power
        spectral density of its top epochs and that of the other candidate
        epochs, as :class:`mne.time_frequency.SpectrumArray` (positive where
        the top epochs have more power).
    scores : ndarray, shape (n_epochs, n_classes)
        The log-odds of each class for every epoch, columns ordered as
        ``classes_``.
    candidates : dict
        Class name to the indices of the epochs ranked for it.
    """

    indices: dict
    epochs: dict
    spectra: dict
    scores: np.ndarray
    candidates: dict

    def __repr__(self):
        counts = ", ".join(
            f"{name}: {len(indices)}" for name, indices in self.indices.items()
        )
        return f"<BestSamples | top epochs per class ({counts})>"


def _epochs_at(epochs, data, network, indices):
    """Return the epochs at ``indices`` of ``data``, in that order, as one Epochs.

    Only those epochs are read: the others of Epochs that are not preloaded
    stay on disk.
    """
    if isinstance(epochs, mne.BaseEpochs):
        return epochs[indices]
    if data.info is not None:  # a list of Epochs: each index falls in one part
        starts = np.cumsum([0] + [len(part) for part in epochs])
        parts = np.searchsorted(starts, indices, side="right") - 1
        top = mne.concatenate_epochs(
            [
                epochs[part][[index - starts[part]]]
                for part, index in zip(parts, indices, strict=True)
            ],
            verbose=quietly(),
        )
        # mne.concatenate_epochs moves each epoch's event past the one before,
        # so the top epochs of one recording lost their samples: they keep the
        # events the list's epochs have everywhere else (explain's maps).
        top.events = data.events[indices]
        return top
    # At the training epochs' start, as the network reads arrays (at 0 s, a
    # network trained from 0.5 s had its prototypes half a second early).
    return epochs_array(
        np.asarray(epochs[indices], dtype=np.float64),
        output_info_for_arrays(network, data.shape),
        start_time(data, network),
    )


def _mean_log_spectra(data, info, groups, fmin, fmax, batch_size):
    """Return the mean log power spectrum of each group of epochs, in dB.

    The spectra are computed batch by batch and summed per group, so memory
    does not grow with the number of epochs.

    Parameters
    ----------
    data : InputData
        The epochs.
    info : mne.Info
        Their channels, in the order of the Epochs given (see
        :meth:`~mne_xai._convert.InputData.in_given_order`).
    groups : list of ndarray of int
        The indices of each group's epochs.
    fmin, fmax, batch_size
        As for :func:`best_samples`.

    Returns
    -------
    means : ndarray, shape (n_groups, n_channels, n_freqs)
        Per group, the mean of ``10 * log10(power)`` over its epochs.
    psd_info : mne.Info
        The spectra's channels.
    freqs : ndarray
        Their frequencies.
    """
    membership = np.zeros((len(groups), data.shape[0]))
    for group, indices in enumerate(groups):
        membership[group, indices] = 1.0
    sums, start = 0.0, 0
    # In float64, as MNE computes spectra: power near the Nyquist frequency of
    # filtered data is small enough for float32's rounding to show in dB.
    for batch in data.batches(batch_size, dtype=np.float64):
        batch = data.in_given_order(batch)
        # proj=False: a projector the epochs hold but have not applied (an
        # average reference added with projection=True) stays unapplied, as
        # the network reads them. MNE applies it in place, and a batch of
        # preloaded float64 Epochs is a view of their data: the user's epochs
        # were re-referenced (their predictions moved by up to 0.014).
        epochs = mne.EpochsArray(
            batch, info, baseline=None, proj=False, verbose=quietly()
        )
        psd = epochs.compute_psd(
            method="welch",
            fmin=fmin,
            fmax=fmax,
            picks=spectrum_channels(info),
            proj=False,
            verbose=quietly(),
        )
        # Every channel of the spectrum, those marked bad too (MNE's default
        # leaves them out, and the spectra would not match psd.info).
        log_power = 10 * np.log10(psd.get_data(exclude=()))
        in_batch = membership[:, start : start + len(batch)]
        sums = sums + np.einsum("ge,ecf->gcf", in_batch, log_power)
        start += len(batch)
    return sums / membership.sum(axis=1)[:, None, None], psd.info, psd.freqs


def _candidates(network, data, among):
    """Return the indices of the epochs ranked for each class."""
    n_epochs, n_classes = data.shape[0], len(network.classes_)
    if among == "all":
        return [np.arange(n_epochs)] * n_classes
    if data.events is None:
        raise ValueError(
            'among="class" ranks the epochs of each class, which arrays do not '
            'label; pass Epochs, or among="all" to rank every epoch.'
        )
    # Missing from estimators saved before it was recorded: those read events
    # as labels.
    rank_all = (
        'Pass among="all" to rank every epoch (given only the epochs of one '
        "class, e.g. epochs[y == label], that ranks them within the class)."
    )
    if not getattr(network, "events_are_labels_", True):
        raise ValueError(
            'among="class" reads the class of each epoch from its events, but the '
            "estimator was trained on labels y that are not the events of its "
            f"training Epochs. {rank_all}"
        )
    try:
        true_class, _ = _resolve_target(network, "true", data)
    except EventsAreNotClasses as err:  # explain's advice names target="true"
        raise ValueError(
            f'among="class" reads the class of each epoch from its event. '
            f"{err.reason} {rank_all}"
        ) from None
    return [np.flatnonzero(true_class == index) for index in range(n_classes)]


def _check_k(k, names, candidates, among):
    """Refuse a k that leaves a class no other candidate epoch to compare with."""
    for name, indices in zip(names, candidates, strict=True):
        n_candidates = len(indices)
        if n_candidates > k:
            continue
        if n_candidates > 1:
            ranked = f"of class {name!r}" if among == "class" else "ranked"
            raise ValueError(
                f"k={k} leaves no other epochs {ranked} to compare with "
                f"({n_candidates} candidate epochs); choose k below {n_candidates}."
            )
        advice = (
            'give epochs holding at least two of each class, or pass among="all" '
            "to rank every epoch for every class"
            if among == "class"
            else "give at least two epochs"
        )
        raise ValueError(
            f"Class {name!r} has {n_candidates} candidate epoch(s), too few to "
            f"compare its top epochs with others whatever k; {advice}."
        )


@verbose
@fill_doc
def best_samples(
    estimator,
    epochs,
    *,
    k=10,
    among="class",
    fmin=0.0,
    fmax=np.inf,
    batch_size=64,
    device=None,
    verbose=None,
):
    """Find the epochs the network scores highest for each class.

    The real-data counterpart of activation maximization
    :footcite:`TruongMakeigDelorme2021`: for each class, the ``k`` epochs
    with the highest class score are the network's prototypes of that class.
    Their power spectrum is compared with that of the other epochs, to show
    which frequencies set them apart.

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    k : int
        Number of epochs kept per class.
    among : "class" | "all"
        ``"class"`` ranks for each class the epochs of that class (from the
        events) and compares the top ``k`` with the rest of the class: what
        the network keys on within a class. ``"all"`` ranks every epoch and
        compares the top ``k`` with all the others (which also holds the
        difference between the classes). Arrays need ``"all"``.
    fmin, fmax : float
        Frequency range of the spectra, in Hz.
    %(batch_size)s
    %(device)s
    %(verbose)s

    Returns
    -------
    result : BestSamples
        Per class: the indices and the Epochs of its top epochs, and the
        difference of their log spectrum from the rest's; the class scores
        of every epoch.

    Notes
    -----
    The class score is the log-odds of the class's softmax probability,
    ``log(p / (1 - p))``, computed from the logits: it ranks the epochs as the
    probability does, without the ties of probabilities that round to 1, and
    unlike a raw logit it does not favour epochs that raise every class's
    logit. The score of a class of skorch's ``NeuralNetBinaryClassifier`` is
    the log-odds of its sigmoid probability: the network's single output for
    ``classes_[1]``, its negative for ``classes_[0]``. The network runs in
    evaluation mode, batch by batch.

    Spectra are Welch power spectral densities from
    :meth:`mne.Epochs.compute_psd`, computed batch by batch, on the network's
    data channels (an MNE
    spectrum holds no EOG, ECG or EMG), of the data as the network reads
    them: projectors the epochs hold but have not applied stay unapplied,
    and the epochs are left unchanged. The difference
    is the mean of ``10 * log10(power)`` over the top epochs minus that over
    the other candidates, so one epoch with large power does not dominate
    it. Its values are in dB: read them with ``get_data()``; MNE's plotting
    methods take spectra for power in V²/Hz and would scale them.

    References
    ----------
    .. footbibliography::
    """
    network = as_network(estimator)
    # Its spectra are of the input read as time.
    check_reads_time(network, "best_samples")
    k = check_positive_int(k, "k")
    batch_size = check_positive_int(batch_size, "batch_size")
    _check_option("among", among, ("class", "all"))
    _validate_type(fmin, "numeric", "fmin")
    _validate_type(fmax, "numeric", "fmax")
    data = network._check_prediction_input(epochs, "epochs")
    names = class_names(network)
    candidates = _candidates(network, data, among)
    _check_k(k, names, candidates, among)
    device = compute_device(device, network)
    logger.info(f"Scoring {data.shape[0]} epochs for {len(names)} classes")
    scores = _class_scores(network, data, batch_size, device)
    indices, groups = {}, []
    for index, (name, ranked) in enumerate(zip(names, candidates, strict=True)):
        order = ranked[np.argsort(-scores[ranked, index], kind="stable")]
        indices[name] = order[:k]
        groups += [order[:k], order[k:]]
    # Spectra of Epochs in their channel order, as their top epochs (and
    # explain's maps) are.
    info = (
        output_info_for_arrays(network, data.shape)
        if data.info is None
        else data.given_info
    )
    means, psd_info, freqs = _mean_log_spectra(
        data, info, groups, fmin, fmax, batch_size
    )
    # Each with its own info: editing one class's channels changed the others'.
    spectra = {
        name: spectrum_array(top - rest, psd_info, freqs)
        for name, top, rest in zip(names, means[::2], means[1::2], strict=True)
    }
    top_epochs = {
        name: _epochs_at(epochs, data, network, top) for name, top in indices.items()
    }
    return BestSamples(
        indices=indices,
        epochs=top_epochs,
        spectra=spectra,
        scores=scores,
        candidates=dict(zip(names, candidates, strict=True)),
    )
