"""DeepLIFT (rescale rule) and DeepLIFT-SHAP, computed with captum.

captum's DeepLift replaces the gradient of every ``nn.ReLU`` and ``nn.ELU``
module by the rescale multiplier ``Δoutput / Δinput`` and back-propagates
through everything else with ordinary gradients. That is the rescale rule for
EEGNet and InterpretableCNN: their other operations (the ``input_scale``
product, convolutions, batch norm in evaluation mode, average pooling, dropout
in evaluation mode, flattening, the linear layer) are affine, for which the
multiplier equals the gradient. Each nonlinearity is a module used once, as
captum requires. The tests check summation-to-delta on both networks. A
network computing any other nonlinear operation, e.g. ``torch.nn.functional.elu``
called in ``forward`` rather than an ``nn.ELU`` module, would get its plain
gradient there and lose summation-to-delta, and is refused.
"""

import warnings
from contextlib import contextmanager

from captum.attr import DeepLift as _CaptumDeepLift

# captum's table of the module types its DeepLift has rules for, matched by exact
# type: private, but the one list that says what captum handles.
from captum.attr._core.deep_lift import SUPPORTED_NON_LINEAR

from .._docs import fill_doc
from .._graph import MAX_POOLING
from ._propagation import LINEAR_LAYER_OPS, check_computation
from ._registry import AttributionMethod, register_method
from .gradient import _mean_over, _single_baseline


@contextmanager
def _running_captum(module):
    """Run captum's DeepLift on ``module``: quiet, and max pooling fed a copy.

    captum hooks a nonlinearity module and a max pooling that directly follows
    it; the nonlinearity's hook then receives the plain gradient instead of the
    multipliers of the max-pooling rule, and the map no longer sums to
    ``f(x) - f(baseline)`` for baselines that are not constant. A copy of the
    pooling's input (an identity in the forward pass) keeps the hooks apart.
    captum also warns about its hooks at every call.
    """
    handles = [
        layer.register_forward_pre_hook(
            lambda _, args: tuple(arg.clone() for arg in args)
        )
        for layer in module.modules()
        if isinstance(layer, MAX_POOLING)
    ]
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore",
                message="Setting forward, backward hooks",
                category=UserWarning,
            )
            yield
    finally:
        for handle in handles:
            handle.remove()


class _Rescale(AttributionMethod):
    """Base of the DeepLIFT methods: captum's DeepLift, the network checked once."""

    unit = "logit"
    propagation_rules = True
    _checked = False

    def _explainer(self, inputs):
        """Return captum's DeepLift on the module, checked to handle it."""
        if not self._checked:
            layers = [
                layer
                for layer in self.module.modules()
                if type(layer) in SUPPORTED_NON_LINEAR
            ]
            check_computation(
                self.module, inputs, layers, self.name, functional_ops=LINEAR_LAYER_OPS
            )
            self._checked = True
        return _CaptumDeepLift(self.module)


@register_method
class DeepLift(_Rescale):
    """DeepLIFT with the rescale rule :footcite:`ShrikumarEtAl2017`.

    Explains the difference between the target logit of an epoch and that of
    a baseline by propagating multipliers: at each ELU or ReLU the ratio of the
    change of its output to the change of its input (instead of the local
    gradient), elsewhere the gradient. Values are in logit units and add up
    exactly to ``f(x) - f(baseline)`` (summation-to-delta). Cui et al. list it
    among the methods to use on EEG networks :footcite:`CuiEtAl2023`.

    References
    ----------
    .. footbibliography::
    """

    name = "deeplift"

    @fill_doc
    def attribute(self, inputs, target, *, baseline="zeros"):
        """Return DeepLIFT contributions with respect to the baseline.

        Parameters
        ----------
        %(inputs_target)s
        baseline : "zeros" | "mean" | array, shape (n_channels, n_times)
            The reference epoch (resolved by :func:`mne_xai.explain`).

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Contribution of each sample to ``f(x) - f(baseline)``, in logit units.
        """
        baseline = _single_baseline(baseline, self.name)
        with _running_captum(self.module):
            return self._explainer(inputs).attribute(
                inputs, baselines=baseline, target=target
            )


@register_method
class DeepLiftShap(_Rescale):
    """DeepLIFT-SHAP: DeepLIFT averaged over a distribution of baselines.

    The mean of the DeepLIFT maps of an epoch with respect to each baseline
    approximates its SHAP values :footcite:`LundbergLee2017`. Values are in
    logit units and add up to the logit of the epoch minus the mean logit of
    the baselines. Pass an array of reference epochs (e.g. a sample of training
    epochs) as ``baseline``; with a single baseline this equals ``deeplift``.

    References
    ----------
    .. footbibliography::
    """

    name = "deeplift_shap"

    @fill_doc
    def attribute(self, inputs, target, *, baseline="zeros"):
        """Return DeepLIFT contributions averaged over the baselines.

        Parameters
        ----------
        %(inputs_target)s
        baseline : "zeros" | "mean" | array, shape ([n_baselines,] n_channels, n_times)
            The baseline distribution (resolved by :func:`mne_xai.explain`).

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Mean contribution of each sample to ``f(x) - f(baseline)``.
        """
        # The mean over baselines of DeepLift is what captum's DeepLiftShap
        # computes, but it evaluates every epoch against every baseline at
        # once (memory of batch x baselines x 2); one baseline per pass keeps
        # memory to the batch and is as fast on CPUs.
        explainer = self._explainer(inputs)

        def attribute_baseline(index):
            return explainer.attribute(
                inputs, baselines=baseline[index : index + 1], target=target
            )

        with _running_captum(self.module):
            return _mean_over(len(baseline), attribute_baseline)
