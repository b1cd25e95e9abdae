"""Explanation and evaluation over recordings, built on :func:`~mne_xai.recordings.map_recordings`."""

import inspect
from collections.abc import Callable, Sequence

from mne.utils import _check_option, _validate_type, verbose

from .. import evaluate as _evaluate
from .._docs import fill_doc
from .._network import as_network
from ..attribution import explain
from ..attribution._core import check_method_parameters, method_parameters
from ._map import map_recordings
from ._results import RecordingResults
from ._sources import _check_channel_order, _check_recordings


def _check_at_the_door(estimator, recordings, ids, id_column):
    """Fail at the door, not once per recording, on what cannot be explained."""
    network = as_network(estimator)  # refuses what is no network, or unfitted
    if hasattr(network, "check_is_fitted"):  # skorch's check, as in predict
        network.check_is_fitted()
    _check_channel_order(*_check_recordings(recordings, ids, id_column), network)


@verbose
@fill_doc
def explain_recordings(
    estimator,
    recordings: Sequence,
    method: str = "deeplift",
    *,
    average: bool = True,
    ids: Sequence | None = None,
    id_column: str | None = None,
    n_jobs: int | None = None,
    verbose=None,
    **explain_params,
) -> RecordingResults:
    """Explain a fitted network's decisions on each of many recordings.

    Calls :func:`mne_xai.explain` once per recording, in parallel with
    ``n_jobs``.

    Parameters
    ----------
    %(estimator)s
    %(recordings)s
    %(method_explained)s
    average : bool
        If True (default), each recording's maps are averaged over its epochs
        as they are computed, and an :class:`mne.EvokedArray` is returned per
        recording: a worker's memory grows with ``batch_size``, not with the
        number of epochs. False returns every epoch's map
        (:class:`mne.EpochsArray`), which the calling process then holds for
        all recordings.
    %(recording_ids)s
    %(n_jobs_recordings)s
    %(verbose)s
    **explain_params
        Further arguments of :func:`mne_xai.explain`: ``target``,
        ``batch_size``, ``device``, ``random_state`` and the method's
        parameters. Pass ``random_state`` for stochastic methods to get the
        serial run's maps whatever ``n_jobs``.

    Returns
    -------
    %(recording_results)s
        Its values are the attributions of :func:`mne_xai.explain`, e.g. for
        :func:`mne.grand_average` (``list(results.values())``).

    See Also
    --------
    mne_xai.explain, mne_xai.recordings.evaluate_recordings,
    mne_xai.recordings.map_recordings

    Notes
    -----
    %(recordings_notes)s
    """
    _check_at_the_door(estimator, recordings, ids, id_column)
    explain_arguments = inspect.signature(explain).parameters
    check_method_parameters(
        method, {k: v for k, v in explain_params.items() if k not in explain_arguments}
    )
    _validate_type(average, bool, "average")
    return map_recordings(
        explain,
        estimator,
        recordings,
        ids=ids,
        id_column=id_column,
        n_jobs=n_jobs,
        method=method,
        average=average,
        **explain_params,
    )


def _recording_measures():
    """Names of the measures of :mod:`mne_xai.evaluate` that take estimator, epochs."""
    names = []
    for name in _evaluate.__all__:
        function = getattr(_evaluate, name)
        if not inspect.isfunction(function):
            continue
        parameters = list(inspect.signature(function).parameters)
        if parameters[:2] == ["estimator", "epochs"]:
            names.append(name)
    return sorted(names)


@verbose
@fill_doc
def evaluate_recordings(
    estimator,
    recordings: Sequence,
    measure: str | Callable,
    *,
    ids: Sequence | None = None,
    id_column: str | None = None,
    n_jobs: int | None = None,
    verbose=None,
    **measure_params,
) -> RecordingResults:
    """Evaluate attributions on each of many recordings.

    Calls a faithfulness measure or sanity check of :mod:`mne_xai.evaluate`
    once per recording, in parallel with ``n_jobs``;
    ``results.to_frame()`` puts every recording's table in one, with the
    recording id.

    Parameters
    ----------
    %(estimator)s
    %(recordings)s
    measure : str | callable
        The measure: a function of :mod:`mne_xai.evaluate` that takes the
        estimator and the epochs (e.g. ``"deletion_curve"``,
        ``"perturbation_test"``, ``"parameter_randomization_check"``), by
        name or itself; or any function called as
        ``measure(estimator, epochs, **measure_params)``.
    %(recording_ids)s
    %(n_jobs_recordings)s
    %(verbose)s
    **measure_params
        Arguments of the measure, e.g. ``method="deeplift"``, ``n_steps``,
        ``random_state`` (pass it for results identical to the serial run).
        Attributions are computed per recording from ``method``; an
        ``attribution`` computed beforehand cannot be shared by recordings.

    Returns
    -------
    %(recording_results)s
        Its values are the measure's results (e.g.
        :class:`~mne_xai.evaluate.CurveResult`);
        :meth:`~mne_xai.recordings.RecordingResults.to_frame` stacks their
        tables.

    See Also
    --------
    mne_xai.recordings.explain_recordings, mne_xai.recordings.map_recordings

    Notes
    -----
    %(recordings_notes)s
    """
    if isinstance(measure, str):
        _check_option("measure", measure, _recording_measures())
        measure = getattr(_evaluate, measure)
    _validate_type(measure, "callable", "measure", "str (a measure's name) or callable")
    if "attribution" in measure_params:
        raise ValueError(
            "attribution cannot be given to evaluate_recordings: each recording "
            "needs its own maps. Pass method= to compute them per recording."
        )
    _check_at_the_door(estimator, recordings, ids, id_column)
    method = measure_params.get("method")
    if isinstance(method, str):
        # The measures of mne_xai pass the parameters they do not take to it,
        # and those of their method_params.
        own = inspect.signature(measure).parameters
        ours = any(
            measure is getattr(_evaluate, name) for name in _recording_measures()
        )
        if ours:
            given = {k: v for k, v in measure_params.items() if k not in own}
            if "method_params" in own:
                given = method_parameters(given, measure_params.get("method_params"))
            check_method_parameters(method, given)
    return map_recordings(
        measure,
        estimator,
        recordings,
        ids=ids,
        id_column=id_column,
        n_jobs=n_jobs,
        **measure_params,
    )
