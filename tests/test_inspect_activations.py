"""Layer activations: streamed over batches, with the epochs' events and metadata."""

import numpy as np
import pandas as pd
import pytest
import torch

from mne_xai.inspect import find_layer, layer_activations


def _full_pass_output(estimator, data, layer):
    """The layer's output for all epochs in one forward pass, by a hook."""
    captured = []
    handle = layer.register_forward_hook(lambda *args: captured.append(args[2]))
    module = estimator.module_.eval()
    try:
        with torch.no_grad():
            module(torch.as_tensor(data, dtype=torch.float32))
    finally:
        handle.remove()
    return captured[0].numpy()


def test_activations_equal_one_forward_pass_whatever_the_batch(
    fitted_eegnet, imagery_epochs
):
    epochs = imagery_epochs[:10]
    epochs.metadata = pd.DataFrame({"trial": np.arange(10)})
    expected = _full_pass_output(
        fitted_eegnet,
        epochs.get_data(picks=fitted_eegnet.ch_names_),
        fitted_eegnet.module_.spatial_elu,
    )
    small = layer_activations(
        fitted_eegnet, epochs, "spatial_elu", batch_size=3, verbose=False
    )
    large = layer_activations(
        fitted_eegnet,
        epochs,
        fitted_eegnet.module_.spatial_elu,
        batch_size=64,
        verbose=False,
    )
    np.testing.assert_allclose(small.data, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(small.data, large.data, rtol=1e-6, atol=1e-7)
    assert small.layer == large.layer == "spatial_elu"
    np.testing.assert_array_equal(small.events, epochs.events)
    pd.testing.assert_frame_equal(small.metadata, epochs.metadata)


def test_to_epochs_keeps_time_and_events(fitted_eegnet, imagery_epochs):
    epochs = imagery_epochs[:6]
    pooled = layer_activations(fitted_eegnet, epochs, "spatial_pool", verbose=False)
    n_units, n_pooled = pooled.data.shape[1], pooled.data.shape[-1]
    assert pooled.sfreq == pytest.approx(
        epochs.info["sfreq"] * n_pooled / len(epochs.times)
    )
    as_epochs = pooled.to_epochs()
    assert as_epochs.get_data().shape == (6, n_units, n_pooled)
    assert as_epochs.info["sfreq"] == pytest.approx(pooled.sfreq)
    assert as_epochs.event_id == epochs.event_id
    np.testing.assert_array_equal(as_epochs.events, epochs.events)
    # Classes average as MNE objects do.
    assert as_epochs["feet"].average(picks="misc").data.shape == (n_units, n_pooled)
    logits = layer_activations(fitted_eegnet, epochs, "classifier", verbose=False)
    assert logits.sfreq is None
    with pytest.raises(ValueError, match="no time axis"):
        logits.to_epochs()
    np.testing.assert_allclose(
        logits.data, fitted_eegnet.decision_function(epochs), rtol=1e-5, atol=1e-5
    )


def test_unknown_layers_are_refused_with_the_list(fitted_eegnet, imagery_epochs):
    with pytest.raises(ValueError, match=r"No layer named 'conv9'.*spatial_conv"):
        layer_activations(fitted_eegnet, imagery_epochs[:2], "conv9")
    with pytest.raises(ValueError, match="not a layer of this network"):
        find_layer(fitted_eegnet.module_, torch.nn.Linear(2, 2))
