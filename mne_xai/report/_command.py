"""What ``mne-xai report`` does: read, train or load, report, and write atomically."""

import os
import pickle
import signal
import tempfile
from contextlib import ExitStack, contextmanager
from pathlib import Path

from mne.utils import logger
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedGroupKFold

from .._labels import EventsAreNotClasses
from .._network import as_network
from .._warnings import quietly
from ..evaluate.trust._summary import check_method_names
from ._checks import is_fitted
from ._inputs import read_input
from ._make import make_report

#: The networks ``--estimator`` names.
ESTIMATORS = ("eegnet", "interpretable_cnn")


class CommandError(ValueError):
    """A problem with the command's arguments or files; the message says what."""


def _check_output(path, overwrite, suffixes, what):
    path = Path(path)
    if not path.name.endswith(suffixes):
        raise CommandError(
            f"{what} {str(path)!r} must end with {' or '.join(suffixes)}."
        )
    if path.is_dir():
        raise CommandError(f"{str(path)!r} is a folder.")
    if path.exists() and not overwrite:
        raise CommandError(f"{str(path)!r} exists; pass --overwrite to replace it.")
    if not path.parent.is_dir():
        raise CommandError(f"the folder of {str(path)!r} does not exist.")
    return path


def _fold_groups(epochs, column):
    """Return each epoch's group in ``column`` of the metadata, or None."""
    metadata = epochs.metadata
    if column == "auto":
        several = (
            metadata is not None
            and "subject" in metadata
            and metadata["subject"].nunique() > 1
        )
        column = "subject" if several else None
    if column is None:
        return None
    if metadata is None or column not in metadata:
        found = [] if metadata is None else list(metadata.columns)
        raise CommandError(
            f"--groups {column}: the epochs' metadata hold no such column "
            f"(columns: {found}); name one, or give --groups none."
        )
    groups = metadata[column].to_numpy()
    if len(set(groups.tolist())) < 2:
        raise CommandError(
            f"--groups {column}: every epoch is in one group; folds need two or "
            "more (or give --groups none)."
        )
    logger.info(
        f"Folds keep the epochs of each {column} together "
        f"({len(set(groups.tolist()))} groups; --groups none mixes them)."
    )
    return groups


def _new_estimator(name, max_epochs, picks, class_weight):
    from .. import EEGNetClassifier, InterpretableCNNClassifier

    classes = dict(
        eegnet=EEGNetClassifier, interpretable_cnn=InterpretableCNNClassifier
    )
    # "--picks all" means MNE's "all"; other words are names or channel types.
    if picks is not None and list(picks) == ["all"]:
        picks = "all"
    # The report logs a line per fold; the per-epoch table would bury it.
    return classes[name](
        max_epochs="auto" if max_epochs is None else max_epochs,
        picks=picks,
        class_weight=class_weight,
        random_state=0,
        verbose=False,
    )


def _load_model(path):
    path = Path(path)
    if not path.is_file():
        raise CommandError(f"no model file {str(path)!r}.")
    try:
        with path.open("rb") as file:
            estimator = pickle.load(file)
    except Exception as err:
        # Unpickling fails in many ways (UnpicklingError, EOFError, missing
        # classes ...); each means the file is no saved model.
        raise CommandError(
            f"cannot load {path.name!r} as a saved model: {err or type(err).__name__}"
        ) from None
    try:
        # Checked first: another object fails later, on its labels or data.
        as_network(estimator)
    except NotFittedError:
        raise CommandError(f"{path.name!r} holds no fitted estimator.") from None
    except (TypeError, ValueError) as err:
        raise CommandError(f"{path.name!r}: {err}") from None
    if not is_fitted(estimator):
        raise CommandError(f"{path.name!r} holds no fitted estimator.")
    return estimator


#: Signals received in :func:`exiting_on_signal`, until it ends.
_RECEIVED_SIGNALS = []


@contextmanager
def exiting_on_signal(signum):
    """Exit on ``signum`` as on Ctrl-C, through the cleanup of the files being written.

    Python drops an exception raised while a weakref callback or ``__del__``
    runs, and the work would go on to write its output: the signal is kept,
    and :func:`exit_if_signalled` exits before any output is committed.
    """

    def exit_on_signal(signum, frame):
        _RECEIVED_SIGNALS.append(signum)
        raise SystemExit(128 + signum)  # the shell's exit status of a killed process

    previous = signal.signal(signum, exit_on_signal)
    try:
        yield
    finally:
        signal.signal(signum, previous)
        _RECEIVED_SIGNALS.clear()


def exit_if_signalled():
    """Exit as :func:`exiting_on_signal` does, if a signal's exit was dropped."""
    if _RECEIVED_SIGNALS:
        raise SystemExit(128 + _RECEIVED_SIGNALS[-1])


def _temporary_beside(path, stack):
    """Make a file in ``path``'s folder, removed on exit unless renamed before."""
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix="".join(path.suffixes), dir=path.parent
        )
    except OSError as err:
        raise CommandError(
            f"cannot write {str(path)!r}: {err.strerror or err}."
        ) from None
    os.close(handle)
    temporary = Path(name)
    # mkstemp makes the file private; the output gets the permissions of any
    # new file.
    umask = os.umask(0)
    os.umask(umask)
    temporary.chmod(0o666 & ~umask)
    stack.callback(temporary.unlink, missing_ok=True)
    return temporary


def run_report(
    source,
    output,
    *,
    model=None,
    save_model=None,
    methods,
    cv,
    format=None,
    estimator=None,
    max_epochs=None,
    picks=None,
    class_weight=None,
    groups="auto",
    checks=True,
    overwrite=False,
):
    """Write the report of a network on a data set to ``output``.

    Parameters
    ----------
    source : str
        An epochs file or a built-in data set (see ``mne-xai report --help``).
    output : path-like
        The HTML file to write.
    model : path-like | None
        A pickled fitted estimator to explain; None trains a new one.
    save_model : path-like | None
        Where to pickle the fitted estimator.
    methods : list of str
        The attribution methods.
    cv : int
        Number of cross-validation folds.
    format : str | None
        The input file's format; None tells it from the extension.
    estimator : "eegnet" | "interpretable_cnn" | None
        The network trained when no model is given (None: EEGNet).
    max_epochs : int | None
        Training epochs of a new network; None keeps its own schedule.
    picks : list of str | None
        Channels a new network reads: names, channel types, or ``["all"]``;
        None means the good data channels (see the estimators' ``picks``).
    class_weight : "balanced" | None
        The class weights of a new network (see the estimators'
        ``class_weight``).
    groups : str | None
        The metadata column whose groups (e.g. subjects) each stay in one
        fold; ``"auto"`` takes ``"subject"`` where the metadata hold several
        subjects, None mixes the epochs of every group across folds.
    checks : bool
        Run the trust checks.
    overwrite : bool
        Replace existing output files.

    Notes
    -----
    Arguments and data are checked before any training; the files are
    written to temporary files in their folders and renamed at the end, so a
    failure leaves nothing half-written.
    """
    new_network = (estimator, max_epochs, picks, class_weight)
    if model is not None and any(value is not None for value in new_network):
        raise CommandError(
            "--model explains a saved network; --estimator, --max-epochs, "
            "--picks and --class-weight choose a new one: give one or the other."
        )
    check_method_names(methods)
    output = _check_output(output, overwrite, (".html",), "the output")
    if save_model is not None:
        save_model = _check_output(save_model, overwrite, (".pkl",), "--save-model")
    network = (
        _load_model(model)
        if model is not None
        else _new_estimator(estimator or "eegnet", max_epochs, picks, class_weight)
    )
    with ExitStack() as stack:
        # The files are made before the work, so an unwritable folder is found
        # in a second rather than after minutes of training.
        outputs = [output] + ([] if save_model is None else [save_model])
        temporaries = [_temporary_beside(path, stack) for path in outputs]
        epochs = read_input(source, format)
        logger.info(
            f"Read {source}: {len(epochs)} epochs, {len(epochs.ch_names)} channels"
        )
        fold_groups = _fold_groups(epochs, groups)
        if fold_groups is not None:
            # Epochs of one subject are alike: folds mixing them measure the
            # network on subjects it was trained on.
            n_groups = len(set(fold_groups.tolist()))
            if n_groups < cv:
                logger.info(
                    f"{n_groups} groups for {cv} folds: each fold holds out one group."
                )
            cv = StratifiedGroupKFold(min(cv, n_groups), shuffle=True, random_state=0)
        try:
            report = make_report(
                network,
                epochs,
                methods=methods,
                cv=cv,
                groups=fold_groups,
                checks=checks,
                title=f"{type(network).__name__} on {Path(str(source)).name}",
            )
        except EventsAreNotClasses as err:  # its advice is to pass y, which we lack
            raise CommandError(
                f"{err.reason} The command reads the classes from the events of "
                "the file: give a model fitted on epochs with these events, or "
                "call mne_xai.report.make_report with y."
            ) from None
        report.save(
            temporaries[0], open_browser=False, overwrite=True, verbose=quietly()
        )
        if save_model is not None:
            with temporaries[1].open("wb") as file:
                pickle.dump(network, file)
        exit_if_signalled()
        for temporary, final in zip(temporaries, outputs, strict=True):
            temporary.replace(final)
    logger.info(f"Wrote {output}" + (f" and {save_model}" if save_model else ""))
    return output
