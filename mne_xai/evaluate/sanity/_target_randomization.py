"""Target randomization: explain a random other class than the original one."""

import numpy as np
from mne.utils import verbose

from ..._docs import fill_doc
from ..._graph import autograd_on
from ..._network import as_network
from ..._warnings import warnings_once
from ...attribution._core import method_parameters
from ._compare import _compare_to_variants, _set_up
from ._result import SanityCheckResult


@warnings_once()
@autograd_on
@verbose
@fill_doc
def target_randomization_check(
    estimator,
    epochs,
    method: str = "saliency",
    *,
    target=None,
    metric: str = "spearman",
    threshold: float = 0.4,
    batch_size: int = 64,
    device=None,
    random_state: int | None = None,
    method_params: dict | None = None,
    verbose=None,
    **params,
) -> SanityCheckResult:
    """Compare the maps of the explained class with those of a random other class.

    A class-specific method gives different maps when asked why the network
    would decide for another class; a method whose maps are the same for every
    class does not explain the decision :footcite:`AdebayoEtAl2018`,
    :footcite:`SujathaRavindranContrerasVidal2023`.

    Parameters
    ----------
    %(estimator)s
        It is not modified: randomization happens on copies.
    %(epochs)s
    %(method)s The
        default, ``"saliency"``, is that of the other sanity checks (see
        :func:`parameter_randomization_check`), so that called alike they
        check one method. Pass the method whose maps you read
        (:func:`mne_xai.explain` defaults to ``"deeplift"``).
    %(target)s
        This is the class of the original maps; the randomized maps explain,
        for each epoch, a class drawn at random among the others.
    metric : "spearman" | "spearman_abs" | "ssim" | "pearson"
        The measure of :func:`map_similarity` the verdict rests on. The
        default is the signed Spearman rank correlation: a class-specific map
        may differ from the other class's mostly in sign (see Notes), which the
        correlation of absolute values cannot see.
    threshold : float
        The method passes when the mean of ``metric`` over epochs falls below
        this value (see :class:`SanityCheckResult`).
    %(batch_size)s
    %(device)s
    %(random_state_type)s
        Seed of the random classes (and of stochastic methods).
    %(method_params_dict)s
    %(verbose)s
    %(method_params)s

    Returns
    -------
    result : SanityCheckResult
        One step, ``"target"``.

    See Also
    --------
    parameter_randomization_check, data_randomization_check

    Notes
    -----
    With two classes whose logits move in opposite directions, the other
    class's map of a signed method is the original one with the sign flipped:
    the signed Spearman correlation is then near -1, while the correlation of
    absolute values stays near 1: the verdict rests on the signed one. Maps
    that are absolute values by construction (saliency) cannot change sign and
    are the same for every class of such a network, which is why Sujatha
    Ravindran & Contreras-Vidal found saliency not class-specific.

    References
    ----------
    .. footbibliography::
    """
    estimator = as_network(estimator)
    classes = np.asarray(estimator.classes_).tolist()
    if len(classes) < 2:
        raise ValueError(
            "Target randomization explains another class than the original one, "
            f"and the network has one class ({classes}): there is no other class "
            "to explain. Check the method with parameter_randomization_check, "
            "which needs no other class."
        )
    setup = _set_up(
        estimator,
        epochs,
        method,
        target=target,
        metric=metric,
        threshold=threshold,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        params=method_parameters(params, method_params),
    )
    # An offset in 1..n_classes-1 picks each other class with equal probability.
    class_offsets = setup.rng.integers(1, len(estimator.classes_), size=setup.n_epochs)
    return _compare_to_variants(
        estimator,
        method,
        setup,
        check="target",
        steps=["target"],
        variants=[estimator],
        class_offsets=class_offsets,
    )
