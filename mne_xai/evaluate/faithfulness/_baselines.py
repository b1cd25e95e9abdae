"""Baselines: what replaces removed samples, and spherical-spline interpolation."""

from collections import OrderedDict
from functools import cached_property

import mne
import numpy as np
import torch
from mne.channels.interpolation import _make_interpolation_matrix
from mne.utils import _check_option

from ..._warnings import warn
from ...attribution._core import why_no_mean_epoch
from ...datasets import _builtin_montage

BASELINES = ("zeros", "mean", "noise", "interpolate")
# Bytes of interpolation operators one measure keeps (4096 operators of 64
# channels): a count would let 256 channels take 1 GiB.
_MAX_INTERPOLATION_BYTES = 64 * 2**20


def _check_baseline(baseline):
    """Return the baseline's name, accepting the old spelling "zero" with a warning."""
    if not isinstance(baseline, str):
        # mne's _check_option compared an array with each name: NumPy's
        # "truth value of an array is ambiguous".
        raise TypeError(
            f"baseline names what replaces the removed samples, one of "
            f"{', '.join(map(repr, BASELINES))}; got {type(baseline).__name__}. "
            "(These tests replace samples by a rule. An attribution method's "
            "baseline goes in the method_params of the faithfulness measures, "
            "e.g. method_params=dict(baseline=...).)"
        )
    if baseline == "zero":
        warn(
            'baseline="zero" is deprecated and will be removed; use "zeros", the '
            "spelling of mne_xai.explain.",
            FutureWarning,
        )
        baseline = "zeros"
    _check_option("baseline", baseline, BASELINES)
    return baseline


def _baseline_values(baseline, item, estimator):
    """Return what replaces each removed sample, shape (batch, n_channels, n_times).

    For ``"interpolate"`` each channel is interpolated from all the others,
    which is what removing one channel at a time needs.
    """
    data = item.data
    if baseline == "zeros":
        return torch.zeros_like(data)
    if baseline == "mean":
        if estimator.data_mean_ is None:
            raise ValueError(
                'baseline="mean" needs the mean training epoch, which this network '
                f'does not know ({why_no_mean_epoch(estimator)}); use "zeros" or '
                '"noise" (or "interpolate", where whole channels are removed).'
            )
        mean = torch.as_tensor(estimator.data_mean_, dtype=data.dtype)
        return mean.to(data.device).expand_as(data)
    if baseline == "noise":
        std = data.std(dim=2, keepdim=True).cpu().numpy()
        noise = np.stack(
            [rng.standard_normal(data.shape[1:]) for rng in item.rngs]
        ).astype(np.float32)
        return torch.from_numpy(noise * std).to(data.device)
    leave_one_out = item.interpolator.leave_one_out(data.device)
    return torch.einsum("cd,bdt->bct", leave_one_out, data)


class _Interpolator:
    """Spherical-spline interpolation operators for sets of removed channels.

    ``interpolate_bads`` computes one matrix per set of bad channels; here
    each matrix is computed once per set and kept, so perturbed epochs are
    interpolated with a matrix product and no MNE object per epoch. One is
    made per call of a measure (see ``_evaluation_batches``) and dropped with
    it: kept for the process, the operators of every channel set met stayed
    (62 MB for each set of 63 channels).
    """

    def __init__(self, info):
        self.info = info
        self.operators = OrderedDict()

    @cached_property
    def positions(self):
        """The channels' positions about the head's origin, checked on first use."""
        info = self.info
        if info is None:
            raise ValueError(
                'baseline="interpolate" needs channel positions: pass Epochs with '
                "a montage, or fit the estimator on them."
            )
        if len(info.ch_names) < 2:
            raise ValueError(
                'baseline="interpolate" fills a removed channel from the others, '
                'and the network reads one channel; use "zeros", "mean" or "noise".'
            )
        eeg = mne.pick_types(info, meg=False, eeg=True, exclude=())
        if len(eeg) != len(info.ch_names):
            others = [name for i, name in enumerate(info.ch_names) if i not in eeg]
            raise ValueError(
                'baseline="interpolate" interpolates EEG channels from EEG channels; '
                f"the data also hold {others[:5]}. Pick EEG channels only."
            )
        no_positions = (
            'baseline="interpolate" needs channel positions; set a montage '
            f"(e.g. epochs.set_montage({_builtin_montage('1005')!r}))."
        )
        # Every channel the network reads; MNE's default leaves out bad ones.
        # Files without positions hold channels at the origin, which MNE
        # refuses with its own error ("Could not extract channel positions"),
        # naming no montage.
        try:
            positions = info._get_channel_positions(picks=eeg)
        except ValueError as error:
            raise ValueError(no_positions) from error
        if not np.isfinite(positions).all():
            raise ValueError(no_positions)
        return positions - mne.bem._check_origin("auto", info)

    def operator(self, removed):
        """Return the (n_channels, n_channels) matrix that removes ``removed``.

        Kept channels stay as they are; removed ones are interpolated from the
        kept ones (zeros when nothing is kept).
        """
        positions = self.positions
        key = removed.tobytes()
        if key not in self.operators:
            n_channels = len(removed)
            matrix = np.zeros((n_channels, n_channels))
            kept = ~removed
            matrix[kept, kept] = 1
            if kept.any() and removed.any():
                matrix[np.ix_(removed, kept)] = _make_interpolation_matrix(
                    positions[kept], positions[removed]
                )
            self.operators[key] = torch.as_tensor(matrix, dtype=torch.float32)
            # Orders differ per epoch, so most sets are seen once: keep memory
            # bounded rather than every set ever met.
            n_kept = max(1, _MAX_INTERPOLATION_BYTES // (4 * n_channels**2))
            if len(self.operators) > n_kept:
                self.operators.popitem(last=False)
        else:
            self.operators.move_to_end(key)
        return self.operators[key]

    def leave_one_out(self, device):
        """Each channel interpolated from all the others (zero diagonal)."""
        rows = []
        for channel in range(len(self.positions)):
            removed = np.zeros(len(self.positions), bool)
            removed[channel] = True
            rows.append(self.operator(removed)[channel])
        return torch.stack(rows).to(device)


def _replace(data, removed, replacement):
    """Variants of each epoch with ``removed`` samples replaced.

    ``data`` and ``replacement`` are (batch, n_channels, n_times); ``removed``
    is a boolean (batch, n_variants, n_channels, n_times or 1). Returns
    (batch * n_variants, n_channels, n_times).
    """
    variants = torch.where(removed, replacement[:, None], data[:, None])
    return variants.reshape(-1, *data.shape[1:])


def _interpolated_variants(item, removed):
    """Epochs whose removed channels are interpolated from the kept ones."""
    interpolator = item.interpolator
    masks = removed.cpu().numpy()
    operators = torch.stack(
        [interpolator.operator(mask) for mask in masks.reshape(-1, masks.shape[-1])]
    ).to(item.data.device)
    operators = operators.reshape(*masks.shape, masks.shape[-1])
    variants = torch.einsum("bscd,bdt->bsct", operators, item.data)
    return variants.reshape(-1, *item.data.shape[1:])
