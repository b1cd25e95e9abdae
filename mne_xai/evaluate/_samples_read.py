"""Which samples of an epoch a network reads, for evaluations that count samples."""

import numpy as np
import torch

from .._network import WindowAverage

#: Epochs whose input gradients say which samples a network reads.
PROBE_EPOCHS = 8


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
    start and end of the epoch that no gradient reaches are left out.
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
        Epochs on the module's device; the first ``PROBE_EPOCHS`` are probed.

    Returns
    -------
    read : ndarray of bool, shape (n_times,) | None
        The samples read; None when the network reads every sample, or
        nothing at all (a constant network).
    """
    n_times = inputs.shape[-1]
    with torch.inference_mode(False), torch.enable_grad():
        probe = inputs[:PROBE_EPOCHS].clone().requires_grad_()
        logits = module(probe)
        weights = torch.randn(
            logits.shape[1],
            generator=torch.Generator().manual_seed(0),
            dtype=torch.float32,
        )
        (gradient,) = torch.autograd.grad((logits * weights.to(logits)).sum(), probe)
    reached = np.flatnonzero(gradient.abs().sum(dim=(0, 1)).cpu().numpy())
    if len(reached) == 0:
        return None
    read = np.zeros(n_times, bool)
    read[reached[0] : reached[-1] + 1] = True
    if isinstance(module, WindowAverage):
        in_windows = np.zeros(n_times, bool)
        for start in module.starts:
            in_windows[start : start + module.n_samples] = True
        read &= in_windows
    return None if read.all() else read
