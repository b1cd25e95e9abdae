"""What the functions over recordings return: results by recording id, one table."""

import numbers

import numpy as np
import pandas as pd


class RecordingResults(dict):
    """Results of one call per recording, by recording id, in input order.

    A :class:`dict` (``results["sub-01"]``, ``results.values()``), returned by
    :func:`~mne_xai.recordings.map_recordings`, :func:`~mne_xai.recordings.explain_recordings` and
    :func:`~mne_xai.recordings.evaluate_recordings`, with a table view of all recordings.

    Parameters
    ----------
    results : iterable of (hashable, object)
        Pairs of recording id and result, in input order.
    id_name : str
        The name of the id column of :meth:`to_frame`.

    Attributes
    ----------
    id_name : str
        As given.
    """

    def __init__(self, results=(), *, id_name="recording"):
        super().__init__(results)
        self.id_name = id_name

    @property
    def ids(self):
        """The recording ids, in input order.

        Returns
        -------
        ids : list
            The ids.
        """
        return list(self)

    def copy(self):
        """Return a shallow copy (:meth:`dict.copy` gives a plain dict).

        Returns
        -------
        results : RecordingResults
            The same results, with the same ``id_name``.
        """
        return type(self)(self, id_name=self.id_name)

    def to_frame(self):
        """Return the results of all recordings as one table.

        Each result becomes a table, by its ``to_frame()`` method (the results
        of :mod:`mne_xai.evaluate`), its ``to_data_frame()`` method (MNE
        objects such as the Evokeds of :func:`~mne_xai.recordings.explain_recordings`, with the
        values unscaled), as it is (a :class:`pandas.DataFrame`), or as a
        one-row table with a column ``value`` (a number).

        Returns
        -------
        table : pandas.DataFrame
            The tables of the recordings, stacked in input order, with the
            recording id in a first column named ``id_name``.
        """
        tables = []
        for recording_id, result in self.items():
            table = _as_frame(result, recording_id)
            if self.id_name in table.columns:
                raise ValueError(
                    f"The results of recording {recording_id!r} have a column "
                    f"{self.id_name!r} already; set results.id_name to another "
                    "name for the id column."
                )
            table.insert(0, self.id_name, [recording_id] * len(table))
            tables.append(table)
        if not tables:
            return pd.DataFrame({self.id_name: []})
        return pd.concat(tables, ignore_index=True)

    def __repr__(self):
        kinds = sorted({type(result).__name__ for result in self.values()})
        ids = list(self)
        shown = ", ".join(repr(i) for i in ids[:3]) + (", ..." if len(ids) > 3 else "")
        return (
            f"<RecordingResults | {len(self)} recordings ({shown}) of "
            f"{' / '.join(kinds) or 'nothing'}>"
        )


def _with_labels_as_columns(frame):
    """Return the table with a named index as columns (stacking drops the index).

    A named index labels rows (the method of a trust summary, the group of
    ``group_predictions``); an unnamed one numbers them.
    """
    named = any(name is not None for name in frame.index.names)
    return frame.reset_index(drop=not named)


def _as_frame(result, recording_id):
    """One recording's result as a new DataFrame."""
    if hasattr(result, "to_frame"):
        return _with_labels_as_columns(result.to_frame())
    if hasattr(result, "to_data_frame"):
        # Attributions carry their true unit: no scaling to µV, fT, ...
        ch_types = result.get_channel_types(unique=True)
        return result.to_data_frame(scalings=dict.fromkeys(ch_types, 1.0))
    if isinstance(result, pd.DataFrame):
        return _with_labels_as_columns(result)
    if isinstance(result, numbers.Number | np.bool_):  # NumPy's bool is no Number
        return pd.DataFrame({"value": [result]})
    raise TypeError(
        f"The result of recording {recording_id!r} is a {type(result).__name__}, "
        "which has no table view (to_frame or to_data_frame)."
    )
