"""Gradient-based attribution methods, computed with captum."""

from captum.attr import Saliency as _CaptumSaliency

from ._registry import AttributionMethod, register_method


@register_method
class Saliency(AttributionMethod):
    """Saliency map: the gradient of the target logit :footcite:`SimonyanEtAl2014`.

    Values are logit per unit of input (per volt for MNE data). With
    ``absolute=True`` (the original definition) the map shows where the logit is
    sensitive, not in which direction; it is therefore not class-specific for
    near-linear networks, as Sujatha Ravindran & Contreras-Vidal observed.

    References
    ----------
    .. footbibliography::
    """

    name = "saliency"

    def attribute(self, inputs, target, *, absolute=True):
        """Return the (absolute) gradient of the target logit.

        Parameters
        ----------
        inputs : torch.Tensor, shape (batch, n_channels, n_times)
            The data.
        target : torch.Tensor of int64, shape (batch,)
            The class explained for each epoch.
        absolute : bool
            Return the absolute value of the gradient.

        Returns
        -------
        attribution : torch.Tensor, shape (batch, n_channels, n_times)
            The gradient map.
        """
        return _CaptumSaliency(self.module).attribute(
            inputs, target=target, abs=absolute
        )
