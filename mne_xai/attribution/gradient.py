"""Gradient-based attribution methods, computed with captum."""

import numpy as np
import torch
from captum.attr import InputXGradient as _CaptumInputXGradient
from captum.attr import IntegratedGradients as _CaptumIntegratedGradients
from captum.attr import Saliency as _CaptumSaliency
from mne.utils import _check_option, _validate_type

from .._checks import check_positive_int
from .._docs import fill_doc
from .._matching import SCALE_TOLERANCE
from .._warnings import warn
from ._cam_layers import target_logits
from ._registry import (
    AttributionMethod,
    check_map_shape,
    get_method,
    list_methods,
    register_method,
)


def _single_baseline(baseline, method):
    """Return a ``(1, n_channels, n_times)`` baseline, or say which method to use."""
    if len(baseline) != 1:
        raise ValueError(
            f"{method} compares each epoch with one baseline, got {len(baseline)}; "
            "pass one epoch-shaped array, or use gradient_shap or deeplift_shap to "
            "average over a distribution of baselines."
        )
    return baseline


@fill_doc
def summation_error(module, inputs, baseline, target, attribution):
    """Measure how far each map's sum is from ``f(x) - f(baseline)``.

    The invariant of integrated gradients (completeness) and DeepLIFT
    (summation-to-delta), from one forward pass of the epochs and the baseline.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    %(inputs_target)s
    baseline : torch.Tensor, shape (1, n_channels, n_times)
        The baseline.
    attribution : torch.Tensor, shape (batch, n_channels, n_times)
        The maps.

    Returns
    -------
    error : torch.Tensor, shape (batch,)
        ``|sum(map) - (f(x) - f(baseline))|`` over the size of the logits
        (the largest absolute logit of the epoch plus that of the baseline).
    total : torch.Tensor, shape (batch,)
        The sum of each map.
    difference : torch.Tensor, shape (batch,)
        ``f(x) - f(baseline)`` for each epoch's target class.
    """
    with torch.no_grad():
        logits = module(torch.cat([inputs, baseline]))
    epoch_logits, baseline_logits = logits[: len(inputs)], logits[len(inputs) :]
    difference = target_logits(epoch_logits - baseline_logits, target)
    total = attribution.detach().sum(dim=(1, 2))
    scale = epoch_logits.abs().amax(dim=1) + baseline_logits.abs().amax()
    return (total - difference).abs() / scale, total, difference


#: Errors of a map's sum below this share of the logits' size are float32's
#: rounding (at most 4e-7 on EEGNet and InterpretableCNN on EEGBCI, with
#: baselines of zeros, the mean epoch and 0.99 of the epoch).
SUMMATION_ROUNDING = 1e-4


def misses_delta(error, total, difference, tolerance):
    """Return which maps miss ``f(x) - f(baseline)`` by more than ``tolerance`` of it.

    A map is judged against the delta it explains, not the logits: from a
    baseline near the epoch the delta is small, and a third of it stayed
    below a thousandth of the logits. Errors within float32's rounding of the
    logits (:data:`SUMMATION_ROUNDING`) are not counted.

    Parameters
    ----------
    error, total, difference : torch.Tensor, shape (batch,)
        As :func:`summation_error` returns them.
    tolerance : float
        The share of the delta a map may miss.

    Returns
    -------
    missed : torch.Tensor of bool, shape (batch,)
    """
    missed = (total - difference).abs() > tolerance * difference.abs()
    return missed & (error > SUMMATION_ROUNDING)


def _mean_over(n_variants, attribute_variant):
    """Mean of ``attribute_variant(index)`` over ``range(n_variants)``, kept as a sum.

    Methods that average over variants of each epoch (noise samples, random
    baselines) evaluate one variant of the whole batch per pass: memory then
    grows with ``batch_size`` only, and on CPUs small passes are also the
    fastest (the activations of EEGNet on 64 channels stay in cache).
    """
    total = attribute_variant(0)
    for index in range(1, n_variants):
        total = total + attribute_variant(index)
    return total / n_variants


@register_method
class Saliency(AttributionMethod):
    """Saliency map: the gradient of the target logit :footcite:`SimonyanEtAl2014`.

    Values are logit per unit of input (per volt for MNE data). With
    ``absolute=True`` (the original definition) the map shows where the logit is
    sensitive, not in which direction; it is therefore not class-specific for
    near-linear networks, as Sujatha Ravindran & Contreras-Vidal observed.

    References
    ----------
    .. footbibliography::
    """

    name = "saliency"
    unit = "logit/{input}"

    @fill_doc
    def attribute(self, inputs, target, *, absolute=True):
        """Return the (absolute) gradient of the target logit.

        Parameters
        ----------
        %(inputs_target)s
        absolute : bool
            Return the absolute value of the gradient.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The gradient map.
        """
        # A string such as "False" is true: it gave the absolute map.
        _validate_type(absolute, bool, "absolute")
        return _CaptumSaliency(self.module).attribute(
            inputs, target=target, abs=absolute
        )


@register_method
class GradientXInput(AttributionMethod):
    """Gradient × input: each sample times the gradient of the target logit.

    The first-order Taylor contribution of each sample to the logit
    :footcite:`ShrikumarEtAl2017`; values are in logit units. For a linear
    network without bias they add up to the logit exactly; for EEGNet and
    InterpretableCNN they are a local approximation (see
    ``integrated_gradients`` for an exact decomposition). Cui et al. found it
    among the more faithful methods on EEG :footcite:`CuiEtAl2023`.

    References
    ----------
    .. footbibliography::
    """

    name = "gradient_x_input"
    unit = "logit"
    from_zero = True

    @fill_doc
    def attribute(self, inputs, target):
        """Return gradient times input.

        Parameters
        ----------
        %(inputs_target)s

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Contribution of each sample to the logit, in logit units.
        """
        return _CaptumInputXGradient(self.module).attribute(inputs, target=target)


#: Completeness error of integrated gradients, relative to the logits, above
#: which the integral is reported as not converged. Not relative to the change
#: explained, as DeepLIFT's exact sums are judged: at 50 steps the rule missed
#: over 1 percent of the small change of a few epochs of InterpretableCNN on
#: EEGBCI, by under a thousandth of the logits, which no map's shape shows.
COMPLETENESS_TOLERANCE = 0.01


@register_method
class IntegratedGradients(AttributionMethod):
    """Integrated gradients :footcite:`SundararajanEtAl2017`.

    The gradient averaged along the straight path from a baseline to the
    epoch, times the difference between them. Values are in logit units and
    satisfy completeness: they add up to the logit of the epoch minus the
    logit of the baseline, up to the error of the integration rule, which falls
    quickly with ``steps`` (a warning says when it exceeds 1% of the logits).
    The baseline defines what "no evidence" means: the default zero signal,
    the mean training epoch (``baseline="mean"``) or any epoch-shaped array.

    References
    ----------
    .. footbibliography::
    """

    name = "integrated_gradients"
    unit = "logit"
    from_baseline = True

    @fill_doc
    def attribute(self, inputs, target, *, steps=50, baseline="zeros"):
        """Integrate the gradient from the baseline to each epoch.

        Parameters
        ----------
        %(inputs_target)s
        steps : int
            Number of points of the Gauss-Legendre rule along the path.
        baseline : "zeros" | "mean" | array, shape (n_channels, n_times)
            The reference epoch (resolved by :func:`mne_xai.explain`).

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            Contribution of each sample to ``f(x) - f(baseline)``, in logit units.
        """
        steps = check_positive_int(steps, "steps")
        baseline = _single_baseline(baseline, self.name)
        attribution = _CaptumIntegratedGradients(self.module).attribute(
            inputs,
            baselines=baseline,
            target=target,
            n_steps=steps,
            internal_batch_size=len(inputs),  # one path point per pass
        )
        self._warn_if_not_converged(inputs, baseline, target, attribution, steps)
        return attribution

    _warned = False

    def _warn_if_not_converged(self, inputs, baseline, target, attribution, steps):
        """Warn, once per explainer, where the sum misses completeness.

        The error of the integration rule depends on the network: smooth
        ones converge in a few steps, sharp ones (many ReLUs, max pooling)
        need more. A network that changes abruptly on the path (one that
        standardizes each epoch is undefined at the zero epoch, and constant
        along the path beyond a few millionths of it) keeps its error however
        many steps: another baseline helps there. Which of the two it is, the
        worst epoch explained again with four times the steps, then sixteen
        times where four do not halve its error, tells (a network taking the
        log of its input, steep near the baseline but smooth, falls from 22 to
        1.6 percent unexplained from 16 to 64 steps; one whose log is clamped
        near the baseline, as a ShallowFBCSPNet trained on EEGBCI once was,
        kept 18 percent at 64 steps and 2 at 256, where four times the steps
        alone read as no help). The epoch's path points go through the
        network in passes as large as the maps'.
        """
        error, total, difference = summation_error(
            self.module, inputs, baseline, target, attribution
        )
        worst = int(error.argmax())
        if error[worst] <= COMPLETENESS_TOLERANCE or self._warned:
            return
        self._warned = True
        total, difference = float(total[worst]), float(difference[worst])
        message = (
            f"integrated_gradients' maps miss completeness with steps={steps}: "
            f"the map of an epoch sums to {total:.3g} where its target logit "
            f"changes by f(x) - f(baseline) = {difference:.3g}"
        )
        if difference != 0:
            missed = abs(total - difference) / abs(difference)
            message += f", {100 * missed:.0f}% of it unexplained"
        epoch, its_target = inputs[worst : worst + 1], target[worst : worst + 1]
        errors = {steps: float(error[worst])}
        for more in (4 * steps, 16 * steps):
            finer = _CaptumIntegratedGradients(self.module).attribute(
                epoch,
                baselines=baseline,
                target=its_target,
                n_steps=more,
                internal_batch_size=len(inputs),
            )
            errors[more] = float(
                summation_error(self.module, epoch, baseline, its_target, finer)[0][0]
            )
            if errors[more] <= errors[steps] / 2:  # no need to look further
                break
        measured = ", ".join(f"{e:.2g} with steps={n}" for n, e in errors.items())
        measured = f"the error of this epoch is {measured}, of the logits"
        if errors[4 * steps] <= errors[steps] / 2:
            warn(
                f"{message}. The path integral has not converged on this network: "
                f"pass a larger steps ({measured})."
            )
        elif errors[16 * steps] <= errors[steps] / 2:
            warn(
                f"{message}. The path integral converges slowly ({measured}): the "
                "network is steep on a short stretch of the path, e.g. near the "
                "baseline (a log of power clamped near zero). Pass a much larger "
                'steps, or choose another baseline (baseline="mean" or an '
                "epoch-shaped array)."
            )
        else:
            warn(
                f"{message}. More steps hardly help ({measured}): the network "
                "changes abruptly on the path, e.g. at the baseline (it "
                "standardizes each epoch, which the zero epoch makes undefined). "
                'Choose another baseline (baseline="mean" or an epoch-shaped '
                "array)."
            )


@register_method
class SmoothGrad(AttributionMethod):
    """SmoothGrad: any attribution method averaged over noisy copies of each epoch.

    Each epoch receives Gaussian noise whose standard deviation is
    ``noise_level`` times the epoch's own standard deviation (over channels and
    times), the base method explains every noisy copy, and the maps are
    combined :footcite:`SmilkovEtAl2017`: their mean (``"smoothgrad"``), the mean
    of their squares (``"smoothgrad_sq"``) or their variance (``"vargrad"``,
    :footcite:`AdebayoEtAl2018`). Values keep the unit of the base method
    (squared for the last two). Averaging removes the high-frequency jitter of
    gradients of ReLU/ELU networks.

    Notes
    -----
    captum's ``NoiseTunnel`` adds one absolute noise level to the whole batch,
    so the noise an epoch receives would depend on the other epochs' amplitude
    if it were set from the data, and it only wraps captum's own methods. This
    noise tunnel scales noise per epoch and wraps every registered method,
    evaluating one noisy copy of the batch at a time.

    References
    ----------
    .. footbibliography::
    """

    name = "smoothgrad"
    unit = "logit/{input}"
    stochastic = True
    combines_maps = True

    @classmethod
    def unit_of(cls, params=None):
        """Return the base method's unit, squared for squares and variances.

        Parameters
        ----------
        params : dict | None
            SmoothGrad's parameters.

        Returns
        -------
        unit : str
            The unit of the combined maps.
        """
        params = params or {}
        base_method = cls._base_method(params)
        if base_method is None:
            return cls.unit
        unit = base_method.unit_of(params.get("base_params"))
        if params.get("variant", "smoothgrad") == "smoothgrad" or unit == "a.u.":
            return unit
        return "/".join(_squared(factor) for factor in unit.split("/"))

    @classmethod
    def from_zero_of(cls, params=None):
        """Return the base method's ``from_zero``.

        Parameters
        ----------
        params : dict | None
            SmoothGrad's parameters.

        Returns
        -------
        from_zero : bool
            Whether the base method's values, for its ``base_params``, weigh
            the input by its distance from zero.
        """
        return cls._base_property("from_zero", params)

    @classmethod
    def from_baseline_of(cls, params=None):
        """Return the base method's ``from_baseline``.

        Parameters
        ----------
        params : dict | None
            SmoothGrad's parameters.

        Returns
        -------
        from_baseline : bool
            Whether the base method's values, for its ``base_params``, share
            out the change of the target logit from a baseline.
        """
        return cls._base_property("from_baseline", params)

    @classmethod
    def _base_property(cls, name, params):
        """Return the base method's ``name`` for its parameters (own, without one)."""
        params = params or {}
        base_method = cls._base_method(params)
        if base_method is None:
            return getattr(cls, name)
        return getattr(base_method, f"{name}_of")(params.get("base_params"))

    @classmethod
    def _base_method(cls, params):
        """Return the base method's class; None for one explain refuses by name."""
        base_method = params.get("base_method", "saliency")
        if base_method == cls.name or base_method not in list_methods():
            return None
        return get_method(base_method)

    @fill_doc
    def attribute(
        self,
        inputs,
        target,
        *,
        base_method="saliency",
        noise_level=0.5,
        n_samples=20,
        variant="smoothgrad",
        base_params=None,
        baseline="zeros",
    ):
        """Average the base method over noisy copies of each epoch.

        Parameters
        ----------
        %(inputs_target)s
        base_method : str
            The registered method applied to the noisy copies, e.g.
            ``"saliency"``, ``"gradient_x_input"`` or ``"integrated_gradients"``.
        noise_level : float
            Standard deviation of the noise as a fraction of each epoch's
            standard deviation. Smilkov et al. found 10 to 20 %% of the input's
            range (maximum minus minimum) best on images; an EEG epoch spans
            some 8 to 11 standard deviations (10.5 on EEGBCI), so that is 1 to
            2 here. The default, 0.5 (about 5 %% of the range), smooths less and
            keeps the maps closer to the gradient's; raise it for smoother
            maps. 0 gives the base method itself (its square with
            ``variant="smoothgrad_sq"``; ``"vargrad"`` needs noise).
        n_samples : int
            Number of noisy copies of each epoch.
        variant : "smoothgrad" | "smoothgrad_sq" | "vargrad"
            Combine the maps by their mean, the mean of their squares, or their
            variance.
        base_params : dict | None
            Parameters of the base method (e.g. ``{"steps": 20}``).
        baseline : "zeros" | "mean" | array, shape (n_channels, n_times)
            Passed to the base method when it takes a baseline; ignored otherwise.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The combined maps.
        """
        _check_option("variant", variant, ("smoothgrad", "smoothgrad_sq", "vargrad"))
        _check_option(
            "base_method",
            base_method,
            [name for name in list_methods() if name != self.name],
        )
        _validate_type(noise_level, "numeric", "noise_level")
        if not 0 <= noise_level < np.inf:  # inf made every map NaN
            raise ValueError(
                f"noise_level must be a finite number of at least 0, got {noise_level}."
            )
        n_samples = check_positive_int(n_samples, "n_samples")
        if variant == "vargrad" and (n_samples < 2 or noise_level == 0):
            # One copy, or copies without noise, vary by nothing: a map of
            # zeros, which reads as "nothing is relevant".
            raise ValueError(
                "variant='vargrad' is the variance of the maps of noisy copies, and "
                f"n_samples={n_samples} with noise_level={noise_level} leaves none: "
                "give n_samples of 2 or more and a noise_level above 0."
            )
        base_params = self._base_params(base_method, base_params, baseline)
        explainer = get_method(base_method)(self.network)
        # A stochastic base method draws from the same per-epoch generators.
        explainer.generators = self.generators

        noise_std = noise_level * inputs.detach().std(dim=(1, 2), keepdim=True)
        total = total_squares = 0
        for _ in range(n_samples):
            noisy = inputs.detach() + noise_std * self.randn_like(inputs)
            attribution = explainer.attribute(
                noisy.requires_grad_(), target, **base_params
            ).detach()
            check_map_shape(attribution, inputs, f"base_method {base_method!r}")
            if self.map_transform is not None:
                attribution = self.map_transform(attribution)
            # In float64: vargrad's mean square less squared mean cancels.
            attribution = attribution.double()
            total = total + attribution
            if variant != "smoothgrad":
                total_squares = total_squares + attribution**2
        mean = total / n_samples
        if variant == "smoothgrad":
            combined = mean
        elif variant == "smoothgrad_sq":
            combined = total_squares / n_samples
        else:
            combined = (total_squares / n_samples - mean**2).clamp_min(0)
        return combined.to(inputs.dtype)

    @staticmethod
    def _base_params(base_method, base_params, baseline):
        """Check the base method's parameters and give it the baseline it takes."""
        _validate_type(base_params, (None, dict), "base_params")
        base_params = dict(base_params or {})
        allowed = get_method(base_method).parameters()
        if "baseline" in base_params:
            raise ValueError(
                "Pass the baseline of smoothgrad's base method as smoothgrad's own "
                "baseline parameter, so that explain() can resolve it."
            )
        unknown = sorted(set(base_params) - set(allowed))
        if unknown:
            raise TypeError(
                f"base_method {base_method!r} got unknown parameter(s) {unknown} in "
                f"base_params; it accepts {sorted(allowed) or 'none'}."
            )
        if "baseline" in allowed:
            base_params["baseline"] = baseline
        return base_params


def _squared(factor):
    """Return a unit's factor squared: ``"logit"`` -> ``"logit^2"``."""
    base, _, power = factor.partition("^")
    return f"{base}^{2 * int(power or 1)}"


@register_method
class GradientShap(AttributionMethod):
    """GradientSHAP: expected gradients over baselines and path points.

    For each of ``n_samples`` draws, a baseline is picked at random from the
    ``baseline`` distribution and a point at a uniformly random position on the
    path from it to the (optionally noisy) epoch; the gradient there times the
    epoch-minus-baseline difference is averaged over draws
    :footcite:`LundbergLee2017`. Values are in logit units and in expectation
    add up to the logit of the epoch minus the mean logit of the baselines.
    With a single baseline this is a Monte Carlo estimate of integrated
    gradients; pass an array of reference epochs (e.g. a sample of training
    epochs) for SHAP values.

    Notes
    -----
    This is the estimate of captum's ``GradientShap``, computed here because
    captum draws baselines and path positions from NumPy's global random
    state: each epoch's baseline, position and noise come from its own
    generator (see :class:`~mne_xai.attribution.AttributionMethod`), so ``random_state`` fixes them
    whatever the batch.

    References
    ----------
    .. footbibliography::
    """

    name = "gradient_shap"
    unit = "logit"
    from_baseline = True
    stochastic = True

    @fill_doc
    def attribute(
        self, inputs, target, *, n_samples=20, noise_std=0.0, baseline="zeros"
    ):
        """Average gradient × (input − baseline) over random baselines and paths.

        Parameters
        ----------
        %(inputs_target)s
        n_samples : int
            Number of random draws per epoch.
        noise_std : float
            Standard deviation of Gaussian noise added to the epoch at each draw,
            in the data's unit (volts for MNE data); more than 100 times the
            data's standard deviation warns (another unit?).
        baseline : "zeros" | "mean" | array, shape ([n_baselines,] n_channels, n_times)
            The baseline distribution (resolved by :func:`mne_xai.explain`).

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The expected contributions, in logit units.
        """
        n_samples = check_positive_int(n_samples, "n_samples")
        _validate_type(noise_std, "numeric", "noise_std")
        if not 0 <= noise_std < np.inf:  # inf made every map NaN
            raise ValueError(
                f"noise_std must be a finite number of at least 0, got {noise_std}."
            )
        spread = float(inputs.detach().std())
        if noise_std > SCALE_TOLERANCE * spread:
            # Unlike SmoothGrad's noise_level, an absolute value: captum's
            # examples' 0.09 is thousands of times EEG in volts, and the map
            # then explains the noise (correlation 0.007 with the noise-free one).
            warn(
                f"noise_std={noise_std:g} is more than {SCALE_TOLERANCE:g} times the "
                f"standard deviation of the epochs explained ({spread:.3g}): it is "
                "in the data's unit (volts for MNE data), and noise that large "
                "leaves a map of the noise. Give it in that unit, e.g. a tenth "
                "of the data's standard deviation."
            )
        saliency = _CaptumSaliency(self.module)
        inputs = inputs.detach()

        def attribute_sample(index):
            start = baseline[self.randint(inputs, len(baseline))]
            position = self.rand(inputs, 1, 1)
            end = inputs
            if noise_std:
                end = inputs + noise_std * self.randn_like(inputs)
            point = start + position * (end - start)
            gradient = saliency.attribute(
                point.requires_grad_(), target=target, abs=False
            )
            return gradient * (end - start)

        return _mean_over(n_samples, attribute_sample)
