"""Why the perturbation test scores CSP-started networks lower: second-order removals.

:func:`mne_xai.evaluate.perturbation_test` correlates the relevance summed in a
patch of one channel with the drop of the logit when the patch is set to zero.
Every first-order attribution predicts that drop by the gradient times the
patch, ``g . p``; the logit's Taylor expansion adds ``- p' H p / 2`` (``H`` its
Hessian in the input), and more. A network whose spatial filters weigh few
channels (EEGNet started from CSP's filters, ``spatial_init="csp"``) reads
band power through them, a square of their output: removing one of their
channels is no small change, and the second-order term matters as much as the
first. Started at random, its filters spread over many channels and the first
order carries the drop.

This benchmark trains both networks in the sanity example's set-up (EEGBCI
subject 1 hands vs feet, 0.5-2.5 s, 30 training epochs, 100 epochs at batch 8,
dropout 0.25), draws 50 patches of one channel per held-out epoch and patch
length (10, 30 and 50 % of the epoch), and prints, per start and patch length:

- the perturbation test's mean correlation for gradient x input (the anchor,
  as the package measures it), and that of its channel version
  (:func:`mne_xai.evaluate.channel_perturbation_test`, whole channels set to
  zero), where saliency's is printed beside it;
- the correlation of the drop with the first-order estimate ``g . p`` (what
  gradient x input sums to in a patch), and with ``g . p - p' H p / 2``
  (Hessian-vector products by double backpropagation, in float64);
- the spread of the two terms.

Higher orders count too for long patches, where even both terms predict
the drop less well.

Run::

    OMP_NUM_THREADS=1 MNE_DATA=/path/to/data python benchmarks/perturbation_order.py

It takes about two minutes on one core.
"""

import mne
import numpy as np
import torch
from sklearn.model_selection import train_test_split

from mne_xai import EEGNetClassifier
from mne_xai.datasets import load_eegbci
from mne_xai.evaluate import channel_perturbation_test, perturbation_test

N_PATCHES = 50
PATCH_FRACTIONS = (0.1, 0.3, 0.5)


def taylor_terms(clf, epochs, rng):
    """Per patch length: first- and second-order terms, and the logit's drops."""
    network = clf.module_.eval().double()
    X = torch.as_tensor(epochs.get_data(picks=clf.ch_names_), dtype=torch.float64)
    targets = np.searchsorted(clf.classes_, epochs.events[:, 2])
    terms = []
    for fraction in PATCH_FRACTIONS:
        first, second, drops = [], [], []
        length = int(fraction * X.shape[-1])
        for x, target in zip(X, targets, strict=True):
            x = x[None].clone().requires_grad_(True)
            logit = network(x)[0, target]
            (gradient,) = torch.autograd.grad(logit, x, create_graph=True)
            for _ in range(N_PATCHES):
                channel = rng.integers(X.shape[1])
                start = rng.integers(X.shape[-1] - length + 1)
                patch = torch.zeros_like(x)
                patch[0, channel, start : start + length] = x[
                    0, channel, start : start + length
                ].detach()
                linear = (gradient * patch).sum()
                (hessian_patch,) = torch.autograd.grad(linear, x, retain_graph=True)
                with torch.no_grad():
                    drops.append((logit - network(x - patch)[0, target]).item())
                first.append(linear.item())
                second.append(0.5 * (patch * hessian_patch).sum().item())
        terms.append((np.array(first), np.array(second), np.array(drops)))
    network.float()
    return terms


def main():
    # No progress lines, nor mne_xai's advice, which follows MNE's log level
    # (warnings that data differ from the training data show at any level).
    # No warnings filter: a full run warns of nothing, and a warning that did
    # show (a class never predicted, data unlike training) bears on the figures.
    mne.set_log_level("ERROR")
    epochs = load_eegbci(1, "hands_vs_feet").crop(0.5, 2.5)
    train, test = train_test_split(
        np.arange(len(epochs)),
        test_size=1 / 3,
        stratify=epochs.events[:, 2],
        random_state=0,
    )
    held_out = epochs[test]
    print(
        "EEGBCI subject 1, hands/feet, 0.5-2.5 s; the sanity example's network; "
        f"{len(held_out)} held-out epochs, {N_PATCHES} patches per epoch and "
        f"length {PATCH_FRACTIONS}\n"
    )
    for name, start in (("random start", None), ("CSP start", "csp")):
        clf = EEGNetClassifier(
            max_epochs=100,
            batch_size=8,
            module__dropout=0.25,
            spatial_init=start,
            random_state=0,
            verbose=False,
        ).fit(epochs[train])
        anchor = perturbation_test(
            clf, held_out, "gradient_x_input", target="true", random_state=0
        ).mean_correlation
        channels = {
            method: channel_perturbation_test(
                clf, held_out, method, target="true", random_state=0
            ).mean_correlation
            for method in ("gradient_x_input", "saliency")
        }
        print(
            f"{name}: accuracy {clf.score(held_out):.2f}; perturbation test "
            f"(gradient x input) r = {anchor:.2f}; whole channels: gradient x "
            f"input r = {channels['gradient_x_input']:.2f}, saliency "
            f"r = {channels['saliency']:.2f}",
            flush=True,
        )
        terms = taylor_terms(clf, held_out, np.random.default_rng(0))
        for fraction, (first, second, drops) in zip(
            PATCH_FRACTIONS, terms, strict=True
        ):
            print(
                f"  patches of {fraction:.0%}: drop vs first order "
                f"r = {np.corrcoef(first, drops)[0, 1]:.2f}, vs first + second "
                f"order r = {np.corrcoef(first - second, drops)[0, 1]:.2f}; spread "
                f"of the terms {first.std():.3f} and {second.std():.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
