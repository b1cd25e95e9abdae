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
