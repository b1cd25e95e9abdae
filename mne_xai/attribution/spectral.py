"""Frequency-resolved relevance: attribution to the input's Fourier coefficients."""

import functools

import mne
import numpy as np
import torch
from mne.io.pick import _picks_to_idx
from mne.utils import _validate_type, verbose
from torch import nn

from .._docs import fill_doc
from .._graph import autograd_on
from .._network import as_network, check_reads_time
from .._outputs import spectrum_array
from .._warnings import warn
from ._cam_layers import FeatureMapMethod
from ._core import prepare_request, private_module, run_method
from ._registry import get_method, list_methods
from .lrp import _RelevancePropagation
from .pattern import PatternAttribution
from .perturbation import Occlusion


def _fourier_weights(n_times):
    """Factors that make the real packing of ``rfft(norm="ortho")`` orthonormal.

    Interior bins stand for a positive and a negative frequency, so they carry
    twice the energy of the DC and Nyquist bins and get a factor sqrt(2).
    """
    n_freqs = n_times // 2 + 1
    weights = np.full(n_freqs, np.sqrt(2))
    weights[0] = 1.0
    if n_times % 2 == 0:
        weights[-1] = 1.0
    return weights


def to_fourier(data):
    """Real orthonormal Fourier coefficients of real signals, packed in their length.

    A real signal of ``n_times`` samples has exactly ``n_times`` real Fourier
    degrees of freedom: the real parts of its ``n_times // 2 + 1`` one-sided
    bins, then the imaginary parts of the interior bins (those of DC and
    Nyquist are zero). Packed in that order and scaled to be orthonormal, the
    coefficients have the shape and energy of the signal.

    Parameters
    ----------
    data : ndarray, shape (..., n_times)
        Real signals.

    Returns
    -------
    coefficients : ndarray of float32, shape (..., n_times)
        The packed coefficients; :func:`from_fourier` inverts them.
    """
    n_times = data.shape[-1]
    spectrum = np.fft.rfft(data, axis=-1, norm="ortho") * _fourier_weights(n_times)
    n_imaginary = (n_times - 1) // 2
    coefficients = np.concatenate(
        [spectrum.real, spectrum.imag[..., 1 : 1 + n_imaginary]], axis=-1
    )
    return coefficients.astype(np.float32)


def from_fourier(coefficients, n_times):
    """Signals from their packed coefficients (differentiable; see :func:`to_fourier`).

    Parameters
    ----------
    coefficients : torch.Tensor, shape (..., n_times)
        Packed real Fourier coefficients.
    n_times : int
        Length of the signals.

    Returns
    -------
    data : torch.Tensor, shape (..., n_times)
        The signals.
    """
    n_freqs = n_times // 2 + 1
    weights = torch.as_tensor(
        _fourier_weights(n_times), dtype=coefficients.dtype, device=coefficients.device
    )
    real = coefficients[..., :n_freqs]
    # Zero imaginary parts at DC (and Nyquist), padded rather than assigned in
    # place: the methods with rules check the graph and cannot see into an
    # in-place assignment.
    imaginary = nn.functional.pad(
        coefficients[..., n_freqs:], (1, 2 * n_freqs - n_times - 1)
    )
    spectrum = torch.complex(real, imaginary) / weights
    return torch.fft.irfft(spectrum, n=n_times, dim=-1, norm="ortho")


def fold_fourier(relevance, magnitude=False):
    """Relevance per frequency, from that of each bin's real and imaginary parts.

    Parameters
    ----------
    relevance : torch.Tensor, shape (..., n_times)
        Relevance of the packed coefficients of :func:`to_fourier`.
    magnitude : bool
        Return the magnitude of each bin's pair, ``sqrt(real**2 + imag**2)``,
        instead of its sum. A gradient's pair is a complex number: its sum
        depends on the phase of the signal the network responds to (a
        sinusoid's weight swings by up to sqrt(2), and its signed sum can be
        0), its magnitude does not. Shares of the logit add up, and are summed.

    Returns
    -------
    relevance : torch.Tensor, shape (..., n_times // 2 + 1)
        Relevance of each one-sided frequency bin.
    """
    n_times = relevance.shape[-1]
    n_freqs = n_times // 2 + 1
    real = relevance[..., :n_freqs]
    # No imaginary part at DC (and Nyquist, for an even length).
    imaginary = nn.functional.pad(
        relevance[..., n_freqs:], (1, 2 * n_freqs - n_times - 1)
    )
    return torch.hypot(real, imaginary) if magnitude else real + imaginary


class FourierInput(nn.Module):
    """A network that reads packed Fourier coefficients instead of samples.

    Parameters
    ----------
    module : torch.nn.Module
        The network, taking ``(batch, n_channels, n_times)`` samples.
    n_times : int
        Number of samples per epoch.
    """

    #: It holds the user's network at ``module``: messages name its layers
    #: without that prefix (see mne_xai._graph.shown_layer_name).
    wraps_network = True

    def __init__(self, module, n_times):
        super().__init__()
        self.module = module
        self.n_times = n_times

    def forward(self, coefficients):
        """Return the network's logits for the signals of these coefficients."""
        return self.module(from_fourier(coefficients, self.n_times))

    def inference_graph(self):
        """Return this wrapper around the network's inference graph (if it has one).

        Returns
        -------
        module : FourierInput
            The same function of the coefficients, computed faster when the
            network has a faster form (see ``EEGModule.inference_graph``).
        """
        inference_graph = getattr(self.module, "inference_graph", None)
        if inference_graph is None:
            return self
        graph = inference_graph()
        return self if graph is self.module else FourierInput(graph, self.n_times)


def _data_channels(info, relevance):
    """Keep the channels an MNE Spectrum can hold, saying what relevance is left out.

    MNE's spectra hold data channels only (EEG, MEG, ...): a network that also
    reads EOG or EMG gets their relevance left out, with a warning of its share.
    """
    data = _picks_to_idx(info, "data", exclude=(), allow_empty=True)
    if len(data) == info["nchan"]:
        return info, relevance
    others = [name for index, name in enumerate(info.ch_names) if index not in data]
    if not len(data):
        raise ValueError(
            f"An MNE Spectrum holds data channels (EEG, MEG, ...) only; the network "
            f"reads none ({others}): explain it in time with mne_xai.explain."
        )
    magnitude = np.abs(relevance)
    total = magnitude.sum()
    share = np.delete(magnitude, data, axis=-2).sum() / total if total else 0.0
    warn(
        f"An MNE Spectrum holds data channels only: the relevance of {others} "
        f"({share:.0%} of the total |relevance|) is left out of it. "
        "mne_xai.attribution.modality_importance gives each channel type's share."
    )
    return mne.pick_info(info, data), relevance[..., data, :]


def _why_not_in_frequency(maps):
    """Why a method's maps do not fold into frequencies (None if they do).

    Class activation maps place relevance in the time of the network's
    feature maps, which has no counterpart in frequency; occlusion's patches
    would be runs of the packed coefficients, whose real and imaginary parts
    lie n_times // 2 apart. LRP and PatternAttribution do not split the
    network's output over frequencies (see the Notes of
    :func:`explain_spectrum`).
    """
    if issubclass(maps, FeatureMapMethod):
        return (
            "places relevance in the time of the network's feature maps, which has "
            "no counterpart in frequency"
        )
    if issubclass(maps, Occlusion):
        return (
            "in frequency would replace runs of the packed Fourier coefficients (the "
            "real parts of all frequencies, then their imaginary parts), not bands: a "
            "patch mixes parts of different frequencies and misplaces relevance"
        )
    if issubclass(maps, _RelevancePropagation):
        return (
            "passes relevance to frequencies the network cannot read: through the "
            "inverse Fourier transform, a sample's relevance divided by its value "
            "is spread over the frequencies, and that ratio is no derivative of "
            "the network (it follows the rules' choice of contributions, and the "
            "ratio of relevance to activation at every layer with a bias)"
        )
    if issubclass(maps, PatternAttribution):
        return (
            "multiplies weights and patterns sample by sample, a product the "
            "Fourier transform does not carry over: the transform of its map is "
            "not a split of the map over frequencies (its total differs, and a "
            "filter's squared weights lie at other frequencies than it reads)"
        )
    return None


def _folds_by_magnitude(request):
    """Whether a method's maps fold into frequencies by magnitude (else by sum).

    Maps that are shares of the logit add up over a bin's real and imaginary
    parts. A gradient (or a signal, PatternNet's) is a complex number per bin,
    whose phase-free size is its magnitude, with no sign. A method averaging
    another over noisy copies (SmoothGrad) folds each copy's map as that
    method does, before its squared variants square it: a gradient's squared
    magnitude is its power at that frequency, whatever its phase. Methods
    whose maps do not fold (see :func:`_why_not_in_frequency`) are refused.
    """
    method, params = request.method_class, request.params
    settings = {**method.parameters(), **params}
    maps = get_method(settings["base_method"]) if "base_method" in settings else method
    why = _why_not_in_frequency(maps)
    if why is not None:
        valid = [
            name
            for name in list_methods()
            if _why_not_in_frequency(get_method(name)) is None
        ]
        raise ValueError(
            f"{maps.name} {why}. Explain it in time with mne_xai.explain, or use a "
            f"method valid in frequency: {', '.join(valid)}. Of these, "
            "gradient_x_input, integrated_gradients and deeplift give relevance "
            "of the frequencies that sums to the same totals as in time."
        )
    if maps.unit not in ("logit/{input}", "{input}"):
        return False
    # Squared, a gradient's sign is gone whatever absolute is: only its mean
    # keeps a sign, which the magnitude has not.
    squared = settings.get("variant", "smoothgrad") != "smoothgrad"
    if not squared and (
        settings.get("absolute") is False
        or (
            maps is not method
            and (params.get("base_params") or {}).get("absolute") is False
        )
    ):
        raise ValueError(
            f"absolute=False: the {maps.name} map of a frequency is the magnitude "
            "of a complex number (its real and imaginary parts), which has no "
            "sign. Leave absolute at True, or use a signed share of the logit "
            "(gradient_x_input, integrated_gradients, deeplift)."
        )
    return True


@autograd_on
@verbose
@fill_doc
def explain_spectrum(
    estimator,
    epochs,
    method="gradient_x_input",
    *,
    target=None,
    average=False,
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
    **params,
):
    """Explain a network's decisions per channel and frequency.

    The network is explained as a function of the Fourier coefficients of its
    input: a differentiable inverse FFT is put in front of it, and the chosen
    attribution method explains that composite network at the coefficients of
    each epoch :footcite:`VielhabenEtAl2024`. The relevance of a frequency is
    the sum of the relevance of the real and imaginary parts of its
    coefficient, for methods whose maps are shares of the logit; for
    gradients (and PatternNet's signal), the magnitude of that pair.
    Methods whose maps do not fold into frequencies are refused (see
    ``method``).

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    method : str
        The attribution method (see :func:`mne_xai.list_methods`), applied to
        the coefficients. Gradient×input, integrated gradients, gradient SHAP
        and DeepLIFT keep their summation property (see Notes); a gradient
        (``"saliency"``, SmoothGrad, guided backprop, deconvolution) gives the
        sensitivity of the logit to each frequency, whatever its phase
        (unsigned); PatternNet gives the amplitude of the estimated signal
        at each frequency. Refused: class activation maps, which place
        relevance in time; occlusion, whose patches would be runs of
        coefficients rather than bands; LRP (every rule) and
        PatternAttribution, whose relevance would fall on frequencies the
        network cannot read (see Notes). The default, ``"gradient_x_input"``,
        keeps the summation property (its relevance of a channel's
        frequencies adds up to that channel's in time) at one backward pass
        and without the baseline that integrated gradients, gradient SHAP and
        DeepLIFT (:func:`mne_xai.explain`'s default) explain from.
    %(target)s
    average : bool
        Return the average over epochs as a
        :class:`~mne.time_frequency.SpectrumArray` instead of an
        :class:`~mne.time_frequency.EpochsSpectrumArray`.
    %(batch_size)s
    %(device)s
    %(random_state)s
    %(verbose)s
    %(method_params)s
        A ``baseline`` array is given in the time domain, like the data;
        ``"zeros"`` and ``"mean"`` mean what they mean for
        :func:`mne_xai.explain`.

    Returns
    -------
    relevance : EpochsSpectrumArray | SpectrumArray
        Relevance of each channel and frequency (``np.fft.rfftfreq(n_times,
        1 / sfreq)``, a resolution of one over the epoch duration), with the
        input's info and, per epoch, its events, event_id and metadata, on
        the channels the network reads (a log line names those of ``epochs``
        it does not read, such as channels marked bad in training, which get
        no relevance). MNE's spectra hold data channels only: the relevance
        of other channels the network reads (EOG, EMG, ...) is left out, with
        a warning of its share.

    Notes
    -----
    The coefficients are those of the real orthonormal Fourier transform, so
    the signal is an orthogonal linear function of them. This makes the
    decomposition exact for methods that sum to the logit: gradient×input in
    frequency space sums over frequencies to gradient×input in time summed
    over samples (the same total per channel), and integrated gradients or
    DeepLIFT from a baseline sum to the same logit difference as in time. The
    gradient with respect to the coefficients is the Fourier transform of the
    time-domain gradient; its magnitude per bin does not depend on the phase
    of the signal the network responds to (the sum of its parts did, by up to
    a factor of sqrt(2), and its signed sum could be 0). PatternNet's signal
    at the coefficients is the Fourier transform of its signal in time, so its
    squared magnitudes sum over frequencies to the signal's energy in time.

    LRP would pass relevance through the inverse transform ``x = A c`` by
    LRP-0, giving coefficient ``k`` the relevance ``c_k sum_t A_tk R_t / x_t``
    of the samples' relevance ``R_t``. Unlike a gradient, ``R_t / x_t`` is not
    a function that the network's filters band-limit: the z+ and αβ rules
    select samples by the sign of their contributions, the w² and flat rules
    give relevance that the division by ``x_t`` makes follow the signal's zero
    crossings, and even the ε rule divides relevance by activations that
    include biases. On a network that reads a 10 Hz bin only, 66 to 98
    percent of LRP-z+, αβ and composite relevance fell on other frequencies,
    and 33 to 60 percent of LRP-ε's where a spatial filter with a bias came
    first; LRP is refused.
    PatternAttribution multiplies weights and patterns sample by sample, a
    product the transform does not carry over.

    SmoothGrad's noise is white, so the same in time and in orthonormal
    coefficients, but its standard deviation is taken over the coefficients:
    it counts an offset common to every channel, which the standard deviation
    over channels and times leaves out (a 50 µV offset made the noise 4.5
    times larger). High-pass filter the epochs first, or lower
    ``noise_level``.

    Relevance is signed for signed methods. Values carry the method's true
    unit, but :meth:`~mne.time_frequency.SpectrumArray.plot_topomap` scales
    EEG channels by 1e12 (it assumes power in V²/Hz); use
    :func:`mne_xai.viz.plot_band_topomaps` for maps in the true unit, and
    ``agg_fun=np.sum`` for the relevance of a band. Its
    :meth:`~mne.time_frequency.SpectrumArray.plot` draws power in dB, the log
    of values that are relevance here, negative for half the bins of a signed
    method (spikes to -3000 "dB", and a warning of dead channels): plot
    ``spectrum.get_data(return_freqs=True)`` instead, as the report does.

    Coefficients are computed batch by batch, so memory grows with
    ``batch_size``, as for :func:`mne_xai.explain`.

    References
    ----------
    .. footbibliography::
    """
    _validate_type(average, bool, "average")
    check_reads_time(as_network(estimator), "explain_spectrum")
    request = prepare_request(
        estimator,
        epochs,
        method,
        target=target,
        batch_size=batch_size,
        device=device,
        params=params,
    )
    baseline = request.params.get("baseline")
    if baseline is not None:
        # Baselines are resolved in time, like the data; the network now reads
        # their coefficients.
        request.params["baseline"] = torch.from_numpy(
            to_fourier(baseline.cpu().numpy())
        ).to(request.device)
    n_times = request.shape[2]
    network = private_module(
        request.network, request.device, next(request.data.batches(1))
    )
    module = FourierInput(network, n_times)
    module.eval()
    magnitude = _folds_by_magnitude(request)
    batches = (to_fourier(batch) for batch in request.batches())
    relevance = run_method(
        module,
        batches,
        request,
        average=average,
        random_state=random_state,
        transform=functools.partial(fold_fourier, magnitude=magnitude),
    )
    freqs = np.fft.rfftfreq(n_times, 1.0 / request.info["sfreq"])
    relevance = request.data.in_given_order(relevance)
    info, relevance = _data_channels(request.info, relevance)
    return spectrum_array(
        relevance,
        info,
        freqs,
        trials=request.data.trials,
        nave=request.shape[0] if average else None,
    )
