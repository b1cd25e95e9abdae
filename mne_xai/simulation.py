"""Simulated EEG epochs whose discriminative signal is known exactly."""

import numbers

import mne
import numpy as np
import pandas as pd
from mne.utils import _check_option, _validate_type, logger, verbose

from ._checks import check_generator
from ._docs import fill_doc
from ._simulation_kinds import _KINDS, FREQUENCY_BANDS, _post_stimulus
from ._warnings import quietly, warn
from .datasets import _builtin_montage

__all__ = ["FREQUENCY_BANDS", "simulate_epochs"]

# The 32 channels of the 10-20 system in common 32-electrode caps.
_DEFAULT_CH_NAMES = (
    "Fp1 Fp2 F7 F3 Fz F4 F8 FC5 FC1 FC2 FC6 T7 C3 Cz C4 T8 "
    "TP9 CP5 CP1 CP2 CP6 TP10 P7 P3 Pz P4 P8 PO9 O1 Oz O2 PO10"
).split()

_BACKGROUND_RMS = 10e-6  # volts: a typical amplitude of the ongoing scalp EEG
_SOURCE_SPACING = 10.0  # mm between the dipoles of the volume source space
_CORTEX_DEPTH = 0.025  # m below the inner skull that holds the background sources
#: The shortest feature window: a Hann window of fewer samples is (nearly) all zero.
_MIN_FEATURE_SAMPLES = 4
_forward_cache = {}


def _head_model(info, montage):
    """Sphere head model, cortical gain and source positions for these electrodes.

    The sphere is fitted to every electrode of the montage: the head is the
    same whichever channels are simulated (and three channels are too few
    points to fit a sphere to). The model is deterministic, so it is computed
    once per montage and set of electrodes, and kept for the rest of the
    process.
    """
    positions = np.array([ch["loc"][:3] for ch in info["chs"]])
    cap = mne.create_info(montage.ch_names, info["sfreq"], "eeg")
    cap.set_montage(montage, verbose=quietly())
    cap_positions = np.array([ch["loc"][:3] for ch in cap["chs"]])
    key = (
        tuple(info["ch_names"]),
        positions.round(6).tobytes(),
        cap_positions.round(6).tobytes(),
    )
    if key not in _forward_cache:
        logger.info(f"Computing a sphere head model for {len(positions)} EEG channels")
        sphere = mne.make_sphere_model("auto", "auto", cap, verbose=quietly())
        source_space = mne.setup_volume_source_space(
            pos=_SOURCE_SPACING, sphere=sphere, mindist=5.0, verbose=quietly()
        )
        forward = mne.make_forward_solution(
            info,
            trans=None,
            src=source_space,
            bem=sphere,
            meg=False,
            eeg=True,
            verbose=quietly(),
        )
        # Average reference, as the simulated recordings are average-referenced.
        gain = forward["sol"]["data"].reshape(len(positions), -1, 3)
        gain = gain - gain.mean(axis=0)
        source_pos = forward["source_rr"]
        centre = np.asarray(sphere["r0"])
        inner_radius = sphere["layers"][0]["rad"]
        distance = np.linalg.norm(source_pos - centre, axis=1)
        in_cortex = distance >= inner_radius - _CORTEX_DEPTH
        cortex = gain[:, in_cortex].reshape(len(positions), -1)
        # Independent dipoles with identical spectra sum, at the electrodes, to
        # noise with spatial covariance G G^T. Its square root mixes independent
        # channels into exactly that covariance, without simulating every dipole.
        eigenvalues, eigenvectors = np.linalg.eigh(cortex @ cortex.T)
        root = np.sqrt(np.clip(eigenvalues, 0, None))
        mixing = (eigenvectors * root) @ eigenvectors.T
        _forward_cache[key] = dict(
            gain=gain, source_pos=source_pos, centre=centre, mixing=mixing
        )
    return _forward_cache[key]


def _pink_background(head, n_epochs, n_times, sfreq, exponent, rng):
    """1/f^exponent noise from cortical dipoles, seen through the head model."""
    # Twice the length, then crop, so the circular spectrum does not wrap the end
    # of an epoch onto its start. White noise has independent complex Gaussian
    # Fourier coefficients, so they are drawn directly and shaped to 1/f.
    n_fft = 2 * n_times
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sfreq)
    amplitude = np.zeros_like(freqs)
    amplitude[1:] = freqs[1:] ** (-exponent / 2.0)
    shape = (n_epochs, len(head["mixing"]), len(freqs))
    spectrum = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    pink = np.fft.irfft(spectrum * amplitude, n=n_fft)[..., :n_times]
    return np.einsum("ij,ejt->eit", head["mixing"], pink)


def _hann_envelopes(times, starts, stops):
    """Return a Hann window over [start, stop] per epoch, zero elsewhere.

    Each is scaled to a peak of 1 on the sample grid, which need not hold the
    window's centre.
    """
    phase = (times - starts[:, np.newaxis]) / (stops - starts)[:, np.newaxis]
    # Open at both ends, where the window is zero: at a stop on the sample grid,
    # sin(pi) ** 2 is 1.5e-32, and the sample counted as active in scaling the SNR.
    inside = (phase > 0) & (phase < 1)
    envelopes = np.where(inside, np.sin(np.pi * phase) ** 2, 0.0)
    return envelopes / envelopes.max(axis=1, keepdims=True)


def _check_window_list(windows, n_classes, epoch, sfreq, name="windows"):
    _validate_type(windows, (list, tuple, np.ndarray), name)
    if len(windows) == 2 and all(isinstance(edge, numbers.Real) for edge in windows):
        windows = [windows] * n_classes
    if len(windows) != n_classes:
        raise ValueError(
            f"{name} must hold one (tmin, tmax) per class ({n_classes}), got "
            f"{len(windows)}."
        )
    windows = np.array(windows, dtype=float)
    if windows.shape != (n_classes, 2):
        raise ValueError(f"{name} must be (tmin, tmax) pairs, got {windows.tolist()}.")
    epoch_start, epoch_stop = epoch
    # What a window must satisfy, negated: NaN fails every comparison.
    bad = ~(
        (windows[:, 1] - windows[:, 0] >= _MIN_FEATURE_SAMPLES / sfreq)
        & (windows[:, 0] >= epoch_start)
        & (windows[:, 1] <= epoch_stop)
    )
    if bad.any():
        raise ValueError(
            f"Each window must satisfy {epoch_start:g} <= tmin < tmax <= "
            f"{epoch_stop:g} s (the epoch) and span {_MIN_FEATURE_SAMPLES} samples "
            f"or more, got "
            f"{windows[bad].tolist()}."
        )
    return windows


def _resolve_montage(montage, ch_names):
    _validate_type(montage, (str, mne.channels.DigMontage), "montage")
    if isinstance(montage, str):
        if montage in ("standard_1020", "standard_1005"):
            montage = _builtin_montage(montage.removeprefix("standard_"))
        _check_option("montage", montage, mne.channels.get_builtin_montages())
        montage = mne.channels.make_standard_montage(montage)
    if ch_names is None:
        has_default = set(_DEFAULT_CH_NAMES) <= set(montage.ch_names)
        ch_names = list(_DEFAULT_CH_NAMES) if has_default else list(montage.ch_names)
    _validate_type(ch_names, (list, tuple, np.ndarray), "ch_names")
    repeated = sorted({name for name in ch_names if list(ch_names).count(name) > 1})
    if repeated:  # MNE renames them, then finds the new names in no montage
        raise ValueError(f"ch_names holds {repeated} more than once.")
    missing = [name for name in ch_names if name not in montage.ch_names]
    if missing:
        raise ValueError(f"Channels {missing} are not in the montage.")
    if len(ch_names) < 3:
        raise ValueError(f"Simulate at least 3 channels, got {len(ch_names)}.")
    return montage, [str(name) for name in ch_names]  # not numpy.str_


def _warn_if_jittered_windows_meet(class_windows, jitter, names):
    """Warn when two classes' ERP windows can overlap once jittered.

    In temporal simulations the window is what tells the classes apart; two
    windows closer than twice the jitter overlap in some epochs, where time
    does not tell those classes apart. The classes are named by their events
    (``names``): their indices from 0 matched no event code, which start at 1.
    """
    order = np.argsort(class_windows[:, 0])
    ordered = class_windows[order]
    gaps = ordered[1:, 0] - ordered[:-1, 1]
    meeting = np.flatnonzero(gaps < 2 * jitter - 1e-9)  # touching is apart
    if len(meeting):
        first = meeting[0]
        warn(
            f"The ERP windows of classes {names[order[first]]!r} and "
            f"{names[order[first + 1]]!r} are "
            f"{max(gaps[first], 0) * 1e3:.0f} ms apart, less than twice the jitter "
            f"({2 * jitter * 1e3:.0f} ms): {len(meeting)} pair(s) of classes overlap "
            "in time in some epochs. Lengthen the epochs, simulate fewer classes, "
            "or lower jitter."
        )


def _check_sizes_and_numbers(n_epochs, n_classes, **numbers):
    """Refuse sizes and numbers that simulate_epochs cannot simulate."""
    for name, value in (("n_epochs", n_epochs), ("n_classes", n_classes)):
        _validate_type(value, "int", name)
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}.")
    if n_epochs < n_classes:
        raise ValueError(
            f"n_epochs ({n_epochs}) must be at least n_classes ({n_classes})."
        )
    for name, value in numbers.items():
        _validate_type(value, "numeric", name)
        if not np.isfinite(value):  # NaN passes every comparison after this
            raise ValueError(f"{name} must be a finite number, got {value}.")
    for name in ("snr", "jitter", "sensor_noise"):
        if numbers[name] < 0:
            raise ValueError(f"{name} must be non-negative, got {numbers[name]}.")


def _epoch_metadata(classes, labels, starts, stops, snr):
    """Each epoch's feature: its window, band and source, as a DataFrame."""
    source = classes.positions[labels]
    return pd.DataFrame(
        {
            "feature_tmin": starts,
            "feature_tmax": stops,
            "band": [classes.band_names[label] for label in labels],
            "fmin": classes.band_edges[labels, 0],
            "fmax": classes.band_edges[labels, 1],
            "source_x": source[:, 0],
            "source_y": source[:, 1],
            "source_z": source[:, 2],
            # Within 1 cm of the midline counts as midline.
            "hemisphere": np.select(
                [source[:, 0] < -0.01, source[:, 0] > 0.01],
                ["left", "right"],
                "midline",
            ),
            "snr": float(snr),
        }
    )


@verbose
@fill_doc
def simulate_epochs(
    kind,
    *,
    n_epochs=200,
    n_classes=2,
    snr=1.0,
    sfreq=128.0,
    tmin=-0.2,
    duration=1.0,
    windows=None,
    bands=None,
    jitter=0.02,
    montage="standard_1020",
    ch_names=None,
    noise_exponent=1.0,
    sensor_noise=0.1,
    random_state=None,
    verbose=None,
):
    """Simulate EEG epochs with a class-specific feature and its ground truth.

    Each class carries its own feature, on top of background activity that is
    the same for all classes, following the simulation design of Sujatha
    Ravindran & Contreras-Vidal [1]_. The ground truth marks, per epoch, where
    and when the epoch's feature is on the scalp.

    Parameters
    ----------
    kind : "temporal" | "spectral" | "spatial"
        What tells the classes apart:

        - ``"temporal"``: an ERP (a positive Hann-shaped deflection) from one
          parietal midline source, in a different time window per class.
        - ``"spectral"``: a burst of band-limited activity from that same
          source and in the same window for all classes, in a different
          frequency band per class.
        - ``"spatial"``: the same ERP in the same window, from a different
          source per class: left and right hemisphere for two classes, else
          sources spread evenly in azimuth around the head.
    n_epochs : int
        Number of epochs, split as evenly as possible between classes, in
        random order.
    n_classes : int
        Number of classes (at least 2).
    snr : float
        Signal-to-noise ratio as an amplitude ratio: the root mean square of
        the feature over all channels and the samples where it is active,
        divided by the root mean square of the background over all channels and
        samples. 0 leaves the feature out (the ground truth still says where it
        would be).
    sfreq : float
        Sampling rate in Hz.
    tmin : float
        Time of the first sample, in seconds relative to the event.
    duration : float
        Length of each epoch in seconds.
    windows : array-like of (float, float) | (float, float) | None
        The time window (s) of each class's feature, or one window for all.
        None gives, for ``"temporal"``, windows of 0.2 s (or half a part, if
        shorter) centred in ``n_classes`` equal parts of the post-stimulus
        interval; for ``"spatial"``, one such window centred in it; for
        ``"spectral"``, one window from a tenth to nine tenths of it. A
        window must lie in the epoch, from its first sample to ``duration``
        later, and span 4 samples or more (so must the defaults: too many
        classes in too short epochs are refused).
    bands : array-like of (str | (float, float)) | None
        For ``kind="spectral"``, the band of each class: a name in
        :data:`FREQUENCY_BANDS` (theta 4–8, alpha 8–13, beta 13–30, gamma
        30–45 Hz) or ``(fmin, fmax)`` in Hz. None gives alpha, beta, theta,
        gamma to classes 0, 1, 2, 3 in that order. Each class needs a band
        of its own edges: ``"alpha"`` and ``(8, 13)`` are the same band.
        Ignored for other kinds.
    jitter : float
        The feature's window is shifted by a random amount drawn uniformly from
        ``[-jitter, jitter]`` seconds in each epoch (then kept inside the
        epoch), so the ground truth differs between epochs. For ``"temporal"``,
        a warning says when two classes' windows are closer than twice the
        jitter, so that their features overlap in time in some epochs.
    montage : str | mne.channels.DigMontage
        Electrode positions: a built-in montage name (``"standard_1020"`` and
        ``"standard_1005"`` work whatever the MNE version) or a montage.
    ch_names : array-like of str | None
        Channels to simulate, all in ``montage``. None uses 32 channels of the
        10-20 system (Fp1 ... PO10) when the montage has them, else all of its
        channels.
    noise_exponent : float
        Exponent of the background's 1/f spectrum (1 is pink noise).
    sensor_noise : float
        Standard deviation of the white sensor noise, relative to the root mean
        square of the brain background.
    %(random_state_type)s
        Seed (or generator) for class order, background, jitter and bursts.
    %(verbose)s

    Returns
    -------
    epochs : mne.EpochsArray
        The simulated EEG in volts, average-referenced, with the montage set.
        ``event_id`` names the classes: ``"left"``/``"right"`` (spatial with 2
        classes), ``"azimuth_<degrees>"`` (spatial), the band (spectral), or
        ``"erp_<start>-<stop>ms"`` (temporal, the window before jitter); event
        codes are 1 to ``n_classes``. ``metadata`` has one row per epoch:

        ``feature_tmin``, ``feature_tmax``
            The window where the feature is active in this epoch (s).
        ``band``, ``fmin``, ``fmax``
            The band of the burst (spectral; None and NaN otherwise).
        ``source_x``, ``source_y``, ``source_z``
            Position of the feature's dipole in head coordinates (m).
        ``hemisphere``
            ``"left"``, ``"right"`` or ``"midline"``, from ``source_x``.
        ``snr``
            The ``snr`` the epoch was simulated at.
    ground_truth : mne.EpochsArray
        Same info, events, event_id and metadata as ``epochs``. Its data, in
        [0, 1], are for each epoch the magnitude of its own class's feature on
        the scalp, normalised to a peak of 1: the outer product of the
        feature's scalp pattern ``|g| / max |g|`` (``g`` is the average
        referenced forward field of the dipole) and its time envelope (a Hann
        window over ``[feature_tmin, feature_tmax]``, zero outside). It does not
        depend on ``snr`` or on the noise. Threshold it for a binary mask, e.g.
        ``ground_truth.get_data() >= 0.5`` keeps the channels and samples where
        the feature is at least half its peak. Plot it with ``scalings=1``.

    See Also
    --------
    mne_xai.evaluate.relevance_mass_accuracy
    mne_xai.evaluate.temporal_precision

    Notes
    -----
    The head is the four-shell sphere model (brain, CSF, skull, scalp) that
    MNE fits to the electrode
    positions (:func:`mne.make_sphere_model`), with a volume source space of
    dipoles every 10 mm (:func:`mne.setup_volume_source_space`) and the
    forward solution of :func:`mne.make_forward_solution`. No MRI is needed;
    the model is computed once per set of electrodes and cached for the
    process.

    The background is independent 1/f noise in every dipole (three
    orientations) within 25 mm of the inner skull, i.e. a cortical shell, plus
    white sensor noise. Summed at the electrodes, such dipoles give Gaussian
    noise with spatial covariance ``G G^T`` (``G`` their gain), which is what is
    drawn: the same statistics as simulating each dipole, at the cost of the
    channels alone. The brain background has a root mean square of 10 µV.

    Features come from radial dipoles 65 mm from the sphere centre. Every
    epoch carries only its own class's feature, so the classes differ in the
    features alone. Each spatial class has a dipole of its own: the one
    nearest its place on the ring that no earlier class took, so with more
    classes than about 30 (the ring is some 30 dipoles round) some lie a
    dipole or two off the ring; ``source_x``, ``source_y``, ``source_z`` give
    where. At most 360 spatial classes are simulated.

    Average referencing gives each feature's pattern a broad negative part
    holding, summed over channels, as much magnitude as its positive peak. A
    binary mask such as ``ground_truth >= 0.5`` marks the feature's core (a
    few channels around the peak, over the central half of the window), so
    relevance spread like the ground truth itself puts most of its mass
    outside the mask: compare mask-based scores of attribution methods with
    each other and with chance (the fraction of features in the mask), not
    with 1.

    References
    ----------
    %(ref_sujatha_ravindran2023)s
    """
    _check_option("kind", kind, tuple(_KINDS))
    spec = _KINDS[kind]
    _check_sizes_and_numbers(
        n_epochs,
        n_classes,
        snr=snr,
        sfreq=sfreq,
        tmin=tmin,
        duration=duration,
        jitter=jitter,
        noise_exponent=noise_exponent,
        sensor_noise=sensor_noise,
    )
    n_times = int(round(duration * sfreq))
    if n_times < 8:
        raise ValueError(
            f"duration * sfreq gives {n_times} samples; simulate at least 8."
        )
    # The sample grid MNE puts the epochs on (tmin rounded to a sample), and the
    # epoch it covers: to one sample after the last, so a window can end at
    # tmin + duration (the Hann envelope is zero at its ends).
    first = np.round(tmin * sfreq)
    times = (first + np.arange(n_times)) / sfreq
    epoch = times[0], (first + n_times) / sfreq
    montage, ch_names = _resolve_montage(montage, ch_names)
    rng = check_generator(random_state)

    info = mne.create_info(ch_names, float(sfreq), "eeg")
    info.set_montage(montage, verbose=quietly())
    head = _head_model(info, montage)

    # Per-class feature: window, then scalp pattern, dipole position, band, name.
    class_windows = _class_windows(
        kind, n_classes, windows, tmin, duration, epoch, sfreq
    )
    classes = spec.classes(
        head, n_classes, windows=class_windows, bands=bands, sfreq=sfreq
    )
    if kind == "temporal":
        _warn_if_jittered_windows_meet(class_windows, jitter, classes.names)

    labels = rng.permutation(np.arange(n_epochs) % n_classes)
    logger.info(
        f"Simulating {n_epochs} {kind} epochs of {len(ch_names)} channels, "
        f"{n_classes} classes, SNR {snr:g}"
    )

    background = _background(
        head, n_epochs, n_times, sfreq, noise_exponent, sensor_noise, rng
    )
    noise_rms = np.sqrt(np.mean(background**2))

    # Feature time course per epoch, in its jittered window.
    starts, stops = _jittered_windows(class_windows[labels], jitter, epoch, rng).T
    envelopes = _hann_envelopes(times, starts, stops)
    waveforms = spec.waveforms(envelopes, classes.band_edges[labels], sfreq, rng)
    # Scale so the feature's RMS over channels and active samples is snr times
    # the background's RMS.
    active = envelopes > 0
    waveform_rms = np.sqrt((waveforms**2 * active).sum(1) / active.sum(1))
    patterns = classes.patterns
    pattern_rms = np.sqrt(np.mean(patterns**2, axis=1))[labels]
    amplitudes = snr * noise_rms / (waveform_rms * pattern_rms)
    data = background + np.einsum(
        "ec,et->ect", patterns[labels], amplitudes[:, np.newaxis] * waveforms
    )

    spatial_weights = np.abs(patterns) / np.abs(patterns).max(axis=1, keepdims=True)
    truth = np.einsum("ec,et->ect", spatial_weights[labels], envelopes)

    metadata = _epoch_metadata(classes, labels, starts, stops, snr)
    events = np.column_stack(
        [np.arange(n_epochs) * n_times, np.zeros(n_epochs, int), labels + 1]
    )
    event_id = {name: code + 1 for code, name in enumerate(classes.names)}
    epochs = mne.EpochsArray(
        data,
        info,
        events=events,
        # On the grid: MNE rounds tmin and tmax apart, and from half a sample
        # (-0.125 s at 100 Hz) its times were one sample short of the data.
        tmin=times[0],
        event_id=event_id,
        metadata=metadata,
        verbose=quietly(),
    )
    epochs.set_eeg_reference("average", projection=False, verbose=quietly())
    ground_truth = mne.EpochsArray(
        truth,
        epochs.info,
        events=events,
        tmin=times[0],
        event_id=event_id,
        metadata=metadata.copy(),
        verbose=quietly(),
    )
    return epochs, ground_truth


def _class_windows(kind, n_classes, windows, tmin, duration, epoch, sfreq):
    """Return the window of each class's feature, shape (n_classes, 2), in s."""
    if windows is not None:
        return _check_window_list(windows, n_classes, epoch, sfreq)
    start, length = _post_stimulus(tmin, tmin + duration)
    class_windows = _KINDS[kind].default_windows(n_classes, start, length)
    shortest = np.diff(class_windows, axis=1).min()
    if shortest < _MIN_FEATURE_SAMPLES / sfreq:
        span = (
            f"{duration:g} s epochs"
            if np.isclose(length, duration)
            else f"the {length:g} s after the event (where they lie) of "
            f"{duration:g} s epochs"
        )
        raise ValueError(
            f"The default windows of {n_classes} {kind} classes in {span} last "
            f"{shortest * 1e3:.0f} ms, under the {_MIN_FEATURE_SAMPLES} samples "
            "a Hann-shaped feature needs; simulate longer epochs, fewer classes "
            "or a higher sfreq, or give windows."
        )
    return class_windows


def _background(head, n_epochs, n_times, sfreq, noise_exponent, sensor_noise, rng):
    """Return the background of every epoch, (n_epochs, n_channels, n_times).

    Pink cortical activity through the head model, plus white sensor noise,
    average-referenced like the gain.
    """
    background = _pink_background(head, n_epochs, n_times, sfreq, noise_exponent, rng)
    background *= _BACKGROUND_RMS / np.sqrt(np.mean(background**2))
    background += sensor_noise * _BACKGROUND_RMS * rng.standard_normal(background.shape)
    background -= background.mean(axis=1, keepdims=True)
    return background


def _jittered_windows(windows, jitter, epoch, rng):
    """Shift each epoch's window by a uniform jitter, keeping it in the epoch.

    A window that the jitter pushed out of the epoch is moved back in, whole;
    one inside is left exactly as it is, so that without jitter the metadata
    match the class names.
    """
    windows = windows + rng.uniform(-jitter, jitter, len(windows))[:, np.newaxis]
    windows -= np.clip(windows[:, 1:] - epoch[1], 0, None)
    windows += np.clip(epoch[0] - windows[:, :1], 0, None)
    return windows
