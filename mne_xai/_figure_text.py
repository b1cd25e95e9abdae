"""Text in figures: measured, wrapped to fit, and placed as titles and captions.

Labels of any length (method, class, band and layer names) must fit the
figure they label; matplotlib neither measures text before drawing nor breaks
it, so these helpers do both, on any backend.
"""

import functools
import re

import matplotlib
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.textpath import text_to_path

#: Font sizes of figure titles, of the titles above columns of maps, and of
#: the captions under the maps.
_TITLE_SIZE, _COLUMN_TITLE_SIZE, _CAPTION_SIZE = "large", "medium", "small"
#: Places where a label may break onto a new line: after spaces, underscores,
#: slashes and hyphens, so method names break between their words.
_BREAK_AFTER = re.compile(r"(?<=[\s_/-])")


def plain_text():
    """Draw the text of the figures made in this context as it is: no mathtext.

    Usable as a decorator. Event, class and channel names come from the
    user's data, where a "$" (an event "pay $5 or $10") starts matplotlib's
    mathtext: drawn garbled, or raising when the figure is drawn. The package
    writes no mathtext of its own, and measures text as plain (see
    :func:`_text_width`); MNE's own mathtext is drawn as such again by
    :func:`parse_mne_mathtext`.
    """
    return matplotlib.rc_context({"text.parse_math": False})


#: How MNE's figures of an Evoked start their label of the number of epochs
#: averaged: in mathtext, MNE's own text rather than the user's.
_MNE_NAVE_LABEL = r"N$_{\mathrm{ave}}$"


def parse_mne_mathtext(fig):
    r"""Draw MNE's own mathtext in ``fig`` as mathtext, made under plain_text.

    Drawn as written, MNE's label of the number of epochs averaged reads
    "N$_{\mathrm{ave}}$=24" above the time courses of its joint plot.
    """
    for text in fig.findobj(Text):
        if text.get_text().startswith(_MNE_NAVE_LABEL):
            text.set_parse_math(True)


def _text_width(text, fontsize="medium"):
    """Return the width of the widest line of ``text`` in inches, on any backend."""
    # Cached by the font itself, which reads the rcParams: a size such as
    # "large" and the family follow them, and widths cached by the text and
    # "large" alone wrapped labels after rcParams["font.size"] = 20 as if
    # drawn at 12 points.
    return _outline_width(text, FontProperties(size=fontsize))


@functools.lru_cache(maxsize=4096)
def _outline_width(text, font):
    """Return the width of the widest line of ``text`` in ``font``, in inches."""
    outline = max(
        text_to_path.get_text_width_height_descent(line, font, ismath=False)[0]
        for line in text.split("\n")
    )
    # Hinting draws text up to 5% wider than its outline at some sizes and
    # resolutions (Agg at 100 dpi); the margin keeps wrapped text inside.
    return 1.06 * outline / 72


def _lines(text):
    """Return the number of lines of ``text``."""
    return text.count("\n") + 1


def _text_height(text, fontsize="medium"):
    """Return the height of ``text`` in inches, at matplotlib's line spacing."""
    return _lines(text) * 1.2 * FontProperties(size=fontsize).get_size() / 72


def _wrap_greedy(text, width, fontsize):
    """Fill each line of ``text`` up to ``width`` inches before the next."""
    lines = []
    for paragraph in text.split("\n"):
        # Outlines have no kerning, so a line is as wide as its pieces together.
        line, line_width = "", 0.0
        for token in _BREAK_AFTER.split(paragraph):
            if line_width + _text_width(token.rstrip(), fontsize) <= width:
                line += token
                line_width += _text_width(token, fontsize)
                continue
            if line.strip():
                lines.append(line.rstrip())
            # A line does not start with the spaces it broke at (after a double
            # space, a centred label sat off centre).
            token = token.lstrip()
            while len(token) > 1 and _text_width(token.rstrip(), fontsize) > width:
                cut = max(
                    [
                        end
                        for end in range(1, len(token))
                        if _text_width(token[:end], fontsize) <= width
                    ],
                    default=1,
                )
                lines.append(token[:cut])
                token = token[cut:]
            line, line_width = token, _text_width(token, fontsize)
        lines.append(line.rstrip())
    return "\n".join(lines)


def _wrap_text(text, width, fontsize="medium"):
    """Break ``text`` into lines no wider than ``width`` inches.

    Lines break after spaces, underscores, slashes and hyphens; a word wider
    than ``width`` on its own is cut where it reaches the edge. The lines are
    balanced: as few as at ``width``, at the narrowest width that keeps them
    so few, so that "alpha/mu (8-13 Hz)" breaks before the bracket rather
    than leave "Hz)" alone.
    """
    wrapped = _wrap_greedy(text, width, fontsize)
    n_lines = _lines(wrapped)
    # Narrower than its longest word, a text would be cut inside words.
    narrow = max(
        _text_width(token.rstrip(), fontsize)
        for paragraph in text.split("\n")
        for token in _BREAK_AFTER.split(paragraph)
    )
    if n_lines == _lines(text) or narrow >= width:
        return wrapped
    wide = width
    while wide - narrow > 0.02:
        middle = (narrow + wide) / 2
        if _lines(_wrap_greedy(text, middle, fontsize)) > n_lines:
            narrow = middle
        else:
            wide = middle
    return _wrap_greedy(text, wide, fontsize)


def _add_title(fig, title, caption=None):
    """Write a figure title, and a caption below the axes, wrapped to the figure."""
    width = fig.get_figwidth() - 0.2
    if title:
        fig.suptitle(_wrap_text(title, width, _TITLE_SIZE), fontsize=_TITLE_SIZE)
    if caption:
        fig.supxlabel(_wrap_text(caption, width, _CAPTION_SIZE), fontsize=_CAPTION_SIZE)
