"""Run deletion and the randomizations on each method and read them together."""

import time

import numpy as np
import pandas as pd
import torch
from mne.utils import _check_option, _validate_type, logger, verbose

from ..._checks import check_seed, compute_device
from ..._docs import fill_doc
from ..._graph import autograd_on
from ..._network import as_network
from ..._warnings import quietly, warn, warnings_once
from ...attribution import list_methods
from ...attribution._core import _event_id, private_module
from ...attribution._registry import check_comparable_across_channels
from .._chance import CHANCE_ALPHA, balanced_chance_test
from ..faithfulness import deletion_curve
from ..faithfulness._baselines import _check_baseline
from ..sanity import parameter_randomization_check, target_randomization_check
from ..sanity._compare import check_threshold, refuse_learned_patterns
from ._input_similarity import _partial_correlation
from ._readings import (
    _DELETES,
    ANCHOR,
    CONFIDENCE,
    _advice,
    _deletion_reading,
    _gain_reading,
    _leaves_range,
    _mean_interval,
    _randomization_reading,
    _reading,
    _target_reading,
)
from ._result import TrustSummary


def check_method_names(methods):
    """Return ``methods`` as a list, checked to name known methods once each."""
    _validate_type(methods, (list, tuple), "methods", "list of method names")
    if not methods:
        raise ValueError("methods is empty; give at least one method name.")
    for index, method in enumerate(methods):
        _validate_type(method, str, f"methods[{index}]")
        _check_option(f"methods[{index}]", method, list_methods())
    duplicated = sorted({m for m in methods if list(methods).count(m) > 1})
    if duplicated:
        raise ValueError(f"methods lists {duplicated} more than once.")
    return list(methods)


def _class_names(estimator, epochs):
    """Event name of each class of the estimator, where the data or training name it.

    Classes learned from labels other than the events keep their labels: the
    events' codes may equal them and name other classes.
    """
    names = {}
    if getattr(estimator, "events_are_labels_", True):
        names = {code: name for name, code in _event_id(estimator, epochs).items()}
    return [str(names.get(label, label)) for label in estimator.classes_]


def _class_gains(gain, target, names):
    """Mean gain over random deletion per class, with its interval and reading.

    The intervals hold at ``CONFIDENCE`` over all classes together
    (Bonferroni): one class above random makes a method "mixed", and on gains
    without any effect, 95 percent intervals per class read a method as
    above random or mixed in 5, 7, 9 and 12 percent of tests for 2 to 5
    classes.
    """
    classes = np.unique(target)
    confidence = 1 - (1 - CONFIDENCE) / len(classes)
    rows = []
    for index in classes:
        values = gain[target == index]
        mean, low, high = _mean_interval(values, confidence)
        rows.append(
            {
                "class": names[index],
                "n_epochs": len(values),
                "n_better": int((values > 0).sum()),
                "gain": mean,
                "gain_low": low,
                "gain_high": high,
                "deletion": _gain_reading(low, high),
            }
        )
    return pd.DataFrame(rows)


# Its checks explain each method many times over, each time checking the data
# and the method: their warnings would come as often.
@warnings_once()
@autograd_on
@verbose
@fill_doc
def trust_summary(
    estimator,
    epochs,
    methods: list[str] | tuple[str, ...],
    *,
    target="true",
    n_steps: int = 64,
    baseline: str = "zeros",
    threshold: float = 0.4,
    batch_size: int = 64,
    device=None,
    random_state: int | None = None,
    verbose=None,
) -> TrustSummary:
    """Read deletion and randomization together: how far to trust each method.

    For each method, the deletion curve (:func:`deletion_curve`) is compared,
    epoch by epoch, with the deletion of samples in random order (the
    ``"random"`` method, the chance anchor); the cascading
    :func:`parameter_randomization_check` tells whether the map changes once
    every layer is re-initialized; to tell why a map may not change, the
    fully randomized network's map is compared with the input's own magnitude
    :footcite:`AdebayoEtAl2018`; and :func:`target_randomization_check`
    tells whether the map changes when another class is explained
    :footcite:`SujathaRavindranContrerasVidal2023`. Each method then gets a
    reading a user can act on (see Notes).

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    methods : list of str
        The attribution methods (see :func:`mne_xai.list_methods`);
        ``"random"`` is the anchor and always included. A method whose maps
        are per unit of input (saliency) is refused before any work when the
        network reads channels of several types, as each check refuses it
        (its maps would compare the types' units and scales); leave it out.
        Each method runs with its default parameters (occlusion in
        ``mode="channel"``, integrated gradients from a zero baseline): the
        summary takes none. For others, run :func:`deletion_curve` and the
        checks with ``method_params``.
    %(target)s
        The default explains each epoch's own class.
    n_steps : int
        Number of deletion steps (see :func:`deletion_curve`).
    baseline : "zeros" | "mean" | "noise"
        What replaces deleted samples (see :func:`deletion_curve`).
    threshold : float
        The randomization check's cut on the Spearman correlation of absolute
        values (see :func:`parameter_randomization_check`); it is also applied
        to the similarity left beyond the input's magnitude, and to the signed
        Spearman correlation of the target randomization check.
    %(batch_size)s
    %(device)s
    %(random_state_type)s
        Seed of the random deletion order, the re-initialization and
        stochastic methods; None draws one, a NumPy generator one from it.
    %(verbose)s

    Returns
    -------
    summary : TrustSummary
        ``summary.table`` has one row per method (the index), the anchor
        ``"random"`` first, with columns ``aopc`` and ``aopc_std`` (mean and
        standard deviation over epochs of the area over the deletion curve,
        in logit), ``aopc_random`` (the anchor's mean); ``gain``,
        ``gain_low``, ``gain_high`` (mean over epochs of the method's AOPC
        minus the anchor's, and its 95 percent confidence interval);
        ``range_low``, ``range_high`` (the range of the logit over the
        intact and the fully deleted epochs), ``range_excursion`` and
        ``peak`` (how far the deletion curves leave that range, in widths of
        the range, and the logit farthest out); ``similarity``, ``similarity_low``,
        ``similarity_high`` (mean Spearman correlation of ``|map|`` between the
        trained and the fully randomized network, and its interval);
        ``input_similarity`` (the randomized map against the input's
        magnitude ``|x|``) and ``input_similarity_trained`` (the trained map
        against it); ``beyond_input`` (the mean partial correlation of the
        trained and randomized maps given ``|x|``); ``target_similarity``,
        ``target_similarity_low``, ``target_similarity_high`` (mean signed
        Spearman correlation of the maps of the explained class and of a
        random other class, and its interval); the labels ``deletion``,
        ``randomization`` and ``target_randomization``; ``advice``, what to do
        with the maps, in one sentence; and ``reading``, the advice and the
        evidence in words. ``summary.class_gains`` holds the gain per class,
        and the deletion curves and sanity checks themselves are kept for
        plotting.

    See Also
    --------
    deletion_curve, parameter_randomization_check, target_randomization_check,
    map_similarity

    Notes
    -----
    The readings follow from five rules, none tuned to a data set:

    1. **Deletion**, per class (each epoch is explained for its class, and
       the deleted epoch itself can favour a class): a class is *above
       random* when the 95 percent confidence interval (t distribution over
       its epochs; over all classes together, each class's at
       ``1 - 0.05 / n_classes``) of the paired gain over random deletion lies
       above 0,
       *below random* when it lies below 0, and *no better than random*
       otherwise; a class explained for one epoch only has *too few
       epochs*. A method gets the label its classes share; *mixed* when
       some are above random and others not; with none above random, *below
       random* if one is, else *no better than random*.
    2. Deletion is a fair test only while the deleted epochs stay near the
       data. The reading warns when the logit along a curve leaves the range
       between the intact and the fully deleted epochs by more than that
       range is wide: zeroing isolated samples cuts holes in the signal, and
       the network's answer to them, not the map, then drives the AOPC.
    3. **Randomization**: the map *changes* when its similarity after
       re-initializing every layer is below ``threshold``, the check's
       documented cut. The cut is a convention, not a boundary: a map at
       0.44 shares part of its ranking with the random network's map, and
       the question is what it shares. Maps that multiply a gradient by the
       input (gradient x input, integrated gradients, DeepLIFT, LRP on
       piecewise-linear networks) share ``|x|`` whatever the weights, as
       Adebayo et al. found. When the similarity's interval spans the cut,
       the reading says so.
    4. A map that does not change *keeps the input's structure* when the
       partial correlation of the trained and randomized maps given ``|x|``
       (what they share beyond the input's magnitude) falls below the same
       cut; otherwise it *keeps structure the weights do not explain* (the
       architecture's, or the method's own).
    5. **Target randomization**: the map is *class-specific* when the signed
       Spearman correlation of its maps for the explained class and for a
       random other class falls below ``threshold``, and the *same for every
       class* otherwise. Signed, because the other class's map of a two-class
       network is often the same map with its sign flipped, which is
       class-specific; saliency, an absolute value, cannot flip and is the
       same for both classes of such a network. A map that is the same for
       every class shows where the network is sensitive, not why it chose the
       explained class, whatever the other checks say.

    Deletion and randomization can rank methods in opposite orders:
    zeroing the large samples that input-weighted maps rank first moves the
    score most, while the same weighting keeps those maps similar after
    randomization. A map that beats random deletion and keeps the input's
    structure is best read as "where the signal was large and the network
    was sensitive"; compare it with saliency, the gradient alone. The random
    anchor's maps do not depend on the network at all and are not put
    through the randomization checks. Target randomization adds two passes
    of each method (the maps of the explained and of another class) to the
    one per layer that parameter randomization takes.

    References
    ----------
    .. footbibliography::
    """
    # The anchor is always computed; it is not a method to check.
    checked = [m for m in check_method_names(methods) if m != "random"]
    if not checked:
        raise ValueError(
            'methods holds only "random", the anchor every method is compared '
            "with; name the methods to summarize (e.g. ['saliency', 'deeplift'])."
        )
    for method in checked:  # before any work, not after the first methods ran
        refuse_learned_patterns(method, "trust summary's parameter randomization")
    estimator = as_network(estimator)
    # One seed for every step, None drawing it once: the random anchor and
    # every step of a stochastic method draw alike, so that a method as
    # random as the anchor gains nothing over it (not two draws' difference).
    random_state = check_seed(random_state)
    if random_state is None:
        random_state = int(np.random.default_rng().integers(np.iinfo(np.int32).max))
    # Checked before any work: the readings name what deletion replaces samples
    # by, and "interpolate" replaces whole channels only.
    baseline = _check_baseline(baseline)
    _check_option("baseline", baseline, tuple(_DELETES))
    # The randomization checks' own, which run after the deletion curves.
    check_threshold(threshold)
    # Each check refuses maps per unit of input on channels of several types;
    # refused by the first check of such a method, the summary stopped after
    # the anchor and every method before it had run all their checks.
    data = estimator._check_prediction_input(epochs, "epochs")
    info = data.info if data.info is not None else estimator.info_
    for method in checked:
        check_comparable_across_channels(
            method, info, "the trust summary's deletion and randomization checks"
        )
    common = dict(
        target=target, batch_size=batch_size, device=device, verbose=quietly()
    )
    deletion = dict(common, n_steps=n_steps, baseline=baseline)
    start = time.perf_counter()
    curves = {
        "random": deletion_curve(
            estimator, epochs, "random", random_state=random_state, **deletion
        )
    }
    anchor = curves["random"].aopc
    if len(anchor) < 2:
        raise ValueError(
            f"trust_summary needs at least 2 epochs for its intervals, got "
            f"{len(anchor)}."
        )
    _, per_class = np.unique(curves["random"].target, return_counts=True)
    if per_class.max() < 2:
        raise ValueError(
            "trust_summary needs at least 2 epochs of one explained class for its "
            f"intervals, got {per_class.tolist()} epochs per class."
        )
    logger.info(
        f"Trust summary on {len(anchor)} epochs: random deletion (the anchor), "
        f"{time.perf_counter() - start:.1f} s"
    )
    if isinstance(target, str) and target == "true":
        _warn_if_at_chance(
            estimator, data, curves["random"].target, batch_size, device, random_state
        )
    names = _class_names(estimator, epochs)
    rows = {
        "random": dict(
            aopc=anchor.mean(),
            aopc_std=anchor.std(),
            aopc_random=anchor.mean(),
            deletion=ANCHOR,
        )
    }
    class_gains, checks, target_checks = {}, {}, {}
    for method in checked:
        start = time.perf_counter()
        curve = curves[method] = deletion_curve(
            estimator, epochs, method, random_state=random_state, **deletion
        )
        checks[method] = parameter_randomization_check(
            estimator,
            epochs,
            method,
            threshold=threshold,
            random_state=random_state,
            **common,
        )
        check = checks[method]
        target_check = target_checks[method] = target_randomization_check(
            estimator,
            epochs,
            method,
            threshold=threshold,
            random_state=random_state,
            **common,
        )
        class_gains[method] = _class_gains(curve.aopc - anchor, curve.target, names)
        rows[method] = _method_row(
            curve, anchor, check, target_check, class_gains[method], threshold
        )
        logger.info(
            f"  {method}: deletion {rows[method]['deletion']}; randomization: "
            f"{rows[method]['randomization']}; target randomization: "
            f"{rows[method]['target_randomization']} "
            f"({time.perf_counter() - start:.1f} s)"
        )
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "method"
    class_table = pd.concat(class_gains, names=["method", None]).droplevel(1)
    table["advice"] = [_advice(row) for _, row in table.iterrows()]
    table["reading"] = [
        _reading(row, class_table.loc[[method]], threshold, baseline)
        if method != "random"
        else _reading(row, None, threshold)
        for method, row in table.iterrows()
    ]
    return TrustSummary(
        table,
        class_table.reset_index(),
        names,
        curves,
        checks,
        target_checks=target_checks,
        threshold=threshold,
        baseline=baseline,
    )


def _warn_if_at_chance(estimator, data, true_index, batch_size, device, random_state):
    """Warn when the network tells the epochs' classes apart no better than chance.

    The readings say how the maps follow the network, whatever it learned: on
    two classes of identical epochs, a network at chance had integrated
    gradients read "above random" and "class-specific", and nothing said the
    network had learned nothing to explain.
    """
    predicted_index = getattr(estimator, "predicted_index", None)
    if predicted_index is not None:  # a network that predicts otherwise
        predicted = predicted_index(data)
    else:
        device = compute_device(device, estimator)
        module = private_module(estimator, device)
        with torch.no_grad():
            predicted = np.concatenate(
                [
                    module(torch.from_numpy(batch).to(device)).argmax(dim=1).cpu()
                    for batch in data.batches(batch_size)
                ]
            )
    balanced, p_value = balanced_chance_test(true_index, predicted, random_state)
    if p_value >= CHANCE_ALPHA:
        warn(
            f"The network tells the classes of these epochs apart no better than "
            f"chance: balanced accuracy {balanced:.2f}, against "
            f"{1 / len(np.unique(true_index)):.2f} by chance (one-sided permutation "
            f"test of the labels, p = {p_value:.2g}). The readings say how its maps "
            "follow the network, but it has learned nothing here that separates "
            "the classes: the maps explain noise, not evidence in the data."
        )


def _method_row(curve, anchor, check, target_check, class_gains, threshold):
    """One method's row of the summary: its figures and their readings."""
    target_similarity, target_low, target_high = _mean_interval(
        target_check.similarity[target_check.metric][0]
    )
    # After the last step every layer is re-initialized.
    similarities = dict(
        maps=check.similarity["spearman_abs"][-1],
        trained_input=check.input_similarity[0],
        randomized_input=check.input_similarity[-1],
    )
    gain_mean, gain_low, gain_high = _mean_interval(curve.aopc - anchor)
    range_excursion, peak = _leaves_range(curve.scores)
    similarity, similarity_low, similarity_high = _mean_interval(similarities["maps"])
    beyond_input = np.nanmean(_partial_correlation(**similarities))
    return dict(
        aopc=curve.aopc.mean(),
        aopc_std=curve.aopc.std(),
        aopc_random=anchor.mean(),
        gain=gain_mean,
        gain_low=gain_low,
        gain_high=gain_high,
        range_excursion=range_excursion,
        peak=peak,
        range_low=curve.scores[:, [0, -1]].min(),
        range_high=curve.scores[:, [0, -1]].max(),
        similarity=similarity,
        similarity_low=similarity_low,
        similarity_high=similarity_high,
        input_similarity=np.nanmean(similarities["randomized_input"]),
        input_similarity_trained=np.nanmean(similarities["trained_input"]),
        beyond_input=beyond_input,
        target_similarity=target_similarity,
        target_similarity_low=target_low,
        target_similarity_high=target_high,
        deletion=_deletion_reading(class_gains["deletion"]),
        randomization=_randomization_reading(similarity, beyond_input, threshold),
        target_randomization=_target_reading(target_similarity, threshold),
    )
