"""Activation maximization: the input a network scores highest for a class."""

from dataclasses import dataclass

import mne
import numpy as np
import pandas as pd
import torch
from mne.time_frequency import SpectrumArray
from mne.utils import _check_option, _validate_type, logger, verbose

from .._checks import check_positive_int, check_seed, compute_device
from .._docs import fill_doc
from .._graph import autograd_on
from .._network import WindowAverage, check_reads_time, read_network, sampling_rate
from .._outputs import epochs_array, evoked_array, spectrum_array, spectrum_channels
from .._progress import progress_bar
from .._warnings import quietly
from ..attribution._core import (
    _check_outputs,
    _event_id,
    _is_index,
    _target_index,
    _warn_if_also_an_index,
    output_info_for_arrays,
    private_module,
)
from ..attribution.spectral import from_fourier
from ._samples import class_names


@dataclass(eq=False)  # arrays inside: compared by identity, as MNE's objects
class ActivationMaximization:
    """Inputs that maximize a class's logit, from several random starts.

    Attributes
    ----------
    evoked : mne.EvokedArray
        The input of the restart that reached the highest objective, on the
        training channels and times (from the training epochs' ``tmin``), in
        the data's unit (``nave=1``).
    restarts : mne.EpochsArray
        The optimized input of every restart, one epoch each, under the
        event name and training code of the target class (so that the
        restarts of several classes concatenate); ``metadata`` holds each
        restart's ``objective``, ``logit`` (of the target class) and
        ``penalty_scale`` (the logit units of its penalties).
    spectrum : mne.time_frequency.SpectrumArray
        The power spectral density (Welch) of the inputs' data channels (an
        MNE spectrum holds no EOG, ECG or EMG), averaged over the restarts.
    logits : ndarray, shape (n_restarts, n_classes)
        The network's logits for each optimized input, columns ordered as
        ``classes_``.
    objective : ndarray, shape (n_restarts,)
        The final objective of each restart: the target logit minus the
        weighted penalties, in logit units (see
        :func:`maximize_activation`).
    history : ndarray, shape (n_steps, n_restarts)
        The objective of each restart before each step. The learning rate
        anneals to zero, so a flat end shows that the steps stopped, not that
        they reached the optimum (on two linear networks, 300 steps at
        ``lr=0.1`` ended flat 11 and 33 percent short of its amplitude, at
        the right shape): to check, compare with a run of more ``n_steps``.
    target : object
        The class, as in the estimator's ``classes_``.
    """

    evoked: mne.EvokedArray
    restarts: mne.EpochsArray
    spectrum: SpectrumArray
    logits: np.ndarray
    objective: np.ndarray
    history: np.ndarray
    target: object

    def __repr__(self):
        best = int(np.argmax(self.objective))
        # The class's event name, under which the restarts are.
        (name,) = self.restarts.event_id
        return (
            f"<ActivationMaximization | class {name!r}, "
            f"{len(self.objective)} restarts of {len(self.history)} steps, best "
            f"objective {self.objective[best]:.3g}>"
        )


def _input_statistics(network):
    """Return the shape of a training epoch and the training data's std."""
    n_channels = getattr(network, "n_channels_", None)
    n_times = getattr(network, "n_times_", None)
    data_std = getattr(network, "data_std_", None)
    if n_channels is None or n_times is None or data_std is None:
        raise ValueError(
            "Activation maximization needs the shape of a training epoch "
            "(n_channels_, n_times_) and the scale of the training data "
            f"(data_std_), which this {type(network).__name__} does not record; "
            "train the network with an estimator of mne_xai (module=<your "
            "network>) to get them."
        )
    data_std = torch.as_tensor(np.asarray(data_std, dtype=np.float32))
    if data_std.ndim:  # one per channel: channels of several types
        data_std = data_std.reshape(-1, 1)
    return int(n_channels), int(n_times), data_std


def spectral_amplitude(n_times, sfreq, spectral_prior):
    """Return the amplitude of each packed Fourier coefficient under the prior.

    Parameters
    ----------
    n_times : int
        Length of the input.
    sfreq : float
        Its sampling rate.
    spectral_prior : "1/f" | None
        ``"1/f"``: power inversely proportional to frequency, below the
        lowest resolved frequency held at its value; None: flat (white).

    Returns
    -------
    amplitude : ndarray of float32, shape (n_times,)
        The amplitude of the coefficients in the packing of
        :func:`mne_xai.attribution.spectral.to_fourier`, scaled so that white
        coefficients of unit variance give a signal of unit variance.
    """
    freqs = np.fft.rfftfreq(n_times, 1.0 / sfreq)
    # The packing holds the real part of every bin, then the imaginary part
    # of the bins between DC and Nyquist.
    n_imaginary = (n_times - 1) // 2
    freqs = np.concatenate([freqs, freqs[1 : 1 + n_imaginary]])
    if spectral_prior is None:
        amplitude = np.ones(n_times)
    else:
        amplitude = 1.0 / np.sqrt(np.maximum(freqs, sfreq / n_times))
    return (amplitude / np.sqrt(np.mean(amplitude**2))).astype(np.float32)


class _Objective(torch.nn.Module):
    """The class score and the penalties of inputs given by whitened coefficients.

    The input is ``data_std * from_fourier(amplitude * coefficients)``: white
    coefficients give noise with the training data's standard deviation and
    the prior's spectrum, and their mean square is the negative log-density
    (up to constants) of that Gaussian noise, the norm penalty.
    """

    def __init__(self, module, target, amplitude, data_std, penalties):
        super().__init__()
        self.module = module
        self.target = target
        self.register_buffer("amplitude", amplitude)
        self.data_std = data_std
        self.norm_penalty, self.smoothness_penalty = penalties

    def forward(self, coefficients):
        """Return the target logit, the penalty and the input of each restart."""
        n_times = coefficients.shape[-1]
        inputs = self.data_std * from_fourier(self.amplitude * coefficients, n_times)
        logit = self.module(inputs)[:, self.target]
        steps = torch.diff(inputs / self.data_std, dim=-1)
        penalty = self.norm_penalty * coefficients.pow(2).mean(
            dim=(1, 2)
        ) + self.smoothness_penalty * steps.pow(2).mean(dim=(1, 2))
        return logit, penalty, inputs


def _penalty_scale(objective, coefficients):
    """Return the logit's sensitivity at each start: the unit of the penalties.

    With the penalty ``scale * mean(c ** 2)`` and ``scale = sqrt(n) * |grad|
    / 2`` (``n`` values, ``grad`` the logit's gradient in ``c``), a network
    linear in ``c`` has its optimum at root mean square 1: the training
    data's amplitude, whatever the scale of the logits.
    """
    logit, _, _ = objective(coefficients)
    # Restarts are independent: the gradient of their sum holds each one's.
    (gradient,) = torch.autograd.grad(logit.sum(), coefficients)
    scale = gradient.flatten(1).norm(dim=1) * np.sqrt(gradient[0].numel()) / 2
    if not torch.all(scale > 0):
        raise ValueError(
            "The target logit does not change near the starting noise (its "
            "gradient is zero), so there is no direction to ascend; the network "
            "may be dead (e.g. every ReLU off) at the data's amplitude."
        )
    return scale.detach()


def _check_converging(values, step, n_steps, lr):
    """Refuse an ascent whose objective is no longer finite: it diverged.

    Steps far too large (``lr=1e30``) threw the inputs beyond float32's range:
    the objective became infinite, then NaN, and the spectra of the NaN inputs
    failed inside NumPy ("Weights sum to zero, can't be normalized").
    """
    finite = torch.isfinite(values)
    if bool(finite.all()):
        return
    restarts = torch.nonzero(~finite).flatten().tolist()
    raise ValueError(
        f"Activation maximization diverged after {step} of {n_steps} steps: "
        f"the objective of restart(s) {restarts} is {values[~finite][0].item()} "
        f"(the input or the network's logits overflowed float32). {_smaller_lr(lr)}"
    )


def _check_ascended(start, end, lr):
    """Refuse restarts that ended below where they started: the steps overshot.

    An ascent ends above its start; with ``lr=1e10`` the objective fell from
    -0.05 to -1.6e14 and the inputs reached thousands of volts, finite, so
    nothing refused them (at the default 0.1 it rose to 0.06).
    """
    # Rounding and the last steps' jitter aside: a thousandth of the values.
    fell = np.flatnonzero(start - end > 1e-3 * (np.abs(start) + np.abs(end)))
    if not len(fell):
        return
    first = fell[0]
    raise ValueError(
        f"Activation maximization diverged: the objective of restart(s) "
        f"{fell.tolist()} ended below where it started ({start[first]:.3g} at "
        f"the first step, {end[first]:.3g} at the end), so the steps overshoot. "
        f"{_smaller_lr(lr)}"
    )


def _smaller_lr(lr):
    """Return the advice of both refusals of an ascent that diverged."""
    return (
        f"lr={lr:g} is too large for this network; use a smaller lr (the default "
        "is 0.1)."
    )


def _check_penalty(value, name):
    _validate_type(value, "numeric", name)
    if not value >= 0:
        raise ValueError(f"{name} must be zero or positive, got {value}.")
    return float(value)


@autograd_on
@verbose
@fill_doc
def maximize_activation(
    estimator,
    target,
    *,
    n_restarts=5,
    n_steps=300,
    lr=0.1,
    norm_penalty=1.0,
    smoothness_penalty=1.0,
    spectral_prior="1/f",
    random_state=None,
    device=None,
    verbose=None,
):
    """Find inputs the network scores highest for a class.

    Activation maximization :footcite:`ErhanEtAl2009,SimonyanEtAl2014` as
    Truong et al. applied it to EEG :footcite:`TruongMakeigDelorme2021`:
    starting from random noise, an input epoch is optimized by gradient
    ascent to maximize the logit of ``target``, under penalties that keep it
    EEG-like: its norm, its roughness and, with ``spectral_prior="1/f"``, its
    departure from the 1/f spectrum of EEG background activity
    :footcite:`OlahEtAl2017`.

    Parameters
    ----------
    %(estimator)s
        The network must record the shape of its training epochs and the
        standard deviation of its training data, as the estimators of mne_xai
        do.
    target : int | str
        The class: a label of ``estimator.classes_``, an event name of the
        training epochs (e.g. ``"feet"``), or an index into ``classes_``.
    n_restarts : int
        Number of random starts, optimized together as one batch.
    n_steps : int
        Number of gradient steps.
    lr : float
        Learning rate of the Adam optimizer on the whitened coefficients
        (which start with unit variance); it is annealed to zero along a
        cosine over the steps. An ascent whose objective overflows, or ends
        below where it started (steps far too large), is refused.
    norm_penalty : float
        Weight of the input's mean squared whitened coefficient (see Notes).
        For a network linear near the data, the optimum's whitened
        coefficients then have a root mean square of ``1 / norm_penalty``,
        whatever the scale of the network's logits: with
        ``spectral_prior=None``, the training data's amplitude divided by
        ``norm_penalty``; with ``"1/f"``, an amplitude that depends on the
        frequencies the network prefers (larger for low ones, which the
        prior lets through).
    smoothness_penalty : float
        Weight of the mean squared difference between successive samples, in
        units of the training data's standard deviation: a penalty on fast
        fluctuations :footcite:`MahendranVedaldi2016`. Zero switches it off.
    spectral_prior : "1/f" | None
        ``"1/f"`` makes the norm penalty that of Gaussian noise whose power
        falls as 1/f, and starts from such noise; None makes it white (the
        plain L2 norm of the input, relative to the training data's variance).
    %(random_state_type)s
        Seed of the starting noise; None draws a fresh seed, a NumPy generator
        one seed from it. Restart ``i``
        starts from the same noise whatever ``n_restarts``. The global NumPy
        and torch random states are neither used nor changed.
    %(device)s
    %(verbose)s

    Returns
    -------
    result : ActivationMaximization
        The best input (``.evoked``), every restart (``.restarts``), their
        mean spectrum (``.spectrum``), final logits, objectives and the
        objective over steps.

    Notes
    -----
    The input is parameterized by whitened Fourier coefficients ``c``: the
    input is ``data_std_ * F(a * c)`` where ``F`` is the inverse orthonormal
    real Fourier transform and ``a`` the amplitude of the prior's spectrum
    (power proportional to 1/f, or flat), scaled so that white ``c`` of unit
    variance give noise of the training data's variance (of each type's
    channels, when they are of several types). The objective of
    each restart is::

        logit[target] - s * (norm_penalty * mean(c ** 2)
                             + smoothness_penalty * mean(diff(x / data_std_) ** 2))

    where ``s = sqrt(n) * |grad| / 2`` is the penalty scale of the restart:
    ``|grad|`` is the norm of the gradient of the target logit with respect
    to ``c`` at the starting noise, and ``n`` the number of values of an
    input. Weighing the penalties in units of the network's own sensitivity
    makes them independent of the scale of its logits (a fixed weight would
    let a network with large logits drive the input far beyond the data's
    amplitude): for a linear network, the optimum without smoothness penalty
    has whitened coefficients of root mean square ``1 / norm_penalty``.

    The norm term is, up to constants, the negative log-density of the
    prior's Gaussian noise, so the result is a maximum a posteriori input of
    that prior; with a linear network and no smoothness penalty the optimum
    is the network's weight vector filtered by the prior's power spectrum
    (itself when white). The parameterization also preconditions gradient
    ascent as in feature visualization :footcite:`OlahEtAl2017`.

    The network is not linear: different starts can reach different inputs
    (e.g. oscillations of different phases). ``.evoked`` is the restart with
    the highest objective rather than their mean, in which such inputs
    cancel; ``.spectrum`` averages their power, which does not depend on
    phase. Maximizing one logit may raise the others too: compare
    ``.logits`` across classes.

    Of a :class:`~mne_xai.CroppedClassifier`, the samples that no window
    reads are 0 in the inputs returned (and their spectrum), as in the maps of
    :func:`mne_xai.explain`: the logit does not depend on them, and only the
    penalties shaped them during the ascent. ``objective`` and ``history``
    hold the penalties of the inputs as optimized.

    The network runs in evaluation mode; its weights are not changed. The
    restarts run as one batch: a network whose output for an epoch depends
    on the other epochs of its batch (batch norm without running
    statistics), or changes from one pass to the next, is refused.

    References
    ----------
    .. footbibliography::
    """
    network = read_network(estimator, caller="maximize_activation")
    check_reads_time(network, "maximize_activation")
    n_restarts = check_positive_int(n_restarts, "n_restarts")
    n_steps = check_positive_int(n_steps, "n_steps")
    _validate_type(lr, "numeric", "lr")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}.")
    penalties = (
        _check_penalty(norm_penalty, "norm_penalty"),
        _check_penalty(smoothness_penalty, "smoothness_penalty"),
    )
    _check_option("spectral_prior", spectral_prior, ("1/f", None))
    random_state = check_seed(random_state)
    n_channels, n_times, data_std = _input_statistics(network)
    event_id = _event_id(network, None)
    target_index = _target_index(network, target, event_id)
    _warn_if_also_an_index(network, target, target_index, event_id)
    device = compute_device(device, network)
    sfreq = sampling_rate(network, "the spectra and the 1/f prior")

    # A generator per restart: torch fills one tensor in blocks of 16 values,
    # so the last values of a restart drawn with others changed with their
    # number.
    start = torch.stack(
        [
            torch.randn(
                (n_channels, n_times),
                dtype=torch.float32,
                generator=torch.Generator().manual_seed(int(seed.generate_state(1)[0])),
            )
            for seed in np.random.SeedSequence(random_state).spawn(n_restarts)
        ]
    )
    coefficients = start.to(device).requires_grad_()
    amplitude = torch.from_numpy(spectral_amplitude(n_times, sfreq, spectral_prior))
    optimizer = torch.optim.Adam([coefficients], lr=float(lr))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, n_steps)
    name = class_names(network)[target_index]
    logger.info(
        f"Maximizing the logit of class {name!r} from {n_restarts} random "
        f"start(s) over {n_steps} steps."
    )
    history = np.empty((n_steps, n_restarts))
    module = private_module(network, device)
    # The restarts run as one batch and ascend autograd's gradient: the
    # network must treat each epoch on its own (batch norm without running
    # statistics made each restart's logit depend on the others), the same
    # way twice, and see all of its computation. Checked on noise at the
    # data's amplitude.
    _check_outputs(
        module,
        (data_std * start[:2]).to(device),
        "maximize_activation",
        differentiates=True,
        n_classes=len(network.classes_),
        name="Noise at the data's amplitude",
    )
    objective = _Objective(
        module, target_index, amplitude.to(device), data_std.to(device), penalties
    )
    scale = _penalty_scale(objective, coefficients)
    for step in progress_bar(
        range(n_steps), mesg="activation maximization", unit="steps"
    ):
        logit, penalty, _ = objective(coefficients)
        values = logit - scale * penalty
        _check_converging(values, step, n_steps, lr)
        # Gradients of the coefficients only: the network's own parameters
        # (and their .grad) are left as they are.
        (gradient,) = torch.autograd.grad(-values.sum(), coefficients)
        coefficients.grad = gradient
        optimizer.step()
        schedule.step()
        history[step] = values.detach().cpu().numpy()
    with torch.no_grad():
        _, penalty, inputs = objective(coefficients)
        if isinstance(module, WindowAverage):
            # As in explain's maps: only the penalties shaped the samples no
            # window reads (13 percent of the power, for gaps of 16 samples
            # in 128), which the logit does not depend on.
            inputs = module.zero_outside_windows(inputs)
        logits = module(inputs)
        _check_converging(
            logits[:, target_index] - scale * penalty, n_steps, n_steps, lr
        )
    logits = logits.cpu().numpy().astype(np.float64)
    objective = logits[:, target_index] - (scale * penalty).cpu().numpy()
    _check_ascended(history[0], objective, lr)
    return _result(
        network,
        inputs.cpu().numpy().astype(np.float64),
        objective,
        logits,
        history,
        target_index,
        scale.cpu().numpy().astype(np.float64),
    )


def _event_code(network, target_index):
    """Return the event code of a class: its training code, else its position.

    As explain's maps keep the training codes, the restarts of several classes
    combine (``mne.concatenate_epochs``); all coded 1, they were refused as
    one code of several names. Labels that are no integers and name no
    training event (strings of arrays) are numbered from 1 in ``classes_``.
    """
    label = np.asarray(network.classes_).tolist()[target_index]
    code = _event_id(network, None).get(label, label)  # the code of an event name
    return int(code) if _is_index(code) else target_index + 1


def _result(network, inputs, objective, logits, history, target_index, scale):
    """Wrap the optimized inputs as MNE objects."""
    info = output_info_for_arrays(network, inputs.shape)
    tmin = getattr(network, "tmin_", None)
    # MNE's event names are strings; a class without one is named by its label.
    name = str(class_names(network)[target_index])
    code = _event_code(network, target_index)
    restarts = epochs_array(
        inputs,
        info,
        tmin,
        events=np.column_stack(
            [
                np.arange(len(inputs)),
                np.zeros(len(inputs), int),
                np.full(len(inputs), code),
            ]
        ),
        event_id={name: code},
        metadata=pd.DataFrame(
            {
                "objective": objective,
                "logit": logits[:, target_index],
                "penalty_scale": scale,
            }
        ),
    )
    best = int(np.argmax(objective))
    evoked = evoked_array(
        inputs[best],
        info,
        tmin,
        comment=f"maximizes {name} (best of {len(inputs)} restarts)",
        nave=1,
    )
    psd = restarts.compute_psd(
        method="welch", picks=spectrum_channels(restarts.info), verbose=quietly()
    )
    # Every channel of the spectrum, those marked bad too (MNE's default
    # leaves them out).
    spectrum = spectrum_array(
        psd.get_data(exclude=()).mean(axis=0), psd.info, psd.freqs, nave=len(inputs)
    )
    return ActivationMaximization(
        evoked=evoked,
        restarts=restarts,
        spectrum=spectrum,
        logits=logits,
        objective=objective,
        history=history,
        target=network.classes_[target_index],
    )
