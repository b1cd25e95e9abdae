"""Loaders: real recordings as mne.Epochs, the same in every run."""

import os
import subprocess
import sys

import pytest

from mne_xai.datasets import load_eegbci


def test_eegbci_event_names_keep_one_order_whatever_the_hash_seed(mne_data):
    """MNE builds the event names from a set; the loader orders them by code."""
    script = (
        "from mne_xai.datasets import load_eegbci;"
        f"print(list(load_eegbci(1, 'hands_vs_feet', path={str(mne_data)!r},"
        " verbose=False).event_id.items()))"
    )
    orders = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(3)
    }
    assert orders == {"[('feet', 2), ('hands', 3)]\n"}


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(runs=[6, 6]), ValueError, "each once"),  # each epoch given twice
        (dict(runs=[]), ValueError, "each once"),  # an IndexError
        (dict(runs=[4]), ValueError, "subset of the hands_vs_feet runs"),
        (dict(subject="1"), TypeError, "subject must be"),  # a format error
    ],
)
def test_eegbci_arguments_are_checked(mne_data, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_eegbci(**{"subject": 1, **kwargs}, path=mne_data, verbose=False)
