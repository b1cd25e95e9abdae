"""Which channels a cluster may span: neighbours from the montage, or none."""

import mne
import numpy as np
from mne.utils import _check_option, _validate_type
from scipy import sparse


def _channels_without_positions(info):
    positions = np.array([ch["loc"][:3] for ch in info["chs"]])
    known = np.isfinite(positions).all(axis=1) & (np.abs(positions).sum(axis=1) > 0)
    return [name for name, ok in zip(info["ch_names"], known, strict=True) if not ok]


def _channel_adjacency(info, adjacency):
    """Return the channels' adjacency matrix (None for one channel) and its story."""
    n_channels = info["nchan"]
    if n_channels == 1:
        story = (
            f"one channel ({info['ch_names'][0]}): clusters over time only "
            "(permutation_cluster_1samp_test)"
        )
        return None, story
    if adjacency is None:
        story = "none: each channel on its own, clusters over time within a channel"
        return sparse.csr_matrix((n_channels, n_channels)), story
    if isinstance(adjacency, str):
        _check_option("adjacency", adjacency, ("auto",))
        unplaced = _channels_without_positions(info)
        if unplaced:
            raise ValueError(
                f"adjacency='auto' takes the neighbours of channels from their "
                f"positions, but {len(unplaced)} channel(s) have none "
                f"({unplaced[:5]}). Set a montage on the data before explaining "
                "it (epochs.set_montage(montage)), or pass "
                "adjacency=None to test each channel on its own, or a "
                "(n_channels, n_channels) adjacency matrix."
            )
        ch_types = sorted(set(info.get_channel_types()))
        if len(ch_types) != 1:
            raise ValueError(
                f"adjacency='auto' needs one channel type, got {ch_types}; pick "
                "one type or pass an adjacency matrix."
            )
        try:
            matrix, names = mne.channels.find_ch_adjacency(info, ch_types[0])
        except Exception as err:  # e.g. Qhull, which needs three channels or more
            reason = str(err).strip().splitlines()[0]
            raise ValueError(
                f"Could not find the neighbours of the {n_channels} channels from "
                f"their positions ({reason}); pass adjacency=None or a matrix."
            ) from err
        if list(names) != list(info["ch_names"]):
            matrix = _reordered(matrix, names, info["ch_names"])
        return sparse.csr_matrix(matrix), "channel neighbours from the montage"
    _validate_type(
        adjacency,
        (np.ndarray, sparse.spmatrix, sparse.sparray),
        "adjacency",
        '"auto", None or an (n_channels, n_channels) matrix',
    )
    if adjacency.shape != (n_channels, n_channels):
        raise ValueError(
            f"adjacency must be ({n_channels}, {n_channels}), one row and column "
            f"per channel, got {adjacency.shape}."
        )
    return sparse.csr_matrix(adjacency), "given adjacency matrix"


def _reordered(matrix, names, order):
    missing = sorted(set(order) - set(names))
    if missing:
        raise ValueError(
            f"MNE found no neighbours for channels {missing}; pass an adjacency "
            "matrix, or adjacency=None."
        )
    index = [list(names).index(name) for name in order]
    return sparse.csr_matrix(matrix)[index][:, index]
