"""Accuracy of a network as the units of one layer are removed, in several orders."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from mne.utils import _check_option, _validate_type, logger, verbose

from .._checks import check_axes, check_positive_int, check_seed, compute_device
from .._convert import network_batches
from .._docs import fill_doc
from .._figure_text import plain_text
from .._graph import autograd_on
from .._labels import events_are_not_labels
from .._network import WindowAverage, as_network
from ..attribution._core import (
    _class_index,
    _event_id,
    _true_target_indices,
    _warn_if_events_coded_otherwise,
    private_module,
)
from ._activations import (
    batch_outputs,
    find_layer,
    hook_output,
    unit_contributions,
    unit_output,
)

#: Largest relative difference between a pass scoring several masks and
#: passes scoring one, for the batched passes to be trusted (float rounding
#: of convolutions differs with the batch size).
_BATCHED_TOLERANCE = 1e-4


@dataclass(eq=False)  # arrays inside: compared by identity, as MNE's objects
class PruningCurve:
    """Accuracy of a network as the units of one layer are removed one by one.

    Returned by :func:`pruning_curve`; not meant to be built by hand.

    Attributes
    ----------
    layer : str
        The layer whose units were removed.
    accuracy : dict of str to ndarray, shape (n_units + 1,)
        For each ranking (``"sensitivity"``, ``"attribution"`` and those of
        ``scores``), the accuracy after removing its ``k`` first units, for
        ``k`` from 0 to ``n_units``.
    random_accuracy : ndarray, shape (n_random, n_units + 1)
        The same for each random order.
    orders : dict of str to ndarray of int, shape (n_units,)
        The units of each ranking, most important first.
    random_orders : ndarray of int, shape (n_random, n_units)
        The random orders.
    importance : dict of str to ndarray, shape (n_units,)
        The score each ranking sorts, per unit (see :func:`pruning_curve`).
    chance : float
        The accuracy of always predicting the most frequent class.
    """

    layer: str
    accuracy: dict
    random_accuracy: np.ndarray
    orders: dict
    random_orders: np.ndarray
    importance: dict
    chance: float

    @property
    def n_units(self):
        """Number of units in the layer."""
        return self.random_accuracy.shape[1] - 1

    @property
    def area(self):
        """Area under each curve, accuracy against the fraction of units removed.

        A lower area means accuracy falls faster: the order removes the units
        the network relies on first.

        Returns
        -------
        area : dict
            A float per ranking, and an array of shape (n_random,) for
            ``"random"``.
        """

        def trapezoid(curves):
            return ((curves[..., 1:] + curves[..., :-1]) / 2).mean(axis=-1)

        area = {
            order: float(trapezoid(self.accuracy[order])) for order in self.accuracy
        }
        area["random"] = trapezoid(self.random_accuracy)
        return area

    def to_frame(self):
        """Return every curve as a long table.

        Returns
        -------
        table : pandas.DataFrame
            Columns ``order`` (a ranking's name or ``"random"``), ``draw`` (the random order's number; 0 for the
            rankings), ``n_pruned``, ``fraction_pruned`` and ``accuracy``.
        """
        n_pruned = np.arange(self.n_units + 1)
        curves = [(order, 0, curve) for order, curve in self.accuracy.items()]
        curves += [
            ("random", draw, curve) for draw, curve in enumerate(self.random_accuracy)
        ]
        return pd.DataFrame(
            {
                "order": np.repeat([order for order, _, _ in curves], len(n_pruned)),
                "draw": np.repeat([draw for _, draw, _ in curves], len(n_pruned)),
                "n_pruned": np.tile(n_pruned, len(curves)),
                "fraction_pruned": np.tile(n_pruned / self.n_units, len(curves)),
                "accuracy": np.concatenate([curve for _, _, curve in curves]),
            }
        )

    @plain_text()
    def plot(self, *, axes=None, show=True):
        """Plot accuracy against the number of units removed.

        Parameters
        ----------
        axes : matplotlib.axes.Axes | None
            Where to draw; None makes a new figure.
        show : bool
            Show the figure.

        Returns
        -------
        fig : matplotlib.figure.Figure
            One line per ranking, named with its area (see ``area``);
            the mean of the random orders with a band of one standard
            deviation either side; the accuracy of always predicting the most
            frequent class dashed.
        """
        import matplotlib.pyplot as plt
        from mne.viz.utils import plt_show

        from .._figure_text import _wrap_text

        check_axes(axes)
        if axes is None:
            _, axes = plt.subplots(figsize=(8, 4), layout="constrained")
        n_pruned = np.arange(self.n_units + 1)
        area = self.area
        # Rankings often agree; markers and dashes that differ keep every
        # ranking visible where their curves lie on top of each other.
        styles = zip("osD^v<>", ["-", "--", ":", "-."] * 2, strict=False)
        for (order, curve), (marker, linestyle) in zip(
            self.accuracy.items(), styles, strict=False
        ):
            axes.plot(
                n_pruned,
                curve,
                marker=marker,
                markersize=4,
                linestyle=linestyle,
                label=_wrap_text(f"{order} order (area {area[order]:.2f})", 2.2),
            )
        mean = self.random_accuracy.mean(axis=0)
        std = self.random_accuracy.std(axis=0)
        label = (
            f"random ({len(self.random_accuracy)}), mean ± SD\n"
            f"(area {area['random'].mean():.2f})"
        )
        axes.plot(n_pruned, mean, color="0.3", label=label)
        axes.fill_between(n_pruned, mean - std, mean + std, color="0.3", alpha=0.2)
        axes.axhline(
            self.chance, color="k", linestyle="--", linewidth=1, label="majority class"
        )
        title = f"Pruning the {self.n_units} units of layer {self.layer!r}"
        axes.set(
            xlabel="units removed",
            ylabel="accuracy",
            # The legend takes about 2.5 inches beside the axes.
            title=_wrap_text(title, axes.figure.get_figwidth() - 2.5, "large"),
            xlim=(0, self.n_units),
        )
        axes.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize="small")
        plt_show(show)
        return axes.figure

    def __repr__(self):
        area = self.area
        described = ", ".join(f"{order} {area[order]:.3f}" for order in self.accuracy)
        return (
            f"<PruningCurve | layer {self.layer!r}, {self.n_units} units, area "
            f"{described}, random {area['random'].mean():.3f} ± "
            f"{area['random'].std():.3f}>"
        )


def _mean_output(network, data, layer, name, *, batch_size, device):
    """Return the layer's mean output over the epochs, shape (n_units, ...)."""
    total, n_rows = None, 0
    for _, output in batch_outputs(
        network, data, layer, batch_size=batch_size, device=device
    ):
        unit_output(output, name)
        batch_total = output.double().sum(dim=0)
        total = batch_total if total is None else total + batch_total
        # A network may run the layer on several rows per epoch (windows).
        n_rows += output.shape[0]
    return (total / n_rows).float()


def _ablation_masks(orders):
    """Masks keeping units (1) or removing them (0): for each order, k = 1..n-1.

    Returns
    -------
    masks : ndarray of float32, shape (n_orders * (n_units - 1) + 1, n_units)
        Row ``o * (n_units - 1) + k - 1`` removes the first ``k`` units of
        order ``o``; the last row removes every unit.
    """
    n_orders, n_units = orders.shape
    rank = np.argsort(orders, axis=1)  # each unit's position in each order
    removed_first = np.arange(1, n_units)[np.newaxis, :, np.newaxis]
    masks = (rank[:, np.newaxis, :] >= removed_first).reshape(-1, n_units)
    return np.concatenate([masks, np.zeros((1, n_units), bool)]).astype(np.float32)


class _Ablation:
    """A network whose units of one layer can be removed, several masks per pass.

    For each row of a mask array, the layer's output is repeated with the
    units masked out replaced by ``reference`` (0 or the mean output), so the
    network after the layer sees one copy of the batch per mask, stacked.
    Nothing of the network is changed outside :meth:`scores`.
    """

    def __init__(self, module, layer, name, reference):
        self.module, self.layer, self.name = module, layer, name
        self.reference = reference

    def scores(self, inputs, masks):
        """Return the decision scores under each mask, (n_masks, batch, n_classes)."""

        def hook(_inputs, output):
            kept = masks.reshape((len(masks), 1, -1) + (1,) * (output.ndim - 2))
            deviation = (output - self.reference).unsqueeze(0) * kept
            return (self.reference + deviation).flatten(0, 1)

        handle = hook_output(self.layer, self.name, hook)
        try:
            scores = decision_scores(self.module, inputs)
            return scores.reshape(len(masks), len(inputs), -1)
        finally:
            handle.remove()

    def masks_per_pass(self, inputs, scores, masks):
        """How many masks one pass can score: one per unit if exact, else one.

        Scoring several masks in one pass computes the network up to the
        layer once for all of them. It is exact when what follows the layer
        treats the copies of the batch independently; a network that mixes
        them, or reuses tensors from before the layer, fails this check (on
        ``inputs``, to float rounding) and is scored one mask at a time.
        """
        if len(masks) == 1:
            return 1
        probe = torch.stack([torch.ones_like(masks[0]), masks[0]])
        try:
            together = self.scores(inputs, probe)
            alone = self.scores(inputs, probe[1:])[0]
        except (RuntimeError, ValueError) as err:
            logger.info(f"Scoring one mask per pass: after layer {self.name!r}, {err}")
            return 1
        scale = max(scores.abs().max().item(), alone.abs().max().item(), 1e-30)
        difference = max(
            (together[0] - scores).abs().max().item(),
            (together[1] - alone).abs().max().item(),
        )
        if difference > _BATCHED_TOLERANCE * scale:
            logger.info(
                f"Scoring one mask per pass: the network after layer {self.name!r} "
                "does not treat copies of a batch independently."
            )
            return 1
        return masks.shape[1]


def decision_scores(module, inputs):
    """Return scores whose highest is the class the classifier predicts.

    A CroppedClassifier predicts the highest mean window probability, which
    the highest mean window logit (its module's output) need not be when
    windows disagree.
    """
    if isinstance(module, WindowAverage):
        return module.class_probabilities(inputs)
    return module(inputs)


def _accuracies(network, data, name, masks, target, reference, batch_size, device):
    """Accuracy of the network unpruned, then under each mask."""
    module = private_module(network, device, next(data.batches(1)))
    _, layer = find_layer(module, name)
    ablation = _Ablation(module, layer, name, reference)
    masks = torch.as_tensor(masks, device=device)
    correct = np.zeros(1 + len(masks))
    per_pass, start = None, 0
    with torch.no_grad():
        for batch in network_batches(network, data, batch_size, "pruning"):
            inputs = torch.from_numpy(batch).to(device)
            truth = torch.from_numpy(target[start : start + len(batch)]).to(device)
            start += len(batch)
            scores = decision_scores(module, inputs)
            correct[0] += (scores.argmax(dim=1) == truth).sum().item()
            if per_pass is None:
                per_pass = ablation.masks_per_pass(inputs, scores, masks)
            for first in range(0, len(masks), per_pass):
                chunk = masks[first : first + per_pass]
                predicted = ablation.scores(inputs, chunk).argmax(dim=2)
                hits = (predicted == truth).sum(dim=1).cpu().numpy()
                correct[1 + first : 1 + first + len(chunk)] += hits
    return correct / data.shape[0]


def _class_indices(network, y, data):
    """Index in ``classes_`` of each epoch's class: of ``y``, or of its event.

    ``y`` holds labels (classes or their event names), never indices, unlike
    the targets of :func:`mne_xai.explain`.
    """
    if y is None:
        if not getattr(network, "events_are_labels_", True):
            raise events_are_not_labels()
        return _true_target_indices(network, data, _event_id(network, data))[0]
    event_id = _event_id(network, data)
    labels = np.asarray(y).tolist()
    indices = {label: _class_index(network, label, event_id) for label in labels}
    unknown = sorted(str(label) for label, index in indices.items() if index is None)
    if unknown:
        raise ValueError(
            f"y holds {unknown}, which are neither classes of the estimator "
            f"({np.asarray(network.classes_).tolist()}) nor their event names."
        )
    _warn_if_events_coded_otherwise(network, indices, data)
    return np.array([indices[label] for label in labels], np.int64)


@autograd_on
@verbose
@fill_doc
def pruning_curve(
    estimator,
    epochs,
    layer,
    y=None,
    *,
    ablation="mean",
    scores=None,
    n_random=10,
    batch_size=64,
    device=None,
    random_state=None,
    verbose=None,
):
    """Measure accuracy as a layer's units are removed, most important first.

    The units of the layer (its output channels or feature maps) are
    removed one at a time in three kinds of order: by sensitivity, by
    attribution, and at random. A network relies
    on the units whose removal costs accuracy first; Hammer et al.
    :footcite:`HammerEtAl2022` found that pruning the units most sensitive to
    amplitude or phase costs far more than pruning others. Comparing the
    rankings with random orders, as Morcos et al.
    :footcite:`MorcosEtAl2018` did for single units, tells whether a ranking
    finds the units that matter.

    Parameters
    ----------
    %(estimator)s
    %(epochs)s
    %(unit_layer)s
    y : array-like, shape (n_epochs,) | None
        The class of each epoch (labels of the estimator or event names);
        None reads them from the events of Epochs.
    ablation : "zero" | "mean"
        What a removed unit outputs: zero, or its mean output over the
        epochs (at each of its positions), which removes what the unit says
        about each epoch without shifting what follows it.
    scores : dict of str to array-like of shape (n_units,) | None
        Further orders, by name: a finite score per unit, highest removed first;
        e.g. the amplitude sensitivities of :func:`unit_sensitivity` for the
        same layer, to prune as Hammer et al. did.
    n_random : int
        Number of random orders.
    %(batch_size)s
    %(device)s
    %(random_state_type)s
        Seed of the random orders; None draws fresh ones, a NumPy generator
        one seed from it.
    %(verbose)s

    Returns
    -------
    curve : PruningCurve
        The accuracy after removing 0 to ``n_units`` units in each order;
        ``.area`` compares the orders, ``.to_frame()`` gives a table and
        ``.plot()`` a figure.

    Notes
    -----
    Both rankings read the first-order (Taylor) estimate of how the
    decision score, the predicted class's logit minus the mean logit, would
    change were a unit removed: ``c = sum((a - r) * g)`` over the unit's
    positions, with ``a`` its activation, ``r`` what it is replaced by and
    ``g`` the gradient of the decision score with respect to it, per epoch. The *sensitivity* of a unit is the mean
    of ``|c|`` over epochs, the criterion of Molchanov et al.
    :footcite:`MolchanovEtAl2017` (here for the decision rather than the
    loss, so labels play no part in the ranking): how much the decision
    moves with the unit, in either direction. The *attribution* of a unit
    is the mean of ``c``, its gradient x activation: how much it speaks for
    the class the network chose, positive first, so units speaking against
    it are removed last. No input attribution of :func:`mne_xai.explain`
    ranks units, hence this layer-level form.

    Accuracy is the fraction of epochs whose largest logit is their class.
    A forward hook replaces the removed units' output; the network itself is
    left unchanged. Zero is what deleting a unit's channel would give, but
    where a bias or batch norm follows the layer it also shifts the next
    layer's input, which the mean does not. With the mean, removing units
    before or after a per-unit affine map (such as batch norm) gives the
    same curves. When the network after the layer
    treats the epochs of a batch independently (checked on the first
    batch, to float rounding), one pass scores ``n_units`` masks at once,
    holding that many copies of the layer's output of a batch.

    References
    ----------
    .. footbibliography::
    """
    network = as_network(estimator)
    batch_size = check_positive_int(batch_size, "batch_size")
    n_random = check_positive_int(n_random, "n_random")
    random_state = check_seed(random_state)
    _check_option("ablation", ablation, ("zero", "mean"))
    _validate_type(scores, (None, dict), "scores")
    name, module_layer = find_layer(network.module_, layer)
    data = network._check_prediction_input(epochs, "epochs")
    n_epochs = data.shape[0]
    if y is None and data.events is None:
        raise ValueError(
            "pruning_curve needs the class of each epoch: pass y with arrays, or "
            "Epochs whose events hold the classes."
        )
    if y is not None and np.shape(y) != (n_epochs,):
        raise ValueError(
            f"y must hold one class per epoch ({n_epochs}), got shape {np.shape(y)}."
        )
    target = _class_indices(network, y, data)
    device = compute_device(device, network)
    reference = 0.0
    if ablation == "mean":
        reference = _mean_output(
            network, data, module_layer, name, batch_size=batch_size, device=device
        )
    logger.info(f"Ranking the units of layer {name!r} on {n_epochs} epochs")
    # Molchanov et al.'s criterion (the magnitude), and gradient x activation
    # at the layer (signed): the first-order change of the decision score were
    # the unit replaced.
    sensitivity, attribution = unit_contributions(
        network,
        data,
        name,
        reference=reference,
        batch_size=batch_size,
        device=device,
        mesg="ranking",
    )
    importance = {"sensitivity": sensitivity, "attribution": attribution}
    n_units = len(importance["sensitivity"])
    for order, values in (scores or {}).items():
        values = np.asarray(values, dtype=float)
        if order in importance or order == "random" or values.shape != (n_units,):
            raise ValueError(
                f"scores[{order!r}] must hold one score per unit ({n_units}), "
                f"under a name other than {[*importance, 'random']}; got shape "
                f"{values.shape}."
            )
        if not np.isfinite(values).all():
            # argsort puts NaN last: such units would be taken for the most
            # important, without a word.
            raise ValueError(
                f"scores[{order!r}] must be finite; units "
                f"{np.flatnonzero(~np.isfinite(values)).tolist()} have "
                f"{values[~np.isfinite(values)].tolist()}. Give them the score "
                "that ranks them as you mean (e.g. 0 for units that never respond)."
            )
        importance[order] = values
    # Stable sorts: tied units keep their index order, so results are repeatable.
    orders = {
        order: np.argsort(-values, kind="stable")
        for order, values in importance.items()
    }
    rng = np.random.default_rng(random_state)
    random_orders = np.stack([rng.permutation(n_units) for _ in range(n_random)])
    all_orders = np.concatenate([np.stack(list(orders.values())), random_orders])
    masks = _ablation_masks(all_orders)
    logger.info(
        f"Scoring {n_epochs} epochs with 0 to {n_units} units of layer {name!r} "
        f"removed in {len(all_orders)} orders"
    )
    accuracies = _accuracies(
        network, data, name, masks, target, reference, batch_size, device
    )
    # Curves start unpruned (the first score) and end with every unit
    # removed (the last), whatever the order.
    n_orders = len(all_orders)
    curves = np.column_stack(
        [
            np.full(n_orders, accuracies[0]),
            accuracies[1:-1].reshape(n_orders, n_units - 1),
            np.full(n_orders, accuracies[-1]),
        ]
    )
    return PruningCurve(
        layer=name,
        accuracy=dict(zip(orders, curves[: len(orders)], strict=True)),
        random_accuracy=curves[len(orders) :],
        orders=orders,
        random_orders=random_orders,
        importance=importance,
        chance=float(np.bincount(target).max() / n_epochs),
    )
