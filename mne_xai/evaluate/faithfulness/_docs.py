"""Parameter descriptions shared by the docstrings of every measure."""

_COMMON_PARAMETERS = """estimator : EEGNetClassifier | InterpretableCNNClassifier
        A fitted estimator of mne_xai.
    epochs : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
        The data, matching the training data in channels, rate and length.
    method : str | None
        The attribution method to evaluate (see :func:`mne_xai.list_methods`);
        its maps are computed batch by batch with :func:`mne_xai.explain`.
    attribution : mne.Epochs | array, shape (n_epochs, n_channels, n_times) | None
        Attribution maps computed already, one per epoch (e.g. the output of
        :func:`mne_xai.explain`), instead of ``method``.
    target : None | "true" | int | str
        The class whose logit is perturbed and explained, as in
        :func:`mne_xai.explain`: None is each epoch's predicted class.
    """
_RUN_PARAMETERS = """batch_size : int
        Number of epochs evaluated at once; memory grows with it, not with the
        number of epochs.
    device : str | torch.device | None
        Where to compute; None uses the estimator's device.
    random_state : int | None
        Seed for the random draws. Patches, noise, random deletions and the
        draws of a stochastic ``method`` are made per epoch, so they do not
        depend on ``batch_size``.
    shortcuts : bool
        Score perturbed epochs through exact speed shortcuts (the network's
        first block factored into spatial and temporal filters, window
        scores) where they reproduce the network's logits on the data; any
        failure to build or verify them falls back to the network itself,
        with a log line. False always uses the network (slower; for checks).
    %(verbose)s
    **params
        Parameters of ``method``, passed to :func:`mne_xai.explain`."""


def _fill_parameters(function):
    """Share the parameter descriptions every measure has in common."""
    function.__doc__ = function.__doc__.replace(
        "COMMON_PARAMETERS\n    ", _COMMON_PARAMETERS
    ).replace("RUN_PARAMETERS", _RUN_PARAMETERS)
    return function
