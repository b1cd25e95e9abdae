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
    :class:`~mne_xai.CroppedClassifier`, a Pipeline ending in one whose other
    steps are ``"passthrough"`` (the network's own input is explained), or a
    skorch or braindecode classifier."""

docdict["epochs"] = """\
epochs : mne.Epochs | list of mne.Epochs | array, shape (n_epochs, n_channels, n_times)
    The data, matching the training data in channels, rate and length."""

docdict["spatial_filter_data"] = """\
X : torch.Tensor, shape (n_epochs, n_channels, n_times)
    Training epochs, as the network reads them.
y : array, shape (n_epochs,)
    Class of each epoch."""

docdict["method"] = """\
method : str
    The attribution method; :func:`mne_xai.list_methods` lists them."""

docdict["method_explained"] = (
    docdict["method"]
    + """ The
    default, ``"deeplift"``, was found accurate and class-specific on
    simulated EEG and faithful, at the cost of one backward pass (see
    :ref:`guide-methods`)."""
)

docdict["method_checked"] = (
    docdict["method"]
    + """ The
    default, ``"saliency"``, is the gradient alone: it has no factor of the
    input, which keeps the maps of methods that multiply by it (gradient x
    input, integrated gradients, DeepLIFT, LRP) similar after any
    randomization (see ``threshold``), so the check reads what the map owes
    to the network. Pass the method whose maps you read
    (:func:`mne_xai.explain` defaults to ``"deeplift"``)."""
)

docdict["target"] = """\
target : None | "true" | int | str | array-like, shape (n_epochs,)
    The class whose logit is explained: None explains each epoch's
    predicted class; ``"true"`` its own class (from the events; refused
    where a class is also named "true"); a class label of the estimator or an event name of the epochs (e.g. ``"feet"``),
    or a tag of event names as in ``epochs["feet"]`` (``"feet"`` for
    ``"imagery/feet"``; a tag of several classes is an error);
    or an int index into ``estimator.classes_`` when it is not a label (an
    int that is a label and also another class's index, such as 1 with
    classes 1 and 2, is read as the label, with a warning). A sequence
    gives one such class per epoch."""

docdict["target_scored"] = (
    docdict["target"]
    + """
    With ``attribution`` maps of :func:`mne_xai.explain` (which records
    their target in their ``info["description"]``), None scores the class
    they explain, and a target that scores another class in any epoch is
    refused: its logit would lose relevance computed for another."""
)

docdict["batch_size"] = """\
batch_size : int
    Number of epochs computed at once; memory grows with it, not with the
    number of epochs."""

docdict["device"] = """\
device : str | torch.device | None
    Where to compute (``"cpu"``, ``"cuda"``, ``"cuda:1"``; not Apple's
    ``"mps"``, which lacks float64); None uses the estimator's device."""

docdict["random_state_type"] = (
    "random_state : int | numpy.random.Generator | numpy.random.RandomState | None"
)

docdict["random_state"] = (
    docdict["random_state_type"]
    + """
    Seed for the random draws. Each epoch draws from its own generator, so
    results do not depend on ``batch_size``. None draws a fresh seed; a NumPy
    generator gives one seed drawn from it. The global NumPy and torch random
    states are neither used nor changed."""
)

docdict["method_params"] = """\
**params
    Parameters of the method (see its class in :mod:`mne_xai.attribution`)."""

docdict["method_params_dict"] = """\
method_params : dict | None
    Parameters of the method, as ``**params`` takes them, under any name:
    also a name this function takes itself, which as a keyword is the
    function's (occlusion's ``mode`` in
    :func:`~mne_xai.evaluate.parameter_randomization_check`, the ``baseline``
    of integrated gradients in the faithfulness measures). A name given both
    here and as a keyword of the method is an error."""

docdict["removal_method_params"] = """\
**params
    Parameters of the method (see its class in :mod:`mne_xai.attribution`),
    but ``baseline``, which is what replaces removed samples here: methods
    that take a reference epoch (integrated gradients, DeepLIFT, the SHAP
    methods) explain from their default one unless it is given in
    ``method_params``, e.g. ``method_params=dict(baseline="mean")``. Not
    :func:`mne_xai.explain`'s own arguments: ``average`` is refused, as the
    measures score each epoch's map."""

docdict["method_evaluated"] = """\
method : str | None
    The attribution method to evaluate (see :func:`mne_xai.list_methods`);
    its maps are computed batch by batch with :func:`mne_xai.explain`. It
    has no default, as ``attribution`` (maps computed already) may stand in
    its place: give one of the two."""

docdict["attribution_given"] = """\
attribution : mne.Epochs | array, shape (n_epochs, n_channels, n_times) | None
    Attribution maps computed already, one per epoch (e.g. the output of
    :func:`mne_xai.explain`), instead of ``method``. Epochs are read by
    channel name; an array on the network's channels, in the network's
    order (refused when the epochs hold those channels in another order,
    which the array, e.g. of :func:`mne_xai.explain`'s output, could follow
    as well)."""

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
    Data matching the training data in channels, rate and length. A torch
    tensor is read as an array."""

docdict["network_forward"] = """\
Parameters
----------
x : torch.Tensor, shape (batch, n_channels, n_times)
    EEG in the unit the network was trained on (volts for the estimators'
    networks: the input scale is part of the module).

Returns
-------
logits : torch.Tensor, shape (batch, n_classes)
    One logit per class; no softmax."""

docdict["params_of"] = """\
params : dict | None
    The method's parameters, as given to :func:`mne_xai.explain`."""

docdict["epochs_list_cv"] = """\
In scikit-learn's cross-validation (``cross_val_score``,
    ``cross_val_predict``, searches) each Epochs of a list is one sample: the
    folds split the list by Epochs object, and ``cross_val_predict`` returns
    one prediction per object. Use ``mne.concatenate_epochs(runs)`` for folds
    over epochs."""

docdict["decision_scores"] = """\
For two classes, as for scikit-learn's classifiers, one score per epoch:
    the difference of the two logits, the log-odds of ``classes_[1]``
    (positive values predict it), which scorers such as ``"roc_auc"`` read.
    For more classes, the logits, columns ordered as ``classes_``."""

docdict["inputs_target"] = """\
inputs : torch.Tensor, shape (batch, n_channels, n_times)
    The data.
target : torch.Tensor of int64, shape (batch,)
    The class explained for each epoch."""

docdict["cam_layer"] = """\
layer : str | None
    Name of the module whose feature maps are weighed, e.g.
    ``"separable_elu"``; None picks the default layer, the output of
    the last convolution block: the first nonlinearity called after the
    last convolution and before the maps are flattened (``"separable_elu"``
    in EEGNet, ``"relu"`` in InterpretableCNN), else that convolution;
    the layers of attention gates, whose output only scales the maps they
    are computed from (squeeze-and-excitation, ECA, CBAM), are passed
    over. In a wrapped network, a name is the layer the wrapped network
    calls by it (as messages show it), else a path in the wrapper, whose
    prefix (``"module."``) may be left out. A CroppedClassifier is refused: the feature maps of its windows have no
    single time grid on the epoch. A layer that some of the input's paths
    to the logits bypass (parallel branches joined after it, a skip
    connection around it) is refused: its map would leave their evidence
    out. So is a layer whose batch axis holds more than the epochs (epochs
    x channels, for a temporal filter shared by all channels), and one
    with a row per channel whose rows are not the channels (after a
    spatial filter to as many virtual channels as electrodes)."""

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
    :func:`mne_xai.simulation.simulate_epochs`. MNE objects must hold the
    channels of ``attribution`` in its order; an array is read in that
    order (the maps of :func:`mne_xai.explain` are on the channels the
    network reads, in the order of the Epochs explained)."""

docdict["attribution_time_courses"] = """\
attribution : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_ch, n_times)
    Attribution maps, e.g. from :func:`mne_xai.explain`."""

docdict["ground_truth_time_courses"] = """\
ground_truth : mne.Epochs | mne.Evoked | array, shape (n_epochs, n_ch, n_times)
    Non-negative ground truth of the same shape, e.g. from
    :func:`mne_xai.simulation.simulate_epochs`. MNE objects must hold the
    channels of ``attribution`` in its order; an array is read in that
    order (the maps of :func:`mne_xai.explain` are on the channels the
    network reads, in the order of the Epochs explained)."""

docdict["relevance_sign"] = """\
sign : "absolute_value" | "positive"
    Relevance is the attribution's magnitude, or its positive part."""

docdict["mask_threshold"] = """\
threshold : float
    The mask holds the features whose ground truth is at least
    ``threshold`` times its epoch's maximum; in (0, 1]. A mask covering
    every feature of an epoch is refused: every map would score alike there."""

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
    The layer, by its name in the network (as messages show it), or in
    ``estimator.module_.named_modules()`` (a wrapper's prefix, such as a
    CroppedClassifier's ``"module."``, may be left out), or as the module (see :func:`~mne_xai.inspect.find_layer`),
    called once per
    forward pass. Its units are the second axis of its output: the feature
    maps of a convolution, the features of a dense layer."""

docdict["score_labels"] = """\
y : array-like | None
    True labels; with Epochs, None means ``epochs.events[:, 2]``. Epochs of
    an event the network saw no epoch of in training count as wrong, with a
    warning.
sample_weight : array-like | None
    Sample weights."""


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


# Many recordings (mne_xai.recordings). Appended after fill_doc: entries are
# read when a function is decorated, after this module is imported.

docdict["recordings"] = """\
recordings : list of (mne.Epochs | path-like)
    The recordings: Epochs, or paths of epochs ``.fif`` files, each read in
    its own task with ``mne.read_epochs(path, preload=False)`` so that only
    the batches being computed are in memory; as MNE reads them, projectors
    saved inactive (an average reference added with ``projection=True``) are
    applied. To explain a file without them, give the Epochs read your way
    (``mne.read_epochs(path, proj=False)``): loaded, for worker processes,
    or streamed from the file with ``n_jobs=1``. A missing file, or a folder,
    is an error before any work starts; a file that is not Epochs, when it
    is read. Epochs given are copied for their task (in worker processes, by
    sending them), so that what the function does to them, such as dropping
    epochs, stays out of the caller's."""

docdict["recording_ids"] = """\
ids : list of hashable | None
    One id per recording, in order. None takes them from ``id_column``, else
    from the file name (without ``.fif`` and an ``-epo`` or ``_epo``
    suffix), else the recording's position in ``recordings``. Ids must be
    unique.
id_column : str | None
    A metadata column holding the recording's id (e.g. ``"subject"``), the
    same in all of its epochs."""

docdict["n_jobs_recordings"] = """\
n_jobs : int | None
    Number of recordings processed at once, one :mod:`joblib` task per
    recording; -1 uses all cores. No more workers of this machine are started
    than there are recordings (one runs in this process). None means 1 unless
    inside a joblib context such as ``with joblib.parallel_backend("dask"):``,
    which then decides (Dask uses all threads of the cluster's workers). One
    job runs in this process, whatever the backend (as joblib runs it): a
    Dask cluster of one worker thread too."""

docdict["recording_results"] = """\
results : RecordingResults
    A dict from recording id to result, in the order of ``recordings``,
    complete: if any recording fails, or a worker dies, the call raises
    and returns nothing. ``results.to_frame()`` stacks the results' tables
    with the recording id in a first column (``id_column``, or
    ``"recording"``)."""

docdict["recordings_notes"] = """\
Each recording is one task of :class:`joblib.Parallel`, run on joblib's
active backend (loky processes by default; a Dask cluster inside
``with joblib.parallel_backend("dask"):``). The estimator is pickled once
per call and unpickled in each task, a copy of its own for every recording
(on Dask it travels with each task, so that Dask can retry the recordings
of a worker that died); a
recording's data go only to the worker that processes it, which drops them
when it is done. Results equal those of the serial run
(``n_jobs=1``) when random draws are seeded with ``random_state`` (a NumPy
generator given as ``random_state`` becomes one seed drawn from it before the
recordings are dispatched, the same for every recording, as an int is), to float
precision: torch's sums follow its number of threads, which a task sets
(see below), so maps may differ by a few parts in 1e8 and a task that
trains a network by more.

In each task, torch's intra-op threads are set to the machine's cores
divided by the number of tasks that run on it at once (at least 1, and never
more than the caller's :func:`torch.get_num_threads`, so that a limit set with
``OMP_NUM_THREADS`` or :func:`torch.set_num_threads` holds in the tasks too),
and restored afterwards, so that workers do not oversubscribe the cores: 2
workers on 8 cores use 4 threads each; on Dask, the threads of all workers
on a host share its cores. The serial run keeps torch's own setting, as do
tasks of joblib's threading backend, where the setting is shared by the
threads of one process.

The calls for each recording log warnings only (their progress bars and info
lines would interleave), unless ``verbose="debug"``. The warnings a
recording raises (e.g. data filtered otherwise than the training data, or in
other units: these checks of the data warn whatever ``verbose``) reach the
caller once per recording, followed by its id, in their order, after all
recordings are done, at the caller's line and at every call; from workers
too (loky or multiprocessing processes, and Dask workers of one thread
each), and from threads of this process (joblib's threading backend, the
workers of a Dask ``LocalCluster(processes=False)``), which share Python's
once-per-place memory of warnings: under Python's default filters, a
warning that several recordings raise alike (same message and line) there
is named by the first of them only. When a recording fails, its own
warnings and those of the recordings whose results had arrived come before
its error (joblib then stops the recordings still running and drops the
results it has not handed over yet, with their warnings). A Dask worker
running several threads keeps them in its output and log, which the call
warns of. Epochs given to worker processes
(loky, multiprocessing, Dask) must pickle: those read from a file without
preload hold it open and are refused (load them, or give their files); those
cut from a Raw without preload go with their Raw, or its file name. Progress
over recordings is reported as each is done: a progress bar on a terminal or
in a notebook, a log line per recording elsewhere (a log file, CI); joblib's
messages where results arrive all at the end (multiprocessing) or log lines
would be silenced (threads of this process, outside a terminal). A worker
that dies (e.g. out of memory) fails the call with an error that names the
recordings not done; Dask may first retry the recording on another worker."""
