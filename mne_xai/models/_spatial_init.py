"""Spatial filters started from the training data, as CSP finds them."""

import numpy as np
from mne.decoding import CSP
from mne.utils import use_log_level

from .._warnings import quietly


def discriminant_spatial_filters(signals, y, n_filters):
    """Return the spatial filters that best tell the classes apart by power.

    Common spatial patterns (MNE's :class:`mne.decoding.CSP`): the filters
    whose output variance differs most between the classes, the two ends of
    the spectrum in turn for two classes (``component_order="alternate"``),
    by mutual information with the class for more. CSP solves in closed form,
    from the covariances of a few dozen trials, what a network learns slowly
    by gradient descent from as few.

    Parameters
    ----------
    signals : array, shape (n_epochs, n_channels, n_times)
        What the spatial filters read.
    y : array, shape (n_epochs,)
        Class of each epoch (two or more classes).
    n_filters : int
        Number of filters wanted; at most ``n_channels`` are returned.

    Returns
    -------
    filters : array, shape (n_returned, n_channels)
        Unit-norm filters, most discriminative first.
    """
    n_components = min(n_filters, signals.shape[1])
    order = "alternate" if len(np.unique(y)) == 2 else "mutual_info"
    # Shrunk (Ledoit-Wolf) covariances: from a few dozen trials of many
    # channels, plain CSP filters also fit the noise, weights of both signs all
    # over the scalp, which training keeps and attributions then spread over.
    # Shrunk, they are also definite where channels repeat one another.
    csp = CSP(n_components=n_components, component_order=order, reg="ledoit_wolf")
    with use_log_level(quietly()):  # not its steps, at every fit
        csp.fit(signals, y)
    filters = csp.filters_[:n_components]
    return filters / np.linalg.norm(filters, axis=1, keepdims=True)
