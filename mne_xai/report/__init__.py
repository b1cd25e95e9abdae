"""An :class:`mne.Report` of a network: accuracy, explanations, and how far to trust them.

:func:`make_report` adds the sections to a new or given report; the
``mne-xai report`` command reads the data, trains or loads the network, and
writes the page.
"""

from ._make import DEFAULT_METHODS, make_report

__all__ = ["DEFAULT_METHODS", "make_report"]
