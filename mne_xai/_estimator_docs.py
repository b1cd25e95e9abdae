"""The docstring text the classifiers of :mod:`mne_xai.estimators` share.

Their parameters, attributes and notes are the same but for the default
network, which :func:`classifier_docstring` fills in.
"""

_PARAMETERS = """
    Parameters
    ----------
    module : subclass of torch.nn.Module | torch.nn.Module | None
        The network class; ``None`` means {module}. It is built at ``fit`` with
        the shapes of the data under the names its constructor takes:
        ``n_channels``, ``n_classes``, ``n_times``, ``sfreq`` and
        ``input_scale`` (as :mod:`mne_xai.models` name them) or braindecode's
        ``n_chans``, ``n_outputs``, ``n_times``, ``sfreq`` and ``chs_info``;
        plus any ``module__<name>`` parameter (e.g. ``module__F1=4``), which
        ``get_params``/``set_params`` and ``GridSearchCV`` see like any other
        parameter. A network that takes no ``input_scale`` is wrapped in
        :class:`~mne_xai.models.ScaledInput`, so it also sees unit-variance
        input. An instance is copied at ``fit`` and the copy trained, from the
        weights it has (a pretrained network is fine-tuned); the instance
        itself is left as given, so clones and folds start from the same
        weights.
    criterion : subclass of torch.nn.Module
        The loss, applied to the logits. ``predict_proba`` gives their softmax
        whatever the loss, unless skorch's ``predict_nonlinearity`` is set.
        ``torch.nn.NLLLoss``, which reads log-probabilities, is refused.
    optimizer : subclass of torch.optim.Optimizer
        The optimizer; its options are set with ``optimizer__<name>``.
    lr : float
        Learning rate, a finite number of at least 0 (0 leaves the network
        as it was built).
    max_epochs : int | "auto"
        Number of passes over the training data. ``"auto"`` gives at least
        1,000 optimizer steps, within 20 to 500 epochs (see
        :func:`mne_xai.estimators.training_schedule`, applied to the epochs
        trained on, without those ``early_stopping`` holds out); the number
        used is ``max_epochs_``.
    batch_size : int | "auto"
        Number of epochs per mini-batch in training, and per batch where the
        estimator computes its outputs (``predict``, ``predict_proba``,
        ``score``, ``adapt_batch_norm``), which do not depend on it.
        ``"auto"`` grows with the square root of the number of training
        epochs, as a power of two from 8 to 64; the size chosen is
        ``batch_size_``. A number set on a fitted estimator (``set_params``)
        batches its predictions at once, and its training from the next
        ``fit`` or ``partial_fit``, which set ``batch_size_`` to it.
        The functions that take a ``batch_size`` of their own
        (:func:`mne_xai.explain` and most of :mod:`mne_xai.evaluate` and
        :mod:`mne_xai.inspect`) batch by it, not by this one.
    picks : str | list of str | list of int | slice | None
        Channels of Epochs to train on, as in MNE (names, channel types such as
        ``["eeg", "eog"]``, indices, or ``"all"``). None means the good data
        channels: EEG (and MEG, sEEG, ECoG, DBS, fNIRS) without stimulus,
        EOG, ECG, EMG or misc channels and without the channels in
        ``info["bads"]`` (a log line names those). As in MNE, channel types and
        ``"all"`` leave the bad channels out too; names and indices keep them,
        in the order given. Stimulus channels hold the events, and so the
        labels: pick them only to show that leak. Data given later are read
        from the same channels, by name. Arrays are used as they are: with
        ``info``, ``picks`` must keep all its channels; without, it must be
        None or ``"all"``.
    scaling : "auto" | float
        Factor applied to the data before the first layer. MNE stores volts, which
        networks train poorly on; ``"auto"`` uses one over the standard deviation
        of the training data, so the network sees unit variance whatever unit the
        data came in. Channels of several types (e.g. MEG magnetometers in T,
        gradiometers in T/m, EEG and EOG both in V) get a factor per channel
        type, as MNE's decoders scale them: one factor for all would leave the
        channels of the smaller amplitude invisible to the network, as EEG of
        10 µV beside an EOG of 300 µV or an ECG of 1 mV. Channels of one type
        share a factor, which keeps their relative amplitudes. A number is
        applied to every channel (with a warning where channel types differ
        more than tenfold in amplitude: the smaller would read near flat). The
        factors are stored in the module
        (``input_scale``), so the fitted module takes data in the unit it was
        given, and attributions are with respect to that data.
    lr_schedule : "cosine" | None
        ``"cosine"`` anneals the learning rate to zero over the training
        epochs (a :class:`skorch.callbacks.LRScheduler`); ``None`` keeps it
        constant. :meth:`partial_fit` keeps it constant. A
        :class:`~skorch.callbacks.LRScheduler` among ``callbacks`` replaces
        the cosine schedule.
    early_stopping : bool
        If True, hold out a stratified ``validation_fraction`` of the training
        data, stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs, and restore the best weights.
        :meth:`partial_fit` trains on the whole chunk, without early stopping
        (as scikit-learn's MLPClassifier).
    validation_fraction : float
        Fraction of the training data held out when ``early_stopping=True``.
    n_iter_no_change : int
        Patience of early stopping, in epochs.
    random_state : int | None
        Seed for weight initialization, shuffling, dropout and the validation
        split. An int makes training reproducible on the CPU; the global torch
        random state is left untouched.
    info : mne.Info | None
        Measurement info for data given as arrays: its sampling rate sets the
        kernel lengths and it becomes ``info_``. Ignored when fitting on Epochs.
    device : str | torch.device
        Where the network runs, e.g. ``"cpu"`` or ``"cuda"``. Apple's
        ``"mps"`` is refused: it has no float64, which the training
        statistics and attribution sums use.
    callbacks : list of skorch callbacks | None
        Extra callbacks (as ``(name, callback)`` tuples or callbacks).
    verbose : bool | str | int | None
        MNE's logging level while training, as in every mne_xai function: at
        ``"info"`` (True) and below, a line of progress per training epoch
        (coloured only on a terminal) goes to MNE's logger; False or
        ``"warning"`` trains silently. None follows
        :func:`mne.set_log_level`.
    train_split : callable | None
        A skorch train/validation splitter; overrides ``validation_fraction``.
    classes : array-like | None
        The class labels, in any order (``classes_`` holds them sorted);
        inferred from ``y`` when None.
    class_weight : dict | "balanced" | None
        Weights of the classes in the loss, as in scikit-learn. None weighs
        every epoch alike; ``"balanced"`` weighs each class by
        ``n_epochs / (n_classes * class_count)``, so a rare class counts as
        much as a frequent one; a dict maps class labels to weights (1 for
        the classes it leaves out). They are given to the loss as its
        ``weight`` (``torch.nn.CrossEntropyLoss`` takes it).
        A warm-start fit weighs by the counts of the data it is given. The
        first call of :meth:`partial_fit` refuses ``"balanced"`` (a chunk's
        counts are not the data's); after ``fit`` it keeps that fit's weights.
    time_shift : float
        Augmentation of the training epochs, in seconds: at every optimizer
        step each epoch is shifted in time by a random number of samples, up
        to ``time_shift`` either way (samples shifted out are dropped; those
        shifted in hold each channel's mean over the epoch). It tells the
        network what a small training set cannot: that the class does not
        hinge on the exact sample a feature falls on. The default, 50 ms either
        way, spans a whole cycle of the 10 Hz mu and alpha rhythms, so that
        the phase of an oscillation no longer tells the training trials
        apart, and stays within the trial-to-trial latency jitter of evoked
        responses. 0 trains on the epochs as they are: set it for
        classes that differ in the latency of a response by less than
        ``time_shift``. Prediction and explanations read the epochs as they
        are.
    spatial_init : "csp" | None
        How ``fit`` starts the network's spatial filters. None (default): the
        network's own random initialization. ``"csp"``: the common spatial
        patterns' filters of the training epochs (:class:`mne.decoding.CSP`;
        for EEGNet, of each temporal filter's output), the filters whose
        output power differs most between the classes, which CSP estimates
        in closed form from a few dozen trials (from Ledoit-Wolf shrunk
        covariances: plain CSP filters of so few trials fit the noise too,
        and the trained networks' attributions spread with them); training
        then adapts them like any other weight. On EEGBCI hands vs feet (36
        training trials) it lifted EEGNet from 0.875 to 0.914 (mean of 10
        seeds), and on left vs right fist from 0.551 to 0.642 (CSP+LDA
        0.631; see ``benchmarks/accuracy_settings.py``); it changes what the
        networks learn, and how well first-order attributions predict the
        removal of one channel, and is not the default (see the user guide).
        With early stopping the validation epochs are not read, and a large
        training set is read through a stratified sample of about 1,000
        epochs of 64 channels by 156 samples. A network without an
        ``initialize_spatial_filters(X, y)`` method (a user's module), or of
        one channel, keeps its own initialization; ``spatial_init_`` records
        the start used. The first :meth:`partial_fit` starts them from its
        chunk (which must hold two classes or more, or they keep the random
        start, with a warning); later calls and a warm-start ``fit`` keep the
        network they continue.
    iterator_train__shuffle : bool
        Shuffle the training epochs at every pass (torch's ``DataLoader``
        does not by default; epochs often come sorted by class or time).
    **kwargs
        Any other :class:`skorch.classifier.NeuralNetClassifier` parameter, and
        ``module__<name>``, ``optimizer__<name>``, ``iterator_train__<name>``
        prefixed parameters.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
        The class labels, as given in ``y`` (or the event codes of the Epochs).
    info_ : mne.Info | None
        The measurement info of the channels trained on (None for arrays
        without ``info``).
    ch_names_ : list of str | None
        The channels trained on, in the network's order (None for arrays
        without ``info``).
    event_id_ : dict | None
        The event names of the training Epochs (None for arrays), so that
        targets given by name resolve on any selection of epochs.
    events_are_labels_ : bool
        Whether the events of Epochs are read as class labels: True when ``y``
        was None or the training Epochs' event codes or names (and for arrays,
        whose labels no events contradict). When False, the classes may share
        codes with the events and mean others, so ``score`` needs ``y`` and
        explanations of ``target="true"`` are refused. Fitted on arrays, the
        estimator knows no events: those of Epochs are matched to its classes
        by name only (classes that are event names), never by code.
    batch_size_, max_epochs_ : int
        The batch size of the last training and the number of epochs chosen
        at fit (see ``batch_size`` and ``max_epochs``). Predictions are
        batched by ``batch_size_`` while ``batch_size`` is ``"auto"``, and
        by ``batch_size`` when it is a number, even one set since training.
    spatial_init_ : "csp" | None
        How the spatial filters were started (see ``spatial_init``): None
        where ``"csp"`` had nothing to start (one channel, a network without
        ``initialize_spatial_filters``, training epochs of one class).
        Saved and restored with the parameters (``save_params``).
    class_weight_ : ndarray, shape (n_classes,) | None
        The loss weight of each class of ``classes_`` (see ``class_weight``);
        None when every epoch weighs alike.
    module_ : torch.nn.Module
        The trained network. It maps data in the training unit, shape
        ``(batch, n_channels, n_times)``, to one logit per class.
    input_scale_ : float | ndarray, shape (n_channels,)
        The factor applied to the data before the first layer; one per channel
        when the channels are of several types.
    n_channels_, n_times_ : int
        Shape of one training epoch.
    tmin_ : float | None
        The time of the training epochs' first sample (None for arrays);
        Epochs given later that start elsewhere get a warning.
    baseline_ : tuple of float | None | "unknown"
        The training epochs' ``baseline`` (None when they were not
        baseline-corrected, ``"unknown"`` for arrays, which do not say);
        Epochs given later that were corrected over another period get a
        warning.
    eeg_reference_ : str | None
        The reference the training EEG shows: ``"average"`` (the EEG channels
        sum to zero), the name of the channel referenced to (it holds zeros),
        or None (neither, or data without info). Epochs given later that show
        another get a warning.
    data_mean_ : ndarray, shape (n_channels, n_times)
        The mean training epoch (a baseline for attribution methods).
    data_std_ : float | ndarray, shape (n_channels,)
        The standard deviation of the training data (for each channel, that of
        the channels of its type, when there are several types); data given
        later whose channels of a type differ from it by more than a factor of
        100 (e.g. volts instead of microvolts) get a warning naming the type.
    history : skorch.History
        Per-epoch losses and timings.
"""

_NOTES = """
    Notes
    -----
    ``fit`` accepts :class:`mne.Epochs`, a list of Epochs (what scikit-learn's
    cross-validation hands over when it indexes an Epochs object; a list given
    to it counts each Epochs as one sample, see ``fit``) or an array of shape
    ``(n_epochs, n_channels, n_times)``. With Epochs and ``y=None``,
    the labels are ``epochs.events[:, 2]``. ``predict`` returns labels in the
    same coding as ``y``. Data given at prediction must match training in
    channels (by name for Epochs, which may hold others or another order; by
    position for arrays), sampling rate and number of samples.

    By default the batch size and the number of epochs follow the size of
    the training set (:func:`mne_xai.estimators.training_schedule`), so that
    30 trials and 100,000 both train for enough optimizer steps, and every
    step sees its epochs shifted in time by up to 50 ms (``time_shift``),
    which small training sets need most.

    The fitted parameters can be stored with ``save_params`` and restored into
    a new estimator with ``initialize(X, y)`` followed by ``load_params``
    (loading is weights-only, so a file cannot run code). The statistics of
    the training data that predictions and attributions depend on (input
    scale, mean epoch, standard deviation) are buffers of ``module_``, so they
    travel with ``save_params`` as with pickling. What ``initialize`` learns
    from its data is checked against the saved network: the channels in
    order, the classes, and the events naming them (Epochs given to
    ``initialize`` must hold the training events, with an epoch of each
    class). ``tmin_``, ``baseline_`` and ``eeg_reference_``, which only warn,
    are those of the data given to ``initialize``.
"""


def classifier_docstring(summary, module, see_also):
    """Assemble a classifier's docstring around the shared sections.

    Parameters
    ----------
    summary : str
        The docstring's summary and description, ending with a newline.
    module : str
        What ``module=None`` means: a reference to the default network class.
    see_also : list of str
        The names under See Also.

    Returns
    -------
    docstring : str
        The summary, Parameters and Attributes, See Also, and Notes.
    """
    see_also = "".join(f"    {name}\n" for name in see_also)
    return (
        summary
        + _PARAMETERS.format(module=module)
        + "\n    See Also\n    --------\n"
        + see_also
        + _NOTES
    )
