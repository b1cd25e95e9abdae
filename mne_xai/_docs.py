"""Parameter descriptions shared by the public docstrings, as MNE's ``docdict``.

A docstring names an entry as ``%(name)s``; :func:`fill_doc` puts the entry
there, indented to the docstring. Entries are written without the
docstring's own indentation: the first line flush, the rest by four spaces.
``%(verbose)s`` is MNE's own text, so it reads as it does in MNE.
"""

from mne.utils.docs import docdict as _mne_docdict

docdict = {}

docdict["verbose"] = _mne_docdict["verbose"].strip("\n")

docdict["estimator"] = """\
estimator : estimator
    A fitted classifier that meets the model contract (see
    :func:`mne_xai.as_network`): an estimator of mne_xai, a
    :class:`~mne_xai.CroppedClassifier`, a Pipeline ending in one, or a
    skorch or braindecode classifier."""

docdict["epochs"] = """\
epochs : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
    The data, matching the training data in channels, rate and length."""

docdict["method"] = """\
method : str
    The attribution method; :func:`mne_xai.list_methods` lists them."""

docdict["target"] = """\
target : None | "true" | int | str | array-like, shape (n_epochs,)
    The class whose logit is explained: None explains each epoch's
    predicted class; ``"true"`` its own class (from the events); a class
    label of the estimator or an event name of the epochs (e.g. ``"feet"``);
    or an int index into ``estimator.classes_`` when it is not a label.
    A sequence gives one such class per epoch."""

docdict["batch_size"] = """\
batch_size : int
    Number of epochs computed at once; memory grows with it, not with the
    number of epochs."""

docdict["device"] = """\
device : str | torch.device | None
    Where to compute; None uses the estimator's device."""

docdict["random_state"] = """\
random_state : int | None
    Seed for the random draws. Each epoch draws from its own generator, so
    results do not depend on ``batch_size``. None draws a fresh seed. The
    global NumPy and torch random states are neither used nor changed."""

docdict["method_params"] = """\
**params
    Parameters of the method (see its class in :mod:`mne_xai.attribution`)."""

docdict["method_evaluated"] = """\
method : str | None
    The attribution method to evaluate (see :func:`mne_xai.list_methods`);
    its maps are computed batch by batch with :func:`mne_xai.explain`."""

docdict["attribution_given"] = """\
attribution : mne.Epochs | array, shape (n_epochs, n_channels, n_times) | None
    Attribution maps computed already, one per epoch (e.g. the output of
    :func:`mne_xai.explain`), instead of ``method``."""

docdict["shortcuts"] = """\
shortcuts : bool
    Score perturbed epochs through exact speed shortcuts (the network's
    first block factored into spatial and temporal filters, window
    scores) where they reproduce the network's logits on the data; any
    failure to build or verify them falls back to the network itself,
    with a log line. False always uses the network (slower; for checks)."""

docdict["sanity_verdict"] = """\
metric : "spearman_abs" | "spearman" | "ssim" | "pearson"
    The measure of :func:`~mne_xai.evaluate.map_similarity` the verdict rests
    on. The default, Spearman rank correlation of absolute values, asks
    whether the same samples still matter most, whatever their sign.
threshold : float
    The method passes when the mean of ``metric`` over epochs falls below
    this value (see :class:`~mne_xai.evaluate.SanityCheckResult`). The default
    0.4 lies below what the input alone gives: maps that multiply a gradient
    by the input (gradient x input, integrated gradients, DeepLIFT, LRP) keep
    a rank correlation of absolute values of about 0.5 even with a random
    network and fail, as Adebayo et al. noted for gradient x input, whose
    maps stay dominated by the input; their signed correlations
    (``metric="spearman"``) fall to about 0."""

docdict["X_predict"] = """\
X : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
    Data matching the training data in channels, rate and length."""

docdict["inputs_target"] = """\
inputs : torch.Tensor, shape (batch, n_channels, n_times)
    The data.
target : torch.Tensor of int64, shape (batch,)
    The class explained for each epoch."""

docdict["cam_layer"] = """\
layer : str | None
    Name of the module whose feature maps are weighed, e.g.
    ``"separable_elu"``; None picks the default layer (the output of
    the last convolution block, see :mod:`mne_xai.attribution.cam`)."""

docdict["cam_relu"] = """\
relu : bool
    Keep only the positive part of the map, as in the paper; False keeps
    its negative part too."""

docdict["cam_attribution"] = """\
attribution : torch.Tensor, shape (batch, n_channels, n_times)
    The map on the input's samples (the same on every channel when
    the layer has no channel axis)."""

docdict["attribution_maps"] = """\
attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
    Attribution maps, e.g. from :func:`mne_xai.explain`."""

docdict["ground_truth_maps"] = """\
ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, ...)
    Non-negative ground truth of the same shape, e.g. from
    :func:`mne_xai.simulation.simulate_epochs`."""

docdict["attribution_time_courses"] = """\
attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_ch, n_times)
    Attribution maps, e.g. from :func:`mne_xai.explain`."""

docdict["ground_truth_time_courses"] = """\
ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_ch, n_times)
    Non-negative ground truth of the same shape, e.g. from
    :func:`mne_xai.simulation.simulate_epochs`."""

docdict["relevance_sign"] = """\
sign : "absolute_value" | "positive"
    Relevance is the attribution's magnitude, or its positive part."""

docdict["mask_threshold"] = """\
threshold : float
    The mask holds the features whose ground truth is at least
    ``threshold`` times its epoch's maximum; in (0, 1]."""

docdict["ref_arras2022"] = """\
.. [1] Arras L, Osman A, Samek W (2022). CLEVR-XAI: A benchmark dataset for
       the ground truth evaluation of neural network explanations.
       Information Fusion 81, 14-40.
       https://doi.org/10.1016/j.inffus.2021.11.008"""

docdict["ref_sujatha_ravindran2023"] = """\
.. [1] Sujatha Ravindran A, Contreras-Vidal J (2023). An empirical
       comparison of deep learning explainability approaches for EEG using
       simulated ground truth. Scientific Reports 13, 17709.
       https://doi.org/10.1038/s41598-023-43871-8"""

docdict["unit_layer"] = """\
layer : str | torch.nn.Module
    The layer, by its name in ``estimator.module_.named_modules()`` or as
    the module (see :func:`~mne_xai.inspect.find_layer`), called once per
    forward pass. Its units are the second axis of its output: the feature
    maps of a convolution, the features of a dense layer."""


def _indentation(docstring):
    """Return the indentation of a docstring's body (its lines after the first)."""
    lines = [line for line in docstring.expandtabs().splitlines()[1:] if line.strip()]
    return min((len(line) - len(line.lstrip()) for line in lines), default=0)


def fill_doc(obj):
    """Fill the ``%(name)s`` entries of ``obj``'s docstring from :data:`docdict`.

    Parameters
    ----------
    obj : callable | type
        The function or class whose docstring names entries.

    Returns
    -------
    obj : callable | type
        The same object, its docstring filled.
    """
    docstring = obj.__doc__
    if docstring:
        indent = " " * _indentation(docstring)
        indented = {
            name: text.replace("\n", "\n" + indent) for name, text in docdict.items()
        }
        try:
            obj.__doc__ = docstring % indented
        except (KeyError, TypeError, ValueError) as err:
            raise RuntimeError(
                f"Could not fill the docstring of {obj!r}: {err}"
            ) from err
    return obj
