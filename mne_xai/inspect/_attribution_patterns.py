"""Patterns of attributions and of a network's layers: where the signal is.

A gradient-type attribution is a backward model: like a spatial filter, it
says how the network reads the data, and a filter is not where the signal is
:footcite:`HaufeEtAl2014`. Here attributions become patterns (the data
covariance times the map), and a network's layers get the signal patterns
that PatternNet and PatternAttribution propagate :footcite:`KindermansEtAl2018`.

References
----------
.. footbibliography::
"""

import numpy as np
import torch
from mne.utils import logger, verbose

from .._checks import check_positive_int, compute_device
from .._convert import network_batches
from .._data_checks import check_outputs_finite
from .._docs import fill_doc
from .._graph import DENSE, autograd_on, record_calls
from .._network import WindowAverage, as_network
from ..attribution._core import _check_outputs, explain, private_module
from ..attribution._registry import get_method, list_methods
from ..attribution.lrp import _linear_map
from ..attribution.pattern import NetworkPatterns, prepare_network
from ..attribution.postprocess import _transformed
from ._spectral_input import SpectralClassifier


def channel_covariance(data, batch_size):
    """Channel covariance of the data over epochs and time samples, read in batches.

    Parameters
    ----------
    data : InputData
        The data, as the network takes them.
    batch_size : int
        Number of epochs read at once.

    Returns
    -------
    covariance : ndarray of float64, shape (n_channels, n_channels)
        Centred on each channel's mean over all epochs and times.
    """
    n_channels = data.shape[1]
    total = np.zeros(n_channels)
    products = np.zeros((n_channels, n_channels))
    count = 0
    for batch in data.batches(batch_size):
        samples = np.moveaxis(batch, 1, 0).reshape(n_channels, -1).astype(np.float64)
        total += samples.sum(axis=1)
        products += samples @ samples.T
        count += samples.shape[1]
    mean = total / count
    return (products - count * np.outer(mean, mean)) / (count - 1)


@verbose
@fill_doc
def attribution_patterns(
    estimator,
    epochs,
    method="saliency",
    *,
    target=None,
    average=True,
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Turn attributions into patterns: the data covariance times each map.

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    %(method)s The
        default, ``"saliency"`` (run signed), is a gradient, whose patterns
        are exact: that of a linear network is its forward model (see
        Notes). Methods with an ``absolute`` option (``"saliency"``, and
        SmoothGrad's base method) are run signed (``absolute=False``) unless
        it is given: a filter's pattern needs its sign. SmoothGrad's squares and variances
        (``variant``), which have none, are refused.
    %(target)s
    average : bool
        If True, return the pattern of the average map as
        :class:`mne.EvokedArray`, which is also the average of the epochs'
        patterns; the maps are streamed over batches, so memory grows with
        ``batch_size`` only.
    %(batch_size)s
    %(device)s
    %(random_state)s
    %(verbose)s
    %(method_params)s

    Returns
    -------
    patterns : mne.EpochsArray | mne.EvokedArray
        The pattern of each epoch's map (or of their average), with the
        input's info, events, event_id, tmin and metadata, as
        :func:`mne_xai.explain` returns maps. Values are in the data's unit
        squared times the map's unit (volt × logit for a saliency map in
        logit per volt): plot with ``scalings=1``.

    See Also
    --------
    mne_xai.explain
    learn_patterns

    Notes
    -----
    For a map ``A`` (channels × times) the pattern is ``P = C A``, that is
    ``P_t = C A_t`` at each time sample ``t``, where ``C`` is the channel
    covariance of the explained epochs (over all their epochs and times,
    centred per channel). Taken as the weights of a linear read-out of the
    data, ``ŝ = Σ_t A_tᵀ x_t``, the map has the pattern ``P_t = cov(x_t,
    ŝ)`` when the data are uncorrelated across time samples: Haufe et al.'s
    pattern ``Σ_x w`` of a filter ``w`` :footcite:`HaufeEtAl2014`, without
    the division by ``var(ŝ)``, which would weight epochs unequally in an
    average. For a linear network ``f(x) = Σ_t w_tᵀ x_t + b`` the signed
    saliency is ``w`` in every epoch, and its pattern is the network's
    forward model ``C w_t``: where the signal the network reads out lies.

    *Filters or patterns?* An attribution of the gradient family is a
    backward model. It says how the network reads the data, including the
    channels it weighs only to cancel noise they share with the signal
    channels, and it can give little weight to a channel that carries the
    signal when a neighbour carries it better. Read the maps themselves (the
    filters) for what the output is sensitive to: editing the input,
    faithfulness tests, which channels a smaller montage must keep. Read
    patterns for where the class-related activity is in the data: to compare
    with neurophysiology, with source models or with other studies' maps,
    as one reads CSP patterns rather than CSP filters. Patterns are exact
    for signed gradients (saliency, SmoothGrad); contribution maps (gradient
    × input, integrated gradients, DeepLIFT, LRP) are the filter times the
    data, and their patterns a useful approximation. For patterns that
    follow the network layer by layer, use the methods ``"pattern_net"``
    and ``"pattern_attribution"`` with :func:`learn_patterns`.

    References
    ----------
    .. footbibliography::
    """
    network = as_network(estimator)
    batch_size = check_positive_int(batch_size, "batch_size")
    _signed(method, params)
    data = network._check_prediction_input(epochs, "epochs")
    covariance = channel_covariance(data, batch_size)
    # Of the channels in the network's order; explain's maps follow the Epochs'.
    if data.given_order is not None:
        covariance = covariance[np.ix_(data.given_order, data.given_order)]
    attribution = explain(
        network,
        epochs,
        method,
        target=target,
        average=average,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        **params,
    )
    patterns = _transformed(attribution, lambda maps: covariance @ maps)
    if average:
        patterns.comment = f"pattern of {attribution.comment}"
    return patterns


class _PatternStatistics:
    """Statistics of every pattern layer's input and output, accumulated over batches.

    The sums behind the patterns of :func:`learn_patterns` (see its Notes):
    per unit, the number of active samples, and the sums of ``y`` (over all
    samples), of ``x`` and of ``x y`` (over active samples), where a sample is
    an epoch at one position of a convolution (its units share their weights
    across positions). A unit never active, or whose output does not vary,
    gets a zero pattern.

    Parameters
    ----------
    module : torch.nn.Module
        The network, on the device of the batches.
    example : torch.Tensor, shape (batch, n_channels, n_times)
        A batch it accepts, to trace it.
    """

    def __init__(self, module, example):
        self.network, self.layers, self.estimators = prepare_network(
            module, example, "learn_patterns"
        )
        self.n_epochs = 0
        self._sums = {name: {} for name in self.layers}

    def update(self, inputs):
        """Add a batch ``(batch, n_channels, n_times)`` to the statistics."""
        with torch.no_grad(), record_calls(self.network, self.layers.values()) as calls:
            outputs = self.network(inputs)
        # Epochs after the first ones checked may overflow the network.
        check_outputs_finite(outputs, "epochs", self.n_epochs)
        for call in calls:
            self._accumulate(call)
        self.n_epochs += len(inputs)

    def _accumulate(self, call):
        # Sums over positions of x-patches weighted by c, for every unit at
        # once, are the transposed layer applied to c: the gradient of <c, y>
        # with respect to the weights. One batch's sums are computed in the
        # layer's precision (on EEGNet, patterns differ from float64 ones by
        # 1e-7 relative, at a quarter of the cost) and added up in float64.
        weight = call.module.weight.detach().clone().requires_grad_()
        with torch.enable_grad():
            output = _linear_map(call.module, weight)(call.input)
        unit_axis = output.ndim - 1 if isinstance(call.module, DENSE) else 1
        axes = [axis for axis in range(output.ndim) if axis != unit_axis]
        active = torch.ones_like(output)
        if self.estimators[call.shown_name] == "two_component":
            active = (call.output > 0).to(output.dtype)
        (sum_x,) = torch.autograd.grad(output, weight, active, retain_graph=True)
        (sum_xy,) = torch.autograd.grad(output, weight, active * output.detach())
        new = {
            "n_active": active.sum(dim=axes),
            "n": output.numel() // output.shape[unit_axis],
            "y": output.detach().sum(dim=axes),
            "x": sum_x,
            "xy": sum_xy,
        }
        sums = self._sums[call.shown_name]
        for key, value in new.items():
            if isinstance(value, torch.Tensor):
                value = value.double()
            sums[key] = sums.get(key, 0) + value

    def patterns(self):
        """Return the patterns of the statistics so far.

        Returns
        -------
        patterns : NetworkPatterns
            The patterns of every convolution and dense layer.
        """
        patterns, weights, silent = {}, {}, 0
        for name, layer in self.layers.items():
            sums = self._sums[name]
            weight = layer.weight.detach().double()
            units = (-1,) + (1,) * (weight.ndim - 1)
            n_active = sums["n_active"].reshape(units)
            mean_y = (sums["y"] / sums["n"]).reshape(units)
            covariance = (sums["xy"] - sums["x"] * mean_y) / n_active.clamp(min=1)
            norm = (weight * covariance).sum(dim=tuple(range(1, weight.ndim)))
            valid = (n_active > 0) & (norm.reshape(units) != 0)
            silent += int((~valid).sum())
            divisor = torch.where(valid, norm.reshape(units), 1.0)
            pattern = torch.where(valid, covariance / divisor, 0.0)
            patterns[name] = pattern.cpu().numpy()
            weights[name] = layer.weight.detach().cpu().numpy()
        if silent:
            logger.info(
                f"{silent} unit(s) were never active or did not vary on these "
                "epochs; their patterns are zero."
            )
        return NetworkPatterns(patterns, dict(self.estimators), weights, self.n_epochs)


@autograd_on
@verbose
@fill_doc
def learn_patterns(estimator, epochs, *, batch_size=64, device=None, verbose=None):
    """Learn the signal pattern of every unit of a network's layers from data.

    The patterns that PatternNet and PatternAttribution pass the decision
    back through :footcite:`KindermansEtAl2018`: for each unit of each
    convolution and dense layer, the direction of its input that varies with
    its output.

    Parameters
    ----------
    %(estimator)s
    epochs : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        The data whose statistics give the patterns, matching the training
        data in channels, rate and length: the training epochs, as in
        Kindermans et al., or any set representative of what is explained.
        A :class:`~mne_xai.inspect.SpectralClassifier`'s network learns them
        from the spectra of these epochs, for
        :func:`~mne_xai.inspect.explain_spectral_classifier`.
    %(batch_size)s
    %(device)s
    %(verbose)s

    Returns
    -------
    patterns : mne_xai.inspect.NetworkPatterns
        The pattern of each layer (``patterns.patterns[name]``, shaped like
        the layer's weights), to pass as
        ``explain(estimator, epochs, "pattern_net", patterns=patterns)`` or
        ``"pattern_attribution"``.

    See Also
    --------
    attribution_patterns

    Notes
    -----
    For a unit with weights ``w``, input patch ``x`` and bias-free output
    ``y = wᵀx``, the pattern is ``a = (E₊[xy] − E₊[x] E[y]) / wᵀ(E₊[xy] −
    E₊[x] E[y])``, with ``E`` the mean over epochs and positions and ``E₊``
    the mean where the unit is active (its output with bias above zero) for
    layers that feed a ReLU, LeakyReLU or ELU (the two-component estimator),
    over all positions for the others (the linear estimator, ``a = cov(x, y)
    / var(y)``); then ``wᵀa = 1``. A unit never active on these epochs, or
    whose output does not vary, gets a zero pattern (the log says how many).
    Batch norm is folded into the neighbouring layers first, so the patterns
    belong to the weights the network computes with in evaluation mode;
    learn them again after the weights change. Only sums over each batch are
    kept, so memory grows with ``batch_size``, and the statistics are the
    same for any ``batch_size``.

    References
    ----------
    .. footbibliography::
    """
    if isinstance(estimator, SpectralClassifier):
        # Its network reads spectra: their statistics give its patterns.
        epochs = estimator._spectra(epochs, "epochs")  # checks that it is fitted first
        estimator = estimator.estimator_
    network = as_network(estimator)
    if isinstance(network.module_, WindowAverage):
        # Keyed by the window network's layers under the average, they fit no
        # network that the pattern methods explain.
        raise ValueError(
            "The pattern methods explain a CroppedClassifier's window network, "
            "not the mean of its windows, so learn the patterns of that network: "
            "learn_patterns(cropped.estimator_, windows), with windows the epochs "
            "cropped to the window length (e.g. epochs.copy().crop(tmin, tmin + "
            "cropped.window_samples_ / sfreq, include_tmax=False)), and explain "
            "cropped.estimator_ on such windows."
        )
    batch_size = check_positive_int(batch_size, "batch_size")
    data = network._check_prediction_input(epochs, "epochs")
    device = compute_device(device, network)
    module = private_module(network, device, next(data.batches(1)))
    # Patterns are statistics of one function of each epoch: a network that
    # stays random or changes from pass to pass was refused for changing its
    # logits when its batch norms were folded.
    _check_outputs(
        module,
        torch.from_numpy(next(iter(data.batches(4)))).to(device),
        "learn_patterns",
        differentiates=False,
    )
    logger.info(f"Learning the layers' patterns from {data.shape[0]} epochs")
    statistics = None
    for batch in network_batches(network, data, batch_size, "patterns"):
        inputs = torch.from_numpy(batch).to(device)
        if statistics is None:
            statistics = _PatternStatistics(module, inputs)
        statistics.update(inputs)
    return statistics.patterns()


def _signed(method, params):
    """Make ``params`` ask ``method`` for signed maps, as a pattern needs their sign.

    A method's ``absolute`` option is set to False unless given; so is that of
    a noise tunnel's base method (SmoothGrad of saliency gave C times the mean
    of |gradient|, 0.07 correlated with the signed pattern); squares and
    variances of maps, which have no sign, are refused.
    """
    parameters = get_method(method).parameters()
    if "absolute" in parameters:
        params.setdefault("absolute", False)
    if "base_method" not in parameters:
        return
    variant = params.get("variant", "smoothgrad")
    if variant != "smoothgrad":
        raise ValueError(
            f"variant={variant!r} combines the maps by their squares, which have no "
            "sign; a pattern needs signed maps. Use variant='smoothgrad'."
        )
    base_method = params.get("base_method", "saliency")
    if (
        base_method in list_methods()
        and "absolute" in get_method(base_method).parameters()
    ):
        params["base_params"] = {"absolute": False, **(params.get("base_params") or {})}
