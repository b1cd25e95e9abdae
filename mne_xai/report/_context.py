"""What every section of the report needs, and the log line of each stage."""

import html
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import mne
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from mne.utils import logger

from .._network import WindowAverage, as_network
from .._warnings import warnings_once
from ..attribution._core import _event_id
from ..attribution._registry import check_comparable_across_channels
from ..cropping import _final_step
from ..viz import _close_figure
from ._text import HOW_TO_READ, SECTIONS


@contextmanager
def _stage(name):
    """Log one line when a stage ends, with its duration.

    ``name`` is a str, or a callable returning it when the stage ends, for a
    line that tells the stage's outcome.
    """
    start = time.perf_counter()
    yield
    name = name() if callable(name) else name
    logger.info(f"{name} ({time.perf_counter() - start:.1f} s)")


@dataclass
class _Context:
    """What every section needs: the data, the network, the report."""

    report: mne.Report
    epochs: mne.BaseEpochs
    y: np.ndarray
    plan: object
    methods: list
    random_state: int | None
    estimator: object
    labels_from_events: bool = False
    groups: np.ndarray | None = None  # each epoch's subject, where folds split by it
    beats_chance: bool | None = None  # the explained network's, once tested
    attributions: dict = field(default_factory=dict)
    refused: dict = field(default_factory=dict)

    @property
    def target(self):
        """What to explain for each epoch: its class, as ``explain`` reads it.

        Labels read from the events are in the network's coding, which the
        file may code otherwise; ``"true"`` matches them by name, where
        passing the codes warned that they mean other events in the file.
        Where a class is named "true", ``"true"`` would name it: the codes.
        """
        if self.labels_from_events and "true" not in self.class_names.values():
            return "true"
        return self.y

    @property
    def class_names(self):
        """The event name of each label of ``y``, in the network's coding.

        A fitted network's labels are the events of its training epochs,
        which the file read may code otherwise (see ``events_as_trained``).
        """
        event_id = _event_id(_final_step(self.estimator), self.epochs)
        return {code: name for name, code in event_id.items()}

    def comparable_across_channels(self, purpose):
        """Return the explained methods whose maps compare across the channels.

        Returns the methods that do, and the reason each other one does not
        (maps per unit of input on channels of several units).
        """
        comparable, refused = [], {}
        for method, attribution in self.attributions.items():
            try:
                check_comparable_across_channels(method, attribution.info, purpose)
            except ValueError as err:
                refused[method] = str(err)
            else:
                comparable.append(method)
        return comparable, refused

    def explained(self):
        """Say which methods were explained and which the network refused."""
        text = ", ".join(self.attributions)
        if self.refused:
            text += f"; refused: {', '.join(self.refused)}"
        return text

    def windows_read(self):
        """Say which samples a CroppedClassifier reads; None for other networks."""
        module = as_network(self.estimator).module_
        if not isinstance(module, WindowAverage):
            return None
        times, sfreq = self.epochs.times, self.epochs.info["sfreq"]
        last = module.starts[-1] + module.n_samples - 1
        text = (
            f"{len(module.starts)} window(s) of {module.n_samples / sfreq:g} s, "
            f"together {times[module.starts[0]]:g} to {times[last]:g} s"
        )
        # A window_step longer than the windows leaves samples between them,
        # which "together" and "outside them" would say were read.
        between = ~module.in_windows(len(times))[module.starts[0] : last + 1]
        if between.any():
            n_gaps = int(np.sum(np.diff(between.astype(int)) == 1))
            text += (
                f" but for the {between.sum()} samples of {n_gaps} gap(s) between them"
            )
        return text

    def paragraph(self, key, title="How to read this", *, text=None, **values):
        """Add the section's text (or the one named ``text``) of HOW_TO_READ."""
        text = HOW_TO_READ[text or key].format(**values)
        self.add_html(f"<p>{html.escape(text)}</p>", title, key)

    def note(self, key, text):
        self.add_html(f"<p><em>{html.escape(text)}</em></p>", "Not shown", key)

    @contextmanager
    def warnings_noted(self, key):
        """Put the warnings of the block on the page too, in section ``key``.

        What the terminal says of a section (EOG left out of the spectrum,
        comparisons the checks could not make), the reader of the page learns
        there as well. The warnings are passed on.
        """
        with warnings_once() as passed_on:
            yield
        self.note_warnings(key, passed_on)

    def note_warnings(self, key, caught):
        """Put the RuntimeWarnings of ``caught`` on the page, in section ``key``."""
        for warning in caught:
            if issubclass(warning.category, RuntimeWarning):
                text = html.escape(" ".join(str(warning.message).split()))
                self.add_html(f"<p><em>{text}</em></p>", "Warning", key)

    def add_html(self, content, title, key):
        self.report.add_html(content, title=title, section=SECTIONS[key], tags=(key,))

    def add_table(self, table, title, key, **to_html):
        content = table.to_html(
            classes="table table-sm table-hover", border=0, justify="left", **to_html
        )
        # Bootstrap's wrapper (loaded by mne.Report) scrolls a wide table
        # inside its card rather than past it.
        self.add_html(f'<div class="table-responsive">{content}</div>', title, key)

    def add_figures(self, figures, title, key, caption=None):
        """Add one figure, or several as a slider, and close them."""
        images = []
        for figure in figures:
            # Closed first: closing fires the events of the figure's own canvas.
            _close_figure(figure)
            images.append(_rendered(figure))
        self.report.add_figure(
            images if len(images) > 1 else images[0],
            title=title,
            caption=caption,
            section=SECTIONS[key],
            tags=(key,),
        )


def _rendered(figure):
    """Return the RGBA pixels of ``figure``, drawn once, as the report saves it.

    ``Report.add_figure`` saves a figure at its own resolution, and matplotlib
    saves one with a layout engine (every figure of the report) by drawing it
    twice: a first draw that lays it out and renders nothing, then the draw
    that renders. One draw on an Agg canvas lays it out and renders it: a
    third of the save, a fifth of the embedding with the image's encoding
    (3.60 s to 2.89 s of CPU for the 11 figures of a test report); the report
    compresses these pixels as it would have compressed the saved ones.
    """
    canvas = FigureCanvasAgg(figure)  # Agg whatever the backend, as saving does
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())
