"""The result of :func:`trust_summary`: the table, the readings and the curves."""

import textwrap

from ._readings import _DELETES, _LEGEND, ANCHOR


class TrustSummary:
    """How far to trust each method's maps: numbers and a reading per method.

    Returned by :func:`trust_summary`; not meant to be built by hand.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per method, the random anchor first (see
        :func:`trust_summary` for the columns).
    class_gains : pandas.DataFrame
        The deletion gain over random deletion per method and class.
    class_names : list of str
        The name of each class, in the order of ``estimator.classes_`` (the
        index the deletion curves' ``target`` holds).
    deletion_curves : dict of str to CurveResult
        The deletion curve of every method and of ``"random"``; plot them
        with :meth:`CurveResult.plot`.
    sanity_checks : dict of str to SanityCheckResult
        The cascading randomization of every method (not of ``"random"``);
        plot them with :func:`plot_sanity_check`.
    target_checks : dict of str to SanityCheckResult
        The target randomization of every method (not of ``"random"``).
    threshold : float
        The cut of the randomization checks.
    baseline : str
        What replaced the deleted samples.
    """

    def __init__(
        self,
        table,
        class_gains,
        class_names,
        deletion_curves,
        sanity_checks,
        *,
        target_checks,
        threshold,
        baseline="zeros",
    ):
        self.table = table
        self.class_gains = class_gains
        self.class_names = class_names
        self.deletion_curves = deletion_curves
        self.sanity_checks = sanity_checks
        self.target_checks = target_checks
        self.threshold = threshold
        self.baseline = baseline

    @property
    def legend(self):
        """What the numbers mean, in one paragraph."""
        n_steps = len(self.deletion_curves["random"].fractions) - 1
        return _LEGEND.format(
            threshold=self.threshold,
            n_steps=n_steps,
            deletes=_DELETES[self.baseline],
        )

    def to_frame(self):
        """Return the table.

        Returns
        -------
        table : pandas.DataFrame
            A copy of ``table``, one row per method.
        """
        return self.table.copy()

    def describe(self, width=88):
        """Return the legend and each method's reading as wrapped text.

        Parameters
        ----------
        width : int
            Line width.

        Returns
        -------
        text : str
            The legend, then one paragraph per method.
        """
        paragraphs = [textwrap.fill(self.legend.replace("\n", " "), width)]
        for method, reading in self.table["reading"].items():
            paragraphs.append(
                textwrap.fill(f"{method}: {reading}", width, subsequent_indent="  ")
            )
        return "\n\n".join(paragraphs)

    def __repr__(self):
        n_epochs = len(self.deletion_curves["random"].aopc)
        # Deletion is read per class, so its gains are shown per class.
        # " | ": "/" separates the tags of MNE's event names ("imagery/hands").
        gains = {
            method: " | ".join(f"{gain:+.2f}" for gain in rows["gain"])
            for method, rows in self.class_gains.groupby("method", sort=False)
        }
        classes = " | ".join(self.class_gains["class"].drop_duplicates())
        width = max(len(f"gain {classes}"), *map(len, gains.values()))
        lines = [
            f"<TrustSummary | {len(self.table) - 1} method(s), {n_epochs} epochs, "
            f"randomization cut {self.threshold:g}>",
            f"{'method':<22} {'AOPC':>6} {f'gain {classes}':>{width}} "
            f"{'similarity':>10} {'|x|':>5} {'beyond':>6} {'other class':>11}  "
            "deletion; randomization; target randomization",
        ]
        for method, row in self.table.iterrows():
            if row["deletion"] == ANCHOR:
                lines.append(
                    f"{method:<22} {row['aopc']:>6.2f} {'':>{width + 36}}  anchor"
                )
                continue
            lines.append(
                f"{method:<22} {row['aopc']:>6.2f} {gains[method]:>{width}} "
                f"{row['similarity']:>10.2f} {row['input_similarity']:>5.2f} "
                f"{row['beyond_input']:>6.2f} {row['target_similarity']:>11.2f}  "
                f"{row['deletion']}; {row['randomization']}; "
                f"{row['target_randomization']}"
            )
        return "\n".join(lines)
