"""How mne_xai passes warnings on: once per block, on every thread."""

import _thread
import os
import pickle
import threading
import warnings

import mne
import pytest
from sklearn.utils.parallel import Parallel, delayed

import mne_xai
from mne_xai._warnings import ignoring, warn, warnings_once


def _block_on_a_thread(text, entered, may_end, passed_on):
    def run():
        with warnings_once() as passed:
            warn(text)
            warnings.warn(f"{text}, by another library", UserWarning, stacklevel=1)
            entered.set()
            may_end.wait(timeout=10)
        passed_on.extend(str(warning.message) for warning in passed)

    return threading.Thread(target=run)


# What the blocks pass on at their end, as mne_xai's.
@pytest.mark.filterwarnings("ignore::Warning:mne_xai")
def test_blocks_on_threads_record_their_own_warnings_and_leave_warnings_working():
    """Blocks ending in another order than they began kept a recorder installed."""
    events = {name: threading.Event() for name in ("a in", "b in", "a end", "b end")}
    passed_on = {"a": [], "b": []}
    showwarning, filters = warnings.showwarning, list(warnings.filters)
    first = _block_on_a_thread("a", events["a in"], events["a end"], passed_on["a"])
    second = _block_on_a_thread("b", events["b in"], events["b end"], passed_on["b"])
    first.start()
    events["a in"].wait(timeout=10)
    second.start()
    events["b in"].wait(timeout=10)
    events["a end"].set()  # the first block ends while the second is open
    first.join(timeout=10)
    events["b end"].set()
    second.join(timeout=10)
    assert passed_on == {
        "a": ["a", "a, by another library"],
        "b": ["b", "b, by another library"],
    }
    # A block's "always" filter and recorder were left behind: every later
    # warning of the process went into a list nobody read.
    assert warnings.showwarning is showwarning
    assert warnings.filters == filters


def test_a_warning_is_passed_on_by_every_block_from_one_line():
    """Python's memory of warnings shown per line must not hide the next call's."""
    for _ in range(2):
        with pytest.warns(RuntimeWarning, match="each call"):
            with warnings_once():
                for _ in range(3):  # said on each batch, passed on once
                    warn("each call")


@pytest.mark.filterwarnings("ignore::Warning:mne_xai")
def test_a_warning_outside_the_blocks_is_shown_while_another_thread_records():
    entered, may_end, passed_on = threading.Event(), threading.Event(), []
    thread = _block_on_a_thread("inside", entered, may_end, passed_on)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        thread.start()
        entered.wait(timeout=10)
        warnings.warn("outside", UserWarning, stacklevel=1)
        may_end.set()
        thread.join(timeout=10)
    shown = [str(warning.message) for warning in shown]
    assert "outside" in shown
    assert passed_on == ["inside", "inside, by another library"]


def test_ignoring_holds_on_its_thread_only_and_leaves_no_filter():
    """catch_warnings() with an "ignore" filter, on two threads ending out of
    order, left one thread's filter in place for the whole process."""
    inside, may_end, shown = threading.Event(), threading.Event(), []

    def ignore_on_a_thread():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("error")  # as under python -W error
            with ignoring("ignored here"):
                warnings.warn(
                    "ignored here, by another library", UserWarning, stacklevel=1
                )
                warn("ignored here, by mne_xai")
                inside.set()
                may_end.wait(timeout=10)
            shown.extend(caught)

    filters = list(warnings.filters)
    thread = threading.Thread(target=ignore_on_a_thread)
    thread.start()
    assert inside.wait(timeout=10)
    with pytest.warns(UserWarning, match="ignored here, on another thread"):
        warnings.warn("ignored here, on another thread", UserWarning, stacklevel=1)
    may_end.set()
    thread.join(timeout=10)
    assert shown == []
    assert warnings.filters == filters


def _warn_in_a_worker(text):
    warnings.warn(text, UserWarning, stacklevel=1)


def test_scikit_learn_workers_ignore_what_the_calling_thread_ignores():
    """scikit-learn's Parallel copies the filters into its workers by their
    patterns' text: the filter of the blocks had none (AttributeError)."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with ignoring("ignored"):
            Parallel(n_jobs=1)(
                delayed(_warn_in_a_worker)(text) for text in ("ignored", "shown")
            )
    assert [str(warning.message) for warning in shown] == ["shown"]


def test_the_filter_pickles_as_what_the_thread_ignores():
    """Into a worker process, which runs none of the thread's blocks."""
    with ignoring("first"), ignoring("second"):
        thread_filter = warnings.filters[0][1]
        copied = pickle.loads(pickle.dumps(thread_filter))
    assert copied.match("Second warning") and not copied.match("third")
    assert not thread_filter.match("first")  # the blocks have ended


def test_blocks_ignore_until_their_own_end():
    with pytest.warns(UserWarning, match="outer") as shown:
        with ignoring("inner"):
            with ignoring("outer"), ignoring():  # nothing, as a layer of None asks
                pass
            warnings.warn("outer, after its block", UserWarning, stacklevel=1)
            warnings.warn("inner, in its block", UserWarning, stacklevel=1)
    assert [str(warning.message) for warning in shown] == ["outer, after its block"]


def test_a_warning_ignored_inside_a_recording_block_is_not_passed_on():
    """mne_xai's warnings inside a recording block skip Python's filters, so
    the block checks the thread's ignored patterns itself: one ignored in an
    inner block must not be passed on when the outer block ends."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with warnings_once() as passed_on:
            with ignoring("ignored"):
                warn("ignored here")
            warn("shown")
    assert [str(warning.message) for warning in passed_on] == ["shown"]
    assert [str(warning.message) for warning in shown] == ["shown"]


def test_nested_blocks_each_pass_on_the_warnings_of_their_own_block():
    """The innermost open block records a warning; it passes it on to the
    block around it when it ends."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with warnings_once() as outer:
            with warnings_once() as inner:
                warn("inside both")
            warn("in the outer block")
    both = ["inside both", "in the outer block"]
    assert [str(warning.message) for warning in inner] == ["inside both"]
    assert [str(warning.message) for warning in outer] == both
    assert [str(warning.message) for warning in shown] == both


def test_a_warning_is_shown_once_per_line_of_the_callers_code():
    """As warnings.warn does under Python's default filters: a check said on
    every pass of the user's loop is shown at its first pass only."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        for _ in range(3):
            warn("said in a loop")
    assert [str(warning.message) for warning in shown] == ["said in a loop"]


def test_ignoring_matches_the_start_of_a_text_case_ignored():
    """As Python's filters match their message: at the start, case ignored."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with ignoring("IGNORED"):
            warnings.warn("Ignored, in capitals", UserWarning, stacklevel=1)
            warn("ignored, by mne_xai")
            warnings.warn("Shown, though it says ignored", UserWarning, stacklevel=1)
    assert [str(warning.message) for warning in shown] == [
        "Shown, though it says ignored"
    ]


def test_the_filter_pickled_with_no_block_open_ignores_nothing():
    """Pickled by a thread with no block open (while another thread has one,
    the filter stays installed), its pattern must match no warning at all."""
    with ignoring("first"):
        thread_filter = warnings.filters[0][1]
    copied = pickle.loads(pickle.dumps(thread_filter))
    assert not copied.match("first") and not copied.match("")


def test_a_block_passes_on_each_distinct_warning_once():
    """Distinct by category and text, whitespace aside (a message wrapped
    otherwise is the same warning)."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with warnings_once() as passed_on:
            for _ in range(3):
                warn("said on each batch")
            warn("said on each\n    batch")
            warn("said on each batch", UserWarning)
    expected = [
        (RuntimeWarning, "said on each batch"),
        (UserWarning, "said on each batch"),
    ]
    assert [(w.category, str(w.message)) for w in passed_on] == expected
    assert [(w.category, str(w.message)) for w in shown] == expected


def test_a_block_ended_by_an_error_passes_on_its_warnings_and_stops_recording():
    """A warning of data in another unit may explain the error; and the
    thread's warnings after the block are shown, not recorded for nobody."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="the error"):
            with warnings_once():
                warn("before the error")
                raise ValueError("the error")
        warn("after the block")
    assert [str(w.message) for w in shown] == ["before the error", "after the block"]


def test_a_block_after_a_catch_warnings_kept_its_showwarning_shows_warnings():
    """A catch_warnings() entered while a block was open, and left after it
    ended, puts the blocks' showwarning back: the next block must still show
    through the one before it, not through itself (without end)."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        block, users = ignoring("nothing"), warnings.catch_warnings()
        block.__enter__()
        users.__enter__()
        block.__exit__(None, None, None)
        users.__exit__(None, None, None)
        with ignoring("nothing"):
            warnings.warn("shown", UserWarning, stacklevel=1)
    assert [str(warning.message) for warning in shown] == ["shown"]


def test_a_showwarning_set_while_a_block_is_open_stays():
    """Set meanwhile by someone else (logging.captureWarnings), it is theirs
    to restore: the block's end put back the one from before the block."""
    original = warnings.showwarning

    def theirs(message, category, filename, lineno, file=None, line=None):
        pass

    try:
        with ignoring("nothing"):
            warnings.showwarning = theirs
        assert warnings.showwarning is theirs
    finally:
        warnings.showwarning = original


def test_an_inner_block_records_the_warnings_of_other_libraries_in_it():
    """As mne_xai's own: the innermost open block records a warning another
    library raised inside it, and passes it on to the outer block at its end;
    the outer block's list got it directly, and the inner block's missed it."""
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with warnings_once() as outer:
            with warnings_once() as inner:
                warnings.warn("by another library", UserWarning, stacklevel=1)
    assert [str(warning.message) for warning in inner] == ["by another library"]
    assert [str(warning.message) for warning in outer] == ["by another library"]
    assert [str(warning.message) for warning in shown] == ["by another library"]


def test_a_warning_points_at_a_package_named_as_a_library_with_more():
    """Only the libraries' own folders are passed over: a package beside MNE
    whose name starts with "mne" (as mne_bids, or the user's mne_study) is
    not MNE, and a warning of a call from it points at its line."""
    folder = os.path.dirname(mne.__file__) + "_study"
    caller = os.path.join(folder, "analysis.py")
    namespace = {}
    exec(
        compile("def call(warn):\n    warn('from beside mne')\n", caller, "exec"),
        namespace,
    )
    with pytest.warns(RuntimeWarning, match="from beside mne") as record:
        namespace["call"](warn)
    assert [(w.filename, w.lineno) for w in record] == [(caller, 2)]


def test_a_warning_shown_while_a_block_is_open_reaches_the_callers_showwarning():
    """logging.captureWarnings and the command line set a showwarning of their
    own: a warning outside any recording block, while a block is open, goes
    to it, not to Python's default printing."""
    seen = []

    def theirs(message, category, filename, lineno, file=None, line=None):
        seen.append(str(message))

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = theirs
        with ignoring("nothing"):
            warnings.warn("shown", UserWarning, stacklevel=1)
    assert seen == ["shown"]


def test_a_warning_of_library_code_alone_points_at_the_line_that_warned():
    """Where no frame lies outside the libraries (a thread started from C, such
    as torch's, running mne_xai's code only), the warning points at the line
    of the libraries' code that called warn, not inside mne_xai's warn."""
    caller = os.path.join(os.path.dirname(mne_xai.__file__), "_a_hook.py")
    code = "def hook(warn, done):\n    warn('from a hook')\n    done.set()\n"
    namespace, done = {}, threading.Event()
    exec(compile(code, caller, "exec"), namespace)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        _thread.start_new_thread(namespace["hook"], (warn, done))
        assert done.wait(timeout=10)
    assert [(w.filename, w.lineno) for w in shown] == [(caller, 2)]
