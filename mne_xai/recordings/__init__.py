"""Explain and evaluate many recordings at once, on many cores or a Dask cluster.

Each recording (an :class:`mne.Epochs`, or a ``.fif`` file read lazily in the
worker) is one task of :class:`joblib.Parallel`, so ``n_jobs`` has the meaning
it has in MNE and scikit-learn, and the same calls run on a
:mod:`dask.distributed` cluster inside ``with joblib.parallel_backend("dask")``.
There is no scheduler here: joblib and Dask decide where tasks run and
retry them (Dask); each recording is reported as it is done.

What is specific to a task of this module:

- the fitted estimator is pickled once per call and unpickled in each task
  (serial runs too), so that every recording gets a copy of
  its own (a function may train it on its recording), and one that cannot be
  copied is refused rather than shared; on Dask it travels with each task, so
  that a recording whose worker died can be retried;
- torch's intra-op threads are set for the task so that the workers of one
  machine share its cores instead of each using all of them, and none uses
  more than the caller does;
- a recording's data are read in its task and dropped when the task ends, so
  a worker holds one recording at a time; the explanation and evaluation
  functions stream over batches within it;
- results are gathered by recording id, in the order of the input, and the
  call either returns all of them or raises.
"""

from ._calls import evaluate_recordings, explain_recordings
from ._map import map_recordings
from ._results import RecordingResults

__all__ = [
    "RecordingResults",
    "evaluate_recordings",
    "explain_recordings",
    "map_recordings",
]
