"""Why a map survives randomization: its similarity with the input's magnitude."""

import numpy as np

from ..sanity import map_similarity
from ..sanity._compare import (
    _explain_classes,
    _explained_batches,
    _random_seeds,
    _set_up,
)
from ..sanity._parameter_randomization import (
    _parameterized_layers,
    _randomized_estimators,
)


def _partial_correlation(maps, trained_input, randomized_input):
    """Correlation of two maps once the input's magnitude is accounted for.

    The partial correlation ``(r_ab - r_ax r_bx) / sqrt((1 - r_ax²)(1 - r_bx²))``
    of the trained (a) and randomized (b) maps given the input's magnitude
    (x), per epoch; NaN where a map equals the input's ranking exactly.
    """
    denominator = np.sqrt((1 - trained_input**2) * (1 - randomized_input**2))
    return np.divide(
        maps - trained_input * randomized_input,
        denominator,
        out=np.full_like(maps, np.nan),
        where=denominator > 0,
    )


def _input_similarities(
    estimator, epochs, method, *, target, threshold, batch_size, device, random_state
):
    """Similarities of trained and fully randomized maps with each other and |x|.

    The randomized network is the last step of
    :func:`parameter_randomization_check` with the same ``random_state``: the
    same validation draws the same seeds in the same order, so the maps are
    those the check compared.

    Returns
    -------
    similarities : dict of str to ndarray, shape (n_epochs,)
        ``"maps"`` (trained vs randomized map), ``"trained_input"`` and
        ``"randomized_input"`` (each map vs the input's magnitude), all by
        Spearman correlation of absolute values.
    """
    setup = _set_up(
        estimator,
        epochs,
        method,
        target=target,
        metric="spearman_abs",
        threshold=threshold,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        params={},
    )
    layers = _parameterized_layers(estimator, setup.request.shape[1:])
    *_, (_, randomized) = _randomized_estimators(
        estimator, layers, _random_seeds(setup.rng, len(layers)), cascading=True
    )
    similarities = {"maps": [], "trained_input": [], "randomized_input": []}
    for _, _, batch, classes in _explained_batches(estimator, setup):
        trained, random_maps = (
            _explain_classes(network, batch, classes, method, setup.explain_params)
            for network in (estimator, randomized)
        )
        # spearman_abs ranks |values|, so the batch itself stands for |x|.
        for key, (first, second) in dict(
            maps=(trained, random_maps),
            trained_input=(trained, batch),
            randomized_input=(random_maps, batch),
        ).items():
            similarities[key].append(map_similarity(first, second))
    return {key: np.concatenate(values) for key, values in similarities.items()}
