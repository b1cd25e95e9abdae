"""Results as MNE objects, on the input's times and tied to its trials.

MNE rounds the ``tmin`` given to ``EpochsArray`` and ``EvokedArray`` to a
whole number of samples, so the maps of epochs whose times are off that grid
(shifted by a trigger delay, decimated with an offset) would move by up to
half a sample, and could gain a time point their data do not have. Results
are made at 0 s and their times then moved, as ``shift_time`` keeps them.

The events, event names, metadata, selection and drop log of the input keep
each result tied to its trial, as ``epochs.selection``, the metadata's index
and ``plot_drop_log`` tie the input's epochs. Results of several channel types
are shown on a scalp one type at a time (:func:`scalp_channel_type`).
"""

import mne
from mne.io.pick import _picks_to_idx
from mne.time_frequency import EpochsSpectrumArray, SpectrumArray
from mne.utils import _check_option, use_log_level

from ._warnings import ignoring, quietly


def trials_of(epochs):
    """Return what ties each epoch of ``epochs`` to its trial.

    Parameters
    ----------
    epochs : mne.BaseEpochs | mne.time_frequency.EpochsSpectrum
        Epochs, or spectra of epochs.

    Returns
    -------
    trials : dict
        Their ``events``, ``event_id``, ``metadata``, ``selection``,
        ``drop_log``, ``annotations`` and ``raw_sfreq``, the keywords of
        :func:`epochs_array`.
    """
    return dict(
        events=epochs.events,
        event_id=epochs.event_id,
        metadata=epochs.metadata,
        selection=epochs.selection,
        drop_log=epochs.drop_log,
        # Spectra of epochs keep neither.
        annotations=getattr(epochs, "annotations", None),
        # The rate of the events' samples: the recording's, not the
        # epochs' once decimated.
        raw_sfreq=getattr(epochs, "_raw_sfreq", None),
    )


def epochs_array(
    data, info, tmin, *, events=None, event_id=None, annotations=None, **trials
):
    """Return data as :class:`mne.EpochsArray` starting exactly at ``tmin``.

    Parameters
    ----------
    data : ndarray, shape (n_epochs, n_channels, n_times)
        The data.
    info : mne.Info
        Their channels.
    tmin : float | None
        The time of the first sample (None: 0 s, as for arrays).
    events, event_id : ndarray | dict | None
        The input's (None for arrays).
    annotations : mne.Annotations | None
        The input's, so that ``get_annotations_per_epoch`` reads the same.
    **trials
        ``metadata``, ``selection``, ``drop_log`` and ``raw_sfreq`` (see
        :func:`trials_of`).

    Returns
    -------
    epochs : mne.EpochsArray
        The data, unprojected and without baseline correction.
    """
    # The events are the input's, in its order (e.g. epochs[[3, 1, 2]]):
    # MNE's warning would be about the user's selection, not about us.
    with ignoring(".*not chronologically ordered"):
        epochs = mne.EpochsArray(
            data,
            info,
            # Events are copied: the result must not change with the input's.
            events=None if events is None else events.copy(),
            event_id=event_id,
            tmin=0.0,
            baseline=None,
            proj=False,
            # An event of event_id whose epochs were all dropped (rejected, or
            # left out by a selection) stays in it, as in the input.
            on_missing="ignore",
            verbose=quietly(),
            **trials,
        )
    if annotations is not None and len(annotations):
        epochs.set_annotations(annotations.copy())
    return _shifted(epochs, tmin)


def evoked_array(data, info, tmin, *, comment, nave):
    """Return data as :class:`mne.EvokedArray` starting exactly at ``tmin``.

    Parameters
    ----------
    data : ndarray, shape (n_channels, n_times)
        The data.
    info : mne.Info
        Their channels.
    tmin : float | None
        The time of the first sample (None: 0 s, as for arrays).
    comment : str
        What the data are.
    nave : int
        The number of epochs averaged.

    Returns
    -------
    evoked : mne.EvokedArray
        The data.
    """
    evoked = mne.EvokedArray(
        data, info, tmin=0.0, comment=comment, nave=nave, verbose=quietly()
    )
    return _shifted(evoked, tmin)


def _shifted(inst, tmin):
    """Move the times of ``inst``, made at 0 s, to start exactly at ``tmin``."""
    inst.shift_time(tmin or 0.0, relative=False)
    # MNE's shift_time leaves the times that decimate starts from at 0 s:
    # decimated, maps of epochs from -0.2 s started at 0 s again, one sample
    # off their decimated epochs. Preloaded, those times are the times.
    inst._raw_times = inst.times.copy()
    return inst


def spectrum_channels(info):
    """Return the channels of ``info`` that an MNE Spectrum holds, bad ones too.

    MNE's spectra hold data channels (EEG, MEG, ...) only: of a network that
    also reads EOG or ECG, a spectrum of all its channels would name them
    while its rows shifted by one.

    Parameters
    ----------
    info : mne.Info
        The channels.

    Returns
    -------
    ch_names : list of str
        The data channels, in the order of ``info``.
    """
    picks = _picks_to_idx(info, "data", exclude=(), allow_empty=True)
    return [info.ch_names[index] for index in picks]


def _set_nave(spectrum, nave):
    """Set the number of epochs averaged into ``spectrum``.

    ``nave`` of MNE's spectra has a setter from mne 1.11 on, which sets
    ``_nave``; before, the property could only be read.
    """
    if type(spectrum).nave.fset is not None:
        spectrum.nave = nave
    else:
        spectrum._nave = nave


def spectrum_array(data, info, freqs, *, trials=None, nave=None):
    """Return spectra as MNE's spectrum arrays, tied to their epochs.

    Parameters
    ----------
    data : ndarray, shape ([n_epochs,] n_channels, n_freqs)
        The spectra of each epoch, or their average.
    info : mne.Info
        Their channels.
    freqs : ndarray, shape (n_freqs,)
        Their frequencies.
    trials : dict | None
        For spectra of each epoch, what ties them to their trials (see
        :func:`trials_of`; None for arrays).
    nave : int | None
        For an average, the number of epochs averaged.

    Returns
    -------
    spectrum : mne.time_frequency.EpochsSpectrumArray | mne.time_frequency.SpectrumArray
        An EpochsSpectrumArray for spectra of each epoch, else a SpectrumArray.
    """
    # Copies: the result must not change with the input's, nor the input with
    # the result's. MNE's spectrum arrays keep the info's channels, projectors
    # and digitization, and the event_id, as given (the input's: adding an
    # event name to the maps added it to the user's Epochs).
    info = info.copy()
    if data.ndim == 2:
        spectrum = SpectrumArray(data, info, freqs, verbose=quietly())
        _set_nave(spectrum, nave)
        return spectrum
    trials = trials or {}
    events, event_id = trials.get("events"), trials.get("event_id")
    spectrum = EpochsSpectrumArray(
        data,
        info,
        freqs,
        events=None if events is None else events.copy(),
        event_id=None if event_id is None else dict(event_id),
        verbose=quietly(),
    )
    # Set after construction, as the constructor takes none of them. The drop
    # log is a tuple of tuples, which nothing changes in place.
    if trials.get("selection") is not None:
        spectrum.selection = trials["selection"].copy()
    if trials.get("drop_log") is not None:
        spectrum.drop_log = trials["drop_log"]
    with use_log_level(quietly()):
        spectrum.metadata = trials.get("metadata")
    return spectrum


def one_channel_type(evoked, ch_type):
    """Return ``evoked`` on one channel type, the one a scalp map can show.

    Parameters
    ----------
    evoked : mne.Evoked
        Maps, possibly of several channel types (a network reading EOG beside
        EEG).
    ch_type : str | None
        The type; None takes the only type, or EEG among several.

    Returns
    -------
    evoked : mne.Evoked
        A copy holding the channels of that type.
    """
    return evoked.copy().pick(scalp_channel_type(evoked, ch_type))


def scalp_channel_type(inst, ch_type):
    """Return the channel type of ``inst`` that a scalp map is to show.

    Parameters
    ----------
    inst : mne.Evoked | mne.BaseEpochs | mne.time_frequency.Spectrum
        Maps, possibly of several channel types.
    ch_type : str | None
        The type asked for; None takes the only type, or EEG among several.

    Returns
    -------
    ch_type : str
        A type of ``inst``'s channels.
    """
    types = inst.get_channel_types(unique=True)
    if ch_type is None:
        if len(types) > 1 and "eeg" not in types:
            raise ValueError(
                f"The maps hold channels of types {types}; a scalp map shows one: "
                "pass ch_type."
            )
        ch_type = types[0] if len(types) == 1 else "eeg"
    _check_option("ch_type", ch_type, types)
    return ch_type
