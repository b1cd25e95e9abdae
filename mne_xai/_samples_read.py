"""Which samples of an epoch a network reads, for evaluations that count samples."""

import itertools

import numpy as np
import torch

from ._graph import call_keeping_input, input_gradient
from ._random import fixed_noise

#: Epochs whose input gradients say which samples a network reads.
PROBE_EPOCHS = 8


def varying_epochs(inputs, n_epochs):
    """Return the first ``n_epochs`` epochs of ``inputs`` that are not flat.

    Flat epochs (a dead stretch of a recording) probe nothing: every check of
    a network on them passes, and a maximum over time lies at their first
    sample, where a network's gradient then reaches alone.

    Parameters
    ----------
    inputs : torch.Tensor, shape (n_epochs, n_channels, n_times)
        The epochs.
    n_epochs : int
        How many to return at most.

    Returns
    -------
    varying : torch.Tensor, shape (n_varying, n_channels, n_times)
        Those epochs, in order; none where every epoch is flat.
    """
    return inputs[inputs.flatten(1).std(dim=1) > 0][:n_epochs]


def samples_read(module, inputs):
    """Return which samples of an epoch ``module`` reads, None for all of them.

    Samples a network never reads (the end of an epoch that pooling without
    padding drops: 38 of 641 in braindecode's Deep4Net; the windows a
    CroppedClassifier leaves out) get no relevance under any weights or
    class. Counted with the others, they make chance too easy to beat: maps
    that agree there agree whatever they show (saliency after randomizing
    every layer of Deep4Net: 0.46 against 0.35 on the samples read, a failure
    instead of a pass), and samples removed there at random change nothing (a
    map of noise inside a CroppedClassifier's windows took the logit from 0.63
    to 0.22 where removal at random reached 0.44). The samples read are found
    by the gradient of the logits (projected on random weights, so that no
    class cancels another) with respect to the first epochs: samples at the
    start and end of the epoch that no gradient reaches are left out, unless
    replacing them changes the logits (see
    :func:`_widened_to_samples_that_move`).
    Samples inside are kept, as a rectifier or a max-pool can stop one
    epoch's gradient where the network reads; but not those between the
    windows of a CroppedClassifier, which are known. Both are needed there: a
    window network that drops the end of each window left the end of the
    epoch unread, and its saliency failed after every layer was randomized
    (0.49 against 0.26 on the samples read).

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    inputs : torch.Tensor, shape (n_epochs, n_channels, n_times)
        Epochs on the module's device; the first ``PROBE_EPOCHS`` that are
        not flat are probed.

    Returns
    -------
    read : ndarray of bool, shape (n_times,) | None
        The samples read; None when the network reads every sample, or
        nothing at all (a constant network).
    """
    n_times = inputs.shape[-1]
    # All flat, the first epochs are probed all the same: gradients reach
    # the samples read there too.
    probe_epochs = varying_epochs(inputs, PROBE_EPOCHS)
    if not len(probe_epochs):
        probe_epochs = inputs[:PROBE_EPOCHS]
    with torch.inference_mode(False), torch.enable_grad():
        probe = probe_epochs.clone().requires_grad_()
        logits = call_keeping_input(module, probe.clone())
        weights = fixed_noise(logits.shape[1], logits)
        gradient = input_gradient(logits * weights, probe)
    if gradient is None:
        # A network reading its input only through step functions (binarized
        # input) leaves no gradient: it reads every sample all the same.
        return None
    reached = np.flatnonzero(gradient.abs().sum(dim=(0, 1)).cpu().numpy())
    if len(reached) == 0:
        return None
    first, last = _widened_to_samples_that_move(
        module, probe_epochs, reached[0], reached[-1]
    )
    read = np.zeros(n_times, bool)
    read[first : last + 1] = True
    # A CroppedClassifier's WindowAverage knows the samples between its windows
    # (asked by name: the estimators, which import this module, come first).
    if hasattr(module, "in_windows"):
        read &= module.in_windows(n_times)
    return None if read.all() else read


def unread_ends(first, last, n_samples, extent):
    """Describe the samples before ``first`` and after ``last`` that are never read.

    Parameters
    ----------
    first, last : int
        The first and last sample read.
    n_samples : int
        The number of samples.
    extent : callable
        ``extent(start, stop)`` describes samples ``start`` to ``stop - 1`` in
        the data's own terms (a duration, a band of frequencies).

    Returns
    -------
    text : str
        Such as "the first 3 (0.1 s) and the last 13 (0.406 s)".
    """
    ends = []
    if first:
        ends.append(f"the first {first} ({extent(0, first)})")
    if last < n_samples - 1:
        ends.append(f"the last {n_samples - 1 - last} ({extent(last + 1, n_samples)})")
    return " and ".join(ends)


def runs_read(read):
    """Return the runs of consecutive samples among those read.

    Samples read are gathered with ``data[..., read]``; where windows leave
    gaps (a CroppedClassifier's ``window_step`` longer than its windows),
    samples on either side of a gap end up side by side there, though far
    apart in time. What works on neighbouring samples (a moving average)
    works on each run alone.

    Parameters
    ----------
    read : ndarray of bool, shape (n_times,)
        The samples read, as :func:`samples_read` gives them.

    Returns
    -------
    runs : list of slice
        The runs, as slices of ``data[..., read]``, in order.
    """
    times = np.flatnonzero(read)
    bounds = [0, *(np.flatnonzero(np.diff(times) > 1) + 1), len(times)]
    return [slice(start, stop) for start, stop in itertools.pairwise(bounds)]


def filtered_within_runs(filter_, maps, runs):
    """Apply a filter along time to each run of consecutive samples alone.

    Parameters
    ----------
    filter_ : callable
        Takes and returns maps of the shape of ``maps[..., run]``.
    maps : ndarray, shape (..., n_times_read)
        Maps of the samples read, gathered with ``data[..., read]``.
    runs : list of slice
        The runs, as :func:`runs_read` gives them.

    Returns
    -------
    filtered : ndarray, shape (..., n_times_read)
        The runs filtered, side by side again.
    """
    return np.concatenate([filter_(maps[..., run]) for run in runs], axis=-1)


#: Changes of the logits, relative to the largest of a variant's and the intact
#: ones, that count as none.
_UNCHANGED = 1e-6
#: Standard deviation of the noise replacing samples, in the data's.
_NOISE_LEVEL = 1000.0
#: Variants of the probe epochs evaluated in one forward pass.
_VARIANTS_PER_PASS = 256


def _widened_to_samples_that_move(module, probe, first, last):
    """Widen ``[first, last]`` to the outer samples whose replacement moves the logits.

    A gradient reaches only the samples that the epoch's maxima pass on: for
    a network that max-pools all of time, those near each map's largest
    output. The first epochs' maxima fell inside the epoch, so 9 end samples
    of 321 were taken as unread while zeroing them moved the logits of 4 of
    45 epochs by up to 0.39, and deletion curves never removed them.
    Samples outside ``[first, last]`` are replaced by large noise, together
    and then (if that moves the logits) one at a time; the span is widened to
    the outermost that moves them. Samples a network never reads (pooling
    that drops the end of the epoch) move nothing.
    """
    n_times = probe.shape[-1]
    sides = [np.arange(first), np.arange(last + 1, n_times)]
    if not any(len(side) for side in sides):
        return first, last
    # Noise far above the data, so that one sample of it outweighs what the
    # epoch holds elsewhere: a maximum over time moves to it.
    noise = fixed_noise(probe.shape, probe) * _NOISE_LEVEL * probe.std()

    def moving(groups):
        """Whether replacing each group of samples moves any probe epoch's logits."""
        moved, per_pass = [], max(1, _VARIANTS_PER_PASS // len(probe) - 1)
        for start in range(0, len(groups), per_pass):
            chunk = groups[start : start + per_pass]
            # Row 0 replaces nothing: the intact logits, from a pass of the
            # same size, so that rounding does not differ.
            replaced = torch.zeros(1 + len(chunk), n_times, dtype=torch.bool)
            for row, times in enumerate(chunk, start=1):
                replaced[row, times] = True
            replaced = replaced.to(probe.device)[:, None, None]
            variants = torch.where(replaced, noise, probe).flatten(0, 1)
            with torch.no_grad():
                logits = module(variants).view(1 + len(chunk), -1)
            change = (logits[1:] - logits[0]).abs().amax(dim=1)
            # Each variant against its own logits and the intact ones: against
            # the largest of the pass, a sample that multiplied them hid a
            # small move of another.
            scale = torch.maximum(logits[1:].abs().amax(dim=1), logits[0].abs().amax())
            moved += (change > _UNCHANGED * scale).tolist()
        return np.array(moved)

    for side, times in enumerate(sides):
        if not len(times) or not moving([times])[0]:
            continue
        read = times[moving([[time] for time in times])]
        if len(read):
            first, last = (read[0], last) if side == 0 else (first, read[-1])
    return first, last
