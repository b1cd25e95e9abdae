"""Exact speed shortcuts: the factored first block, and scoring many variants."""

import weakref

import torch
import torch.nn.functional as F
from mne.utils import logger

from ..._graph import (
    BATCH_NORMS,
    CONVOLUTIONS,
    PASS_THROUGH,
    probes_per_pass,
    trace_layers,
)
from ..._samples_read import varying_epochs
from ...attribution._propagation import (
    LINEAR_LAYER_OPS,
    _consumers,
    _depending_on,
    _StepFunctionRecorder,
    _unhandled,
    _walk_depending,
)
from ._baselines import _replace
from ._window_scores import _ROUNDING, _TOLERANCE, _WindowScorer

_N_EPOCHS_CHECKED = 8  # epochs on which the factored first block must match
# Layers that act on the input as a linear, time-invariant filter bank in
# evaluation mode (see ``_FactoredFrontEnd``).
_FILTER_BANK_LAYERS = CONVOLUTIONS + BATCH_NORMS + PASS_THROUGH


def _is_filter_bank_layer(layer):
    if isinstance(layer, CONVOLUTIONS):
        return all(step == 1 for step in layer.stride)
    return isinstance(layer, _FILTER_BANK_LAYERS)


class _FactoredFrontEnd:
    """Exact shortcut through a network that starts with a spatio-temporal filter bank.

    EEG networks (EEGNet, InterpretableCNN, ShallowConvNet) begin with
    convolutions and batch norm up to their first nonlinearity: in evaluation
    mode, a linear time-invariant filter bank ``z[g, t'] = b[g] + sum_c
    (k[g, c] * x[c])(t')``. Its kernels ``k[g, c, :]`` are measured once, from
    the response to an impulse on each channel, and factored by SVD into a few
    spatial filters each followed by a temporal filter. For EEGNet, whose
    kernels are a temporal filter times a spatial filter, this evaluates the
    first block for the cost of its spatial filters, far less than the
    convolution of every channel; the layers from the first nonlinearity on
    then run as usual. Perturbation measures evaluate hundreds of variants of
    each epoch, so this is where most of their time goes.

    The shortcut is used only when it reproduces the network's scores on real
    data (checked by :meth:`matches`); otherwise the network runs as it is.

    Attributes
    ----------
    spatial : tensor, shape (n_maps * rank, n_channels)
        Spatial filters, ``rank`` per map of the first block's output.
    temporal : tensor, shape (n_maps * rank, 1, n_taps)
        The temporal filter after each spatial filter, as ``conv1d`` weights
        (applied to the spatially filtered input padded by ``padding``).
    padding : tuple of int
        Zeros added before and after the input, ``(pad_left, pad_right)``:
        output ``t'`` reads padded input samples ``t'`` to ``t' + n_taps - 1``.
    split : torch.nn.Module
        The first layer that is not part of the filter bank (its first
        nonlinearity); its input is the first block's output.
    out_shape : torch.Size
        Shape of one epoch's first-block output, ``(n_maps, ..., n_out)``.
    layers : list of LayerCall
        The network's leaf-module calls in order, on one epoch.
    """

    def __init__(self, module, example):
        # A weak reference: _ClassScorer caches this per module in a
        # WeakKeyDictionary, whose entries a strong one would keep alive.
        self._module = weakref.ref(module)
        # Traced on a copy: the calls keep their tensors, which must not keep
        # the whole batch alive in the cache of shortcuts.
        self.layers = trace_layers(module, example[:1].clone())
        split = next(
            (
                call.module
                for call in self.layers
                if not _is_filter_bank_layer(call.module)
            ),
            None,
        )
        self.usable = split is not None and split is not self.layers[0].module
        if not self.usable:
            return
        self.split = split
        # One epoch, to check what the network computes (see nonlinearity).
        self.example = example[:1].clone()
        # The layers' classes alone miss what a forward computes with functions
        # (clipping the input, a convolution's subclass clamping its output):
        # checked on the first epochs only, the kernels of a clip reached by
        # later epochs alone gave their deletion curves a wrong logit by 90%.
        problem = self.nonlinearity(after=False)
        if problem is not None:
            logger.info(
                f"No factored first block: it computes {problem}, which impulse "
                "responses do not describe."
            )
            self.usable = False
            return
        n_channels, n_times = example.shape[1:]
        impulse_time = n_times // 2
        kernels = []
        response_scale = 0.0
        for impulses in _impulses(example, impulse_time):
            responses = self._front(impulses)
            response_scale = max(response_scale, float(responses.abs().max()))
            # Each pass's own zero epoch: a pass of another batch size may
            # round otherwise, and kernels not exactly zero outside their
            # support spanned the whole epoch (the shortcut was lost).
            kernels.append(responses[:-1] - responses[-1])
        self.out_shape = responses.shape[1:]
        self.n_out = self.out_shape[-1]
        offset = responses[-1].reshape(-1, self.n_out)
        self.n_maps = len(offset)
        # kernels: (n_maps, n_channels, n_times_out), the response at t' to a
        # unit impulse at ``impulse_time``.
        kernels = torch.cat(kernels)
        kernels = kernels.reshape(n_channels, -1, self.n_out).transpose(0, 1)
        support = kernels.abs().amax(dim=(0, 1)).nonzero().flatten()
        if support.numel() == 0:
            self.usable = False
            return
        first, last = int(support[0]), int(support[-1])
        kernels = kernels[..., first : last + 1].double()
        u, s, vh = torch.linalg.svd(kernels, full_matrices=False)
        # Singular values within the rounding of the responses are noise:
        # NumPy's matrix_rank tolerance, scaled by the responses rather than
        # by the kernels, as the kernels are differences of responses that
        # carry the first block's offset (a fixed 1e-6 of the largest singular
        # value counted rounding as rank and lost the shortcut).
        noise = max(kernels.shape[-2:]) * torch.finfo(responses.dtype).eps
        rank = int((s > noise * response_scale).sum(dim=1).max())
        # Keep the factorization only when it is cheaper than a convolution of
        # every channel (a rank close to n_channels means no spatial structure).
        self.usable = rank <= max(1, n_channels // 4)
        if not self.usable:
            return
        self.spatial = (u[..., :rank] * s[:, None, :rank]).transpose(1, 2)
        self.spatial = self.spatial.reshape(self.n_maps * rank, n_channels).float()
        # conv1d correlates; flipping the kernels makes it the convolution above.
        self.temporal = vh[:, :rank].flip(-1).reshape(self.n_maps * rank, 1, -1)
        self.temporal = self.temporal.float()
        self.rank = rank
        self.offset = offset
        pad_left = last - impulse_time
        pad_right = self.n_out - n_times - pad_left + (last - first)
        self.padding = (pad_left, pad_right)

    @property
    def module(self):
        """The network."""
        return self._module()

    def nonlinearity(self, *, after):
        """Describe an operation nonlinear in the first block's input (or output).

        With ``after=False``, the operations from the network's input to the
        first nonlinearity's input, which the factored first block takes to
        be linear; with ``after=True``, those from the first nonlinearity's
        output to the logits. The autograd graph of one epoch is walked (as
        :func:`~mne_xai.attribution._propagation.check_computation` walks
        it): each operation must be linear in the input (convolutions, batch
        norm in evaluation mode, products with a constant, sums, reshapes),
        and no step function (``x > 8``, whose output carries no gradient)
        may read it, nor may any part of the result be computed from it
        without gradient (out of the graph's sight). A nonlinearity reached by
        some inputs only (clipping large values) escapes any check of values
        on a few epochs.

        Returns
        -------
        problem : str | None
            What is nonlinear, or None if nothing is.
        """
        start = {}

        def stop(layer, args):
            start["end"] = args[0]
            raise _FrontEndReached

        def restart(layer, args, output):
            start["leaf"] = output.detach().requires_grad_()
            steps.follow(start["leaf"])
            return start["leaf"]

        with torch.inference_mode(False), torch.enable_grad():
            inputs = self.example.clone()
            if after:
                handle = self.split.register_forward_hook(restart)
            else:
                start["leaf"] = inputs.requires_grad_()
                handle = self.split.register_forward_pre_hook(stop)
            # What the pass computes from the leaf (the input, or the first
            # nonlinearity's output once the hook restarts there) is followed.
            steps = _StepFunctionRecorder(None if after else inputs)
            try:
                with steps:
                    start["end"] = self.module(inputs)
            except _FrontEndReached:
                pass
            finally:
                handle.remove()
        leaf, end = start["leaf"], start["end"]
        if end.grad_fn is None:
            return None
        if steps.calls:
            return f"the step function {steps.calls[0]}"
        # The graph walked below does not hold what is computed without
        # gradient: dividing by a peak taken under torch.no_grad() looked like
        # a division by a constant.
        if id(end) in steps.cuts:
            return f"values of its input without gradient (in {steps.cuts[id(end)]!r})"
        depending = _depending_on(_consumers(end.grad_fn), leaf)
        for node in _walk_depending(end.grad_fn, depending):
            problem = _unhandled(node, depending, LINEAR_LAYER_OPS)
            if problem is not None:
                return problem
        return None

    def _front(self, inputs):
        """Input of the first nonlinearity, from the network itself."""
        captured = {}

        def capture(layer, args):
            captured["input"] = args[0]
            raise _FrontEndReached

        handle = self.split.register_forward_pre_hook(capture)
        try:
            self.module(inputs)
        except _FrontEndReached:
            pass
        finally:
            handle.remove()
        return captured["input"]

    def _factored_front(self, inputs):
        return self.filter_projected(torch.einsum("fc,bct->bft", self.spatial, inputs))

    def filter_projected(self, spatial):
        """First-block output from spatially filtered inputs, (n, n_maps * rank, n_times)."""
        temporal = F.conv1d(
            F.pad(spatial, self.padding), self.temporal, groups=len(self.temporal)
        )
        summed = temporal.reshape(len(spatial), self.n_maps, self.rank, -1).sum(dim=2)
        return (summed + self.offset).reshape(len(spatial), *self.out_shape)

    def rest(self, front, example):
        """Logits of the network fed ``front`` as its first block's output.

        ``front`` is (n, *out_shape); ``example`` is any input of the network.
        """

        def substitute(layer, args):
            return (front,)

        handle = self.split.register_forward_pre_hook(substitute)
        try:
            # The layers before the split see an empty batch (no work); their
            # output is replaced by the whole batch's.
            return self.module(example[:0])
        finally:
            handle.remove()

    def __call__(self, inputs):
        """Logits of ``inputs``, through the factored first block."""
        return self.rest(self._factored_front(inputs), inputs)

    def window_scorer(self, inputs):
        """Return the network's :class:`_WindowScorer`, or None if it does not match.

        Whether window scores reproduce the network's depends on its layers,
        not on the data: this is checked on the first ``inputs`` only.
        """
        if not hasattr(self, "_window_scorer"):
            scorer = _WindowScorer(self)
            self._window_scorer = scorer if scorer.matches(inputs) else None
        return self._window_scorer

    def matches(self, inputs):
        """Whether the shortcut reproduces the network's logits on ``inputs``.

        The error is measured against how far the logits move between the
        epochs and an all-zero epoch (where deletion ends and insertion
        starts), not against the logits: a constant part of them (a large
        bias) dwarfed the errors of a first block that is not the filter bank
        measured (reflection padding), which then exceeded the score changes
        the measures report.
        """
        if not self.usable:
            return False
        inputs = torch.cat([inputs, torch.zeros_like(inputs[:1])])
        expected = self.module(inputs)
        spread = expected.amax(dim=0) - expected.amin(dim=0)
        error = float((self(inputs) - expected).abs().amax())
        allowed = _TOLERANCE * float(spread.amax()) + _ROUNDING * float(
            expected.abs().amax()
        )
        logger.debug(
            f"Factored first block: rank {self.rank}, error {error:.1e}, "
            f"allowed {allowed:.1e}"
        )
        return error <= allowed


class _FrontEndReached(Exception):
    """Stops a forward pass once the first nonlinearity's input is known."""


def _impulses(example, impulse_time):
    """Yield unit impulses at ``impulse_time`` on each channel in turn, in chunks.

    Each chunk ends with an epoch of zeros. One epoch per channel: all in one
    pass, the first block's maps of them grew with n_channels² x n_times
    whatever the batch size (2.3 GB for 128 channels of 2048 samples).
    """
    n_channels, n_times = example.shape[1:]
    per_pass = max(1, probes_per_pass(example[0].numel()) - 1)
    for first in range(0, n_channels, per_pass):
        channels = torch.arange(first, min(first + per_pass, n_channels))
        impulses = torch.zeros(
            len(channels) + 1, n_channels, n_times, device=example.device
        )
        impulses[torch.arange(len(channels)), channels, impulse_time] = 1
        yield impulses


class _ClassScorer:
    """The logit of one class per epoch, for many perturbed epochs at once."""

    # Measuring the first block costs about n_channels forward passes: keep it
    # per module while its parameters and buffers are unchanged.
    _shortcuts = weakref.WeakKeyDictionary()

    def __init__(self, module, example, pass_size, *, shortcuts=True):
        self.pass_size = pass_size
        self.forward = module
        self.windows = None
        if not shortcuts:
            return
        try:
            shortcut = self._shortcut(module, example)
            # Flat epochs pass any check: without epochs that vary, no shortcut.
            checked = varying_epochs(example, _N_EPOCHS_CHECKED)
            if len(checked) and shortcut.matches(checked):
                windows = shortcut.window_scorer(checked)
                self.forward, self.windows = shortcut, windows
        except Exception as error:
            # A network the shortcut does not understand (e.g. one whose
            # forward depends on the batch size) is scored as it is.
            logger.info(
                f"No exact shortcut for this network ({type(error).__name__}: "
                f"{error}); scoring every variant with the network itself."
            )

    def _shortcut(self, module, example):
        """Return the shortcut of ``module``, cached while its tensors are unchanged."""
        # Buffers count: adapt_batch_norm changes running statistics only.
        tensors = (*module.parameters(), *module.buffers())
        versions = tuple((id(tensor), tensor._version) for tensor in tensors)
        cached = self._shortcuts.get(module)
        if cached is not None and cached[0] == versions:
            return cached[1]
        shortcut = _FactoredFrontEnd(module, example)
        self._shortcuts[module] = (versions, shortcut)
        return shortcut

    def __call__(self, variants, target):
        """Scores of ``variants`` (n, n_channels, n_times) for ``target`` (n,)."""
        scores = [
            self.forward(variants[start : start + self.pass_size])
            .gather(1, target[start : start + self.pass_size, None])
            .squeeze(1)
            for start in range(0, len(variants), self.pass_size)
        ]
        return torch.cat(scores)

    def step_scores(self, base, delta, first_step, n_steps, target):
        """Scores of epochs whose samples change one group at a time.

        Variant ``k`` (0 to ``n_steps``) of epoch ``e`` is ``base[e] +
        delta[e] * (first_step[e] <= k)``: the deletion and insertion curves.
        With the factored first block (see :class:`_FactoredFrontEnd`), its
        spatially filtered variants are a cumulative sum over steps of each
        sample's contribution ``spatial[:, c] * delta[c, t]``, collected at the
        step where the sample changes; no variant is built in full.

        Parameters
        ----------
        base, delta : tensor, shape (n_epochs, n_channels, n_times)
            The epochs before any change, and the change of each sample.
        first_step : int64 tensor, shape (n_epochs, n_channels, n_times)
            The step from which each sample is changed, in 0 to ``n_steps``.
        n_steps : int
            The last step.
        target : int64 tensor, shape (n_epochs,)
            The class scored for each epoch.

        Returns
        -------
        scores : tensor, shape (n_epochs, n_steps + 1)
        """
        n_epochs = len(base)
        per_pass = max(1, self.pass_size // (n_steps + 1))
        steps = torch.arange(n_steps + 1, device=base.device)
        scores = []
        for first in range(0, n_epochs, per_pass):
            chunk = slice(first, first + per_pass)
            n_chunk = len(base[chunk])
            step_target = target[chunk].repeat_interleave(n_steps + 1)
            if not isinstance(self.forward, _FactoredFrontEnd):
                changed = first_step[chunk, None] <= steps[None, :, None, None]
                variants = base[chunk, None] + delta[chunk, None] * changed
                chunk_scores = self(variants.flatten(0, 1), step_target)
            else:
                front = self.forward
                # (epochs, channels, filters, times): each sample's contribution
                contributions = delta[chunk, :, None] * front.spatial.T[:, :, None]
                per_step = torch.zeros(
                    n_chunk, n_steps + 1, *contributions.shape[2:], device=base.device
                )
                index = first_step[chunk, :, None].expand_as(contributions)
                per_step.scatter_add_(1, index, contributions)
                projected = torch.einsum("fc,bct->bft", front.spatial, base[chunk])
                projected = projected[:, None] + per_step.cumsum_(dim=1)
                outputs = front.filter_projected(projected.flatten(0, 1))
                logits = front.rest(outputs, base)
                chunk_scores = logits.gather(1, step_target[:, None]).squeeze(1)
            scores.append(chunk_scores.view(n_chunk, n_steps + 1))
        return torch.cat(scores)

    def window_changes(self, data, replacement, target, channel, start, length):
        """Score changes of epochs with one channel replaced on a time window.

        See :meth:`_WindowScorer.__call__` for the parameters. Without the
        exact shortcut, the perturbed epochs are built and scored.
        """
        if self.windows is not None:
            return self.windows(data, replacement, target, channel, start, length)
        n_epochs, n_channels, n_times = data.shape
        intact = self(data, target)
        channels = torch.arange(n_channels, device=data.device)[:, None]
        times = torch.arange(n_times, device=data.device)
        length = torch.as_tensor(length, device=data.device)
        per_pass = max(1, self.pass_size // n_epochs)
        changes = []
        for first in range(0, channel.shape[1], per_pass):
            columns = slice(first, first + per_pass)
            begin = start[:, columns, None, None]
            end = begin + length[columns, None, None]
            removed = (
                (channels == channel[:, columns, None, None])
                & (times >= begin)
                & (times < end)
            )
            variants = _replace(data, removed, replacement)
            n_columns = removed.shape[1]
            scores = self(variants, target.repeat_interleave(n_columns))
            changes.append(scores.view(n_epochs, n_columns) - intact[:, None])
        return torch.cat(changes, dim=1).double()
