"""Guided backpropagation and deconvolution, applied at every ReLU and ELU.

captum's versions hook ``nn.ReLU`` only, so on EEGNet (ELU) they silently
return the plain gradient. Here the rule is applied at each rectifying
nonlinearity the network calls as a module, and a network with any other
nonlinearity, or with a rectifier called as a function in ``forward``
(``torch.nn.functional.elu``), is refused rather than explained with a partly
plain gradient.
"""

import torch
from torch import nn

from .._docs import fill_doc
from .._graph import (
    ANY_LINEAR_LAYER,
    ANY_MAX_POOLING,
    RECTIFIERS,
    outputs_agree,
    trace_layers,
)
from .._random import fixed_noise
from .._warnings import warn
from ._propagation import (
    LINEAR_LAYER_OPS,
    MAX_POOL_OPS,
    check_computation,
    check_layers,
    target_gradient,
)
from ._registry import AttributionMethod, register_method


def _guided_rule(layer_input, layer_output, grad_output):
    # Forward mask (the unit was active) and backward mask (positive signal).
    # The output tells activity where the input may be gone (in-place
    # rectifiers); _check_negative_branches keeps the two equivalent.
    return grad_output.clamp(min=0) * (layer_output > 0)


def _negative_branch_slope(layer):
    """Return the scale of ``layer``'s negative branch (LeakyReLU's slope, ELU's alpha)."""
    if isinstance(layer, nn.LeakyReLU):
        return layer.negative_slope
    return layer.alpha if isinstance(layer, nn.ELU) else 0.0


def _check_negative_branches(calls, method):
    """Refuse rectifiers whose output is positive where their input is negative.

    Guided backprop passes the signal where a unit fired, its input positive,
    read from the output; a LeakyReLU of negative slope (``|x|`` at -1) or an
    ELU of negative ``alpha`` is positive on both branches, and the signal of
    its negative branch, which the rule stops, would pass.
    """
    for call in calls:
        if (
            isinstance(call.module, RECTIFIERS)
            and _negative_branch_slope(call.module) < 0
        ):
            raise ValueError(
                f"{method} passes the signal where a rectifier's input was positive, "
                f"but layer {call.shown_name!r} ({call.module}) is positive for "
                "negative inputs too, so its inactive branch cannot be told from its "
                "output. Its rule is defined for rectifiers whose negative branch "
                "stays at or below zero (ReLU, ELU with alpha >= 0, LeakyReLU with "
                "negative_slope >= 0)."
            )


def _deconvolution_rule(layer_input, layer_output, grad_output):
    # The deconvnet rectifies the backward signal and ignores the forward pass.
    return grad_output.clamp(min=0)


def _rectifier_rules(module, inputs, rule, method):
    """Check that ``method`` handles the network; map each rectifier to ``rule``."""
    calls = trace_layers(module, inputs[:1])
    # Both methods keep the ordinary gradient of linear layers and of max
    # pooling, which routes it to the winning input, whatever their number of
    # dimensions.
    ruled = check_layers(
        module, inputs, calls, ANY_LINEAR_LAYER + ANY_MAX_POOLING + RECTIFIERS, method
    )
    check_computation(
        module,
        inputs,
        ruled,
        method,
        functional_ops=LINEAR_LAYER_OPS | MAX_POOL_OPS,
    )
    if rule is _guided_rule:
        _check_negative_branches(calls, method)
    return {call.module: rule for call in calls if isinstance(call.module, RECTIFIERS)}


class _RectifiedGradient(AttributionMethod):
    """The gradient with a rule at every rectifier, the network checked once."""

    unit = "logit/{input}"
    propagation_rules = True
    _rules = None

    def _rectified_gradient(self, inputs, target, rule):
        if self._rules is None:
            self._rules = _rectifier_rules(self.module, inputs, rule, self.name)
        return target_gradient(self.module, inputs, target, self._rules)


@register_method
class GuidedBackprop(_RectifiedGradient):
    """Guided backpropagation :footcite:`SpringenbergEtAl2015`.

    The gradient of the target logit, except that at every ReLU, LeakyReLU and
    ELU the backward signal passes only where the unit's input was positive
    (the forward mask of the gradient) *and* the signal itself is positive
    (the backward mask of the deconvnet). Values are logit per unit of input
    (per volt for MNE data); they keep only evidence that increases the logit
    through active units, which makes the maps sharper than the gradient but
    less class-specific.

    Notes
    -----
    The rule is defined for ReLU. For ELU (EEGNet) and LeakyReLU, the positive
    branch is the identity, as for ReLU, and the negative branch is treated as
    ReLU's inactive branch: no signal passes there, although ELU's slope
    ``exp(x)`` is not zero. The forward mask of guided backprop selects the
    units that fired; an ELU unit with negative input is saturating towards
    its floor and has not fired, and letting ``exp(x)`` times the signal
    through would mix the plain gradient back into the map. Networks with
    other nonlinearities (sigmoid, tanh, softmax, recurrent layers) are
    refused, and so are networks that call a nonlinearity as a function in
    their ``forward`` (``torch.nn.functional.elu``): the rule needs the
    rectifiers as modules.

    References
    ----------
    .. footbibliography::
    """

    name = "guided_backprop"

    @fill_doc
    def attribute(self, inputs, target):
        """Return the guided-backpropagation gradient.

        Parameters
        ----------
        %(inputs_target)s

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The guided gradient.
        """
        return self._rectified_gradient(inputs, target, _guided_rule)


@register_method
class Deconvolution(_RectifiedGradient):
    """Deconvolution (the deconvnet) :footcite:`ZeilerFergus2014`.

    The target logit is propagated back through the transposed linear layers,
    and at every ReLU, LeakyReLU and ELU only its positive part passes,
    whatever the unit's input was. Values are logit per unit of input (per
    volt for MNE data); the map shows input patterns that would excite the
    network's upper units, and depends on the input only through max pooling,
    if any.

    Notes
    -----
    The deconvnet rectifies the backward signal in place of the nonlinearity
    and does not use the forward pass, so ELU and LeakyReLU, whose positive
    branch is the identity like ReLU's, get the same rule as ReLU: their
    negative branches play no part. Networks with other nonlinearities are
    refused, as in :class:`GuidedBackprop`.

    Without max pooling (EEGNet, InterpretableCNN) the map does not depend on
    the epoch at all: every epoch explained for a class gets the same map.
    The method checks this on the first batch it explains (the map of its
    first epoch against that of white noise and those of the epochs explained
    for the same class) and warns.

    References
    ----------
    .. footbibliography::
    """

    name = "deconvolution"
    _checked_reads_the_epoch = False

    @fill_doc
    def attribute(self, inputs, target):
        """Return the deconvolution map.

        Parameters
        ----------
        %(inputs_target)s

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The deconvolution map.
        """
        maps = self._rectified_gradient(inputs, target, _deconvolution_rule)
        if not self._checked_reads_the_epoch:
            self._checked_reads_the_epoch = True
            # Noise at the batch's scale, not a transform of the epoch: an
            # epoch of zeros, or a quiet one leaving every pooled unit off,
            # routes a transform of it (and noise at its scale) as itself.
            # Drawn on the CPU, so that a GPU sees the same noise (and warns
            # alike): its own generator draws other numbers from one seed.
            noise = fixed_noise(
                inputs[:1].shape, inputs, seed=20141128, dtype=inputs.dtype
            ) * (float(inputs.detach().std()) or 1.0)
            noise_map = self._rectified_gradient(noise, target[:1], _deconvolution_rule)
            # With the batch's other epochs explained for the same class.
            others = torch.cat([noise_map, maps[1:][target[1:] == target[0]]])
            if outputs_agree(others, maps[:1].expand_as(others)):
                warn(
                    "deconvolution's maps do not depend on the epoch on this "
                    "network: the deconvnet reads the input only through the "
                    "switches of max pooling, and here they route white noise "
                    "and these epochs alike (EEGNet and InterpretableCNN have "
                    "no max pooling), so every epoch explained for a class "
                    "gets the same map. It shows "
                    "what excites the network's upper units for the class, not "
                    "what it read in an epoch; for that, use a method that "
                    "reads the epoch (e.g. guided_backprop or "
                    "integrated_gradients)."
                )
        return maps
