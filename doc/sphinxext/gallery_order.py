"""The reading order of the gallery: from training to trusting, then inside the network."""

ORDER = [
    "plot_train_on_epochs.py",
    "plot_explain_motor_imagery.py",
    "plot_simulated_ground_truth.py",
    "plot_sanity_and_faithfulness.py",
    "plot_modality_importance.py",
    "plot_your_own_network.py",
    "plot_drowsiness.py",
    "plot_group_statistics.py",
    "plot_many_recordings.py",
    "plot_network_filters.py",
    "plot_attribution_patterns.py",
    "plot_unit_sensitivity.py",
    "plot_class_prototypes.py",
    "plot_spectral_input.py",
]


class ExampleOrder:
    """Sort key of sphinx-gallery: the examples of ``ORDER`` first, in that order.

    Examples not listed follow, by file name.

    Parameters
    ----------
    src_dir : str
        The gallery's folder (sphinx-gallery passes it; unused).
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        """Return the key of ``filename``."""
        if filename in ORDER:
            return (0, ORDER.index(filename), "")
        return (1, 0, filename)
