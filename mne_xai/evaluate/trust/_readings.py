"""The reading rules: labels, intervals, and the words that read the numbers.

Each method gets three labels, one from deletion against random deletion,
one from parameter randomization and one from target randomization, and a
reading: advice on what to do with its maps, then the evidence (see
:func:`trust_summary`, Notes, for the rules).
"""

import numpy as np
from scipy import stats

#: Confidence level of the intervals over epochs that the readings rest on.
CONFIDENCE = 0.95

# Labels of the two readings, as they appear in the table.
ABOVE, NO_BETTER, BELOW, MIXED, ANCHOR = (
    "above random",
    "no better than random",
    "below random",
    "mixed",
    "anchor",
)
CHANGES, KEEPS_INPUT, KEEPS_OTHER, UNDEFINED = (
    "changes",
    "keeps the input's structure",
    "keeps structure the weights do not explain",
    "undefined",
)
CLASS_SPECIFIC, SAME_FOR_EVERY_CLASS = "class-specific", "same for every class"
#: A class explained for one epoch has no interval to read.
TOO_FEW_EPOCHS = "too few epochs"

#: What deletion puts in place of a sample, by baseline, for the texts.
_DELETES = {
    "zeros": "set to zero",
    "mean": "set to the mean training epoch",
    "noise": "replaced by noise of each channel's spread",
}

_LEGEND = """\
Deletion removes the samples a map ranks highest first ({n_steps} steps; they
are {deletes}) and follows the explained class's logit; AOPC is its mean drop (logit), and the
gain is the AOPC minus that of random deletion, epoch by epoch, with intervals
per class, 95% over all classes together (the fully deleted epoch itself can
favour a class).
Randomization re-initializes every layer; similarity is the Spearman
correlation of |map| before and after (1: same ranking, 0: unrelated; cut
{threshold:g}); "|x|" compares the randomized map with the input's magnitude,
and "beyond |x|" is what the two maps share once |x| is accounted for (a
partial correlation). Maps that multiply by the input keep its structure
whatever the weights, and deleting the large samples they rank first moves the
logit most: they can rank first on deletion and still stay similar after
randomization. Target randomization explains a random other class; "other
class" is the signed Spearman correlation of the two maps (below the cut: the
map is specific to the explained class)."""


def _mean_interval(values, confidence=CONFIDENCE):
    """Mean (NaN left out) and its confidence interval over epochs (t distribution)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) < 2:
        mean = values.mean() if len(values) else np.nan
        return mean, np.nan, np.nan
    mean = values.mean()
    half_width = stats.t.ppf((1 + confidence) / 2, len(values) - 1) * stats.sem(values)
    return mean, mean - half_width, mean + half_width


def _gain_reading(gain_low, gain_high):
    """Whether deletion by the map beats random deletion, from the gain's interval."""
    if np.isnan(gain_low):
        return TOO_FEW_EPOCHS
    if gain_low > 0:
        return ABOVE
    if gain_high < 0:
        return BELOW
    return NO_BETTER


def _deletion_reading(class_readings):
    """One label for a method from those of its classes."""
    labels = set(class_readings)
    if len(labels) == 1:
        return labels.pop()
    # Mixed means some classes to read; without one above random, there are none.
    if ABOVE in labels:
        return MIXED
    return BELOW if BELOW in labels else NO_BETTER


def _randomization_reading(similarity, beyond_input, threshold):
    """Whether the map changes with the weights and, if not, what it keeps."""
    if np.isnan(similarity):
        return UNDEFINED
    if similarity < threshold:
        return CHANGES
    # The same cut, applied to what the maps share beyond the input.
    if beyond_input < threshold:
        return KEEPS_INPUT
    return KEEPS_OTHER


def _target_reading(similarity, threshold):
    """Whether the map changes when another class is explained."""
    if np.isnan(similarity):
        return UNDEFINED
    return CLASS_SPECIFIC if similarity < threshold else SAME_FOR_EVERY_CLASS


def _leaves_range(scores):
    """How far a deletion curve's scores leave the range of its two ends.

    Returns
    -------
    excursion : float
        How far the score farthest outside the range spanned by the intact
        and the fully deleted epochs lies beyond it, in widths of that range
        (0 inside it).
    peak : float
        That score.
    """
    ends = scores[:, [0, -1]]
    low, high = ends.min(), ends.max()
    beyond = np.maximum(low - scores, scores - high)
    index = np.unravel_index(beyond.argmax(), scores.shape)
    width = high - low
    return max(float(beyond[index]), 0.0) / width if width > 0 else 0.0, float(
        scores[index]
    )


_RANGE_TEXT = (
    " Along the curve its logit reaches {peak:.1f}, outside {range_low:.1f} to "
    "{range_high:.1f} (the intact and fully deleted epochs): samples {deletes} "
    "cut holes the network answers with scores real epochs do not get, so the "
    "AOPC measures that answer as much as the map."
)

_RANDOMIZATION_TEXT = {
    CHANGES: (
        "Randomization: the map changes when every layer is re-initialized "
        "(similarity {similarity:.2f}, below the cut {threshold:g}), so it depends "
        "on the learned weights."
    ),
    KEEPS_INPUT: (
        "Randomization: the map keeps the input's structure (Adebayo et al. 2018): "
        "similarity {similarity:.2f} after re-initializing every layer, the "
        "randomized map mirrors |x| ({input_similarity:.2f}), and beyond |x| the "
        "maps share {beyond_input:.2f}."
    ),
    KEEPS_OTHER: (
        "Randomization: the map stays similar when every layer is re-initialized "
        "(similarity {similarity:.2f}), and not because of the input (beyond |x| "
        "{beyond_input:.2f}): its structure comes from the architecture or the "
        "method, not from what the network learned."
    ),
    UNDEFINED: "Randomization: its maps are constant, so the check is undefined.",
}

_TARGET_TEXT = {
    CLASS_SPECIFIC: (
        "Target randomization: the map of a random other class differs (signed "
        "Spearman {target_similarity:.2f}, 95% CI {target_similarity_low:.2f} to "
        "{target_similarity_high:.2f}, below the cut {threshold:g}), so it is "
        "specific to the explained class."
    ),
    SAME_FOR_EVERY_CLASS: (
        "Target randomization: the map of a random other class is much the same "
        "(signed Spearman {target_similarity:.2f}, 95% CI "
        "{target_similarity_low:.2f} to {target_similarity_high:.2f}, cut "
        "{threshold:g}; Sujatha Ravindran & Contreras-Vidal 2023)."
    ),
    UNDEFINED: (
        "Target randomization: undefined, as the maps of the explained class or "
        "of the other class are constant."
    ),
}

# Appended where the other class's map is this one with its sign flipped: in
# two-class networks the logits often move in opposite ways, and maps of |x|
# (the report's topomaps) then look alike for every class.
_SIGN_FLIPPED_TEXT = (
    " It is much like this map with its sign flipped (the whole CI below "
    "{flipped:g}; -1 would be exactly that): the samples that count for the "
    "explained class largely count against the other, so mostly the sign tells "
    "the classes apart."
)

_GREY_ZONE_TEXT = (
    " The similarity's 95% CI ({low:.2f} to {high:.2f}) spans the cut "
    "{threshold:g}: whether the map {changes} is a matter of degree here."
)

_INPUT_PICTURE = (
    "Read it as 'where the signal was large and the net was sensitive', not as what "
    "the network learned alone; compare with saliency, the gradient alone."
)
_MIXED_ADVICE = "Read its maps only for the classes where it beats random."
_ADVICE = {
    (ABOVE, CHANGES): (
        "Deletion and both randomizations support reading it as what drove the "
        "decision."
    ),
    (MIXED, CHANGES): _MIXED_ADVICE,
    (NO_BETTER, CHANGES): (
        "It reflects the network but does not single out what the score rests on: "
        "read it as where the network is sensitive, not as what drove the decision."
    ),
    BELOW: (
        "Its ranking points away from what drives the score: check the explained "
        "class and the sign of its values before reading it."
    ),
    KEEPS_INPUT: _INPUT_PICTURE,
    KEEPS_OTHER: (
        "Its pattern is not specific to what this network learned; prefer a method "
        "whose map changes."
    ),
    UNDEFINED: "Its maps carry no ranking to read.",
    SAME_FOR_EVERY_CLASS: (
        "Its maps are the same whichever class is explained: they show where the "
        "network is sensitive, not why it chose this class over another."
    ),
}

_SUPPORTED_WITHOUT_TARGET = (
    "Deletion and parameter randomization support reading it as what drove the "
    "decision."
)
_CLASS_SPECIFICITY_UNKNOWN = (
    "Whether it is specific to the explained class is unknown: target "
    "randomization could not be measured."
)

_ANCHOR_TEXT = (
    "The chance anchor: samples deleted in random order (AOPC {aopc:.2f} ± "
    "{aopc_std:.2f} over epochs). A map whose gain over it is not above 0 does not "
    "rank what the score rests on."
)


def _deletion_text(row, class_rows):
    """Describe the deletion result of a method, with its gain per class."""
    if class_rows["deletion"].nunique() > 1:
        label = ", ".join(
            f"{reading} for {name}"
            for name, reading in zip(
                class_rows["class"], class_rows["deletion"], strict=True
            )
        )
    else:
        label = row["deletion"]
    gains = "; ".join(
        f"{c['class']} {c['gain']:+.2f} [{c['gain_low']:+.2f}, {c['gain_high']:+.2f}], "
        f"better in {c['n_better']} of {c['n_epochs']} epochs"
        for _, c in class_rows.iterrows()
    )
    return (
        f"Deletion: {label} (AOPC {row['aopc']:.2f} vs {row['aopc_random']:.2f} in "
        f"random order; gain per class with 95% CIs over all classes: {gains})."
    )


def _advice(row):
    """Say what to do with a method's maps, from its three labels."""
    if row["deletion"] == ANCHOR:
        return "Compare every method's deletion with this one."
    if row["deletion"] == BELOW:  # whatever the randomization checks say
        return _ADVICE[BELOW]
    randomization = row["randomization"]
    advice = _ADVICE.get((row["deletion"], randomization), _ADVICE.get(randomization))
    if row["deletion"] == MIXED and randomization in (KEEPS_INPUT, KEEPS_OTHER):
        # What the randomization says holds for the classes it reads at all.
        advice = f"{_MIXED_ADVICE} {advice}"
    if row["target_randomization"] == UNDEFINED:
        if (row["deletion"], randomization) == (ABOVE, CHANGES):
            advice = _SUPPORTED_WITHOUT_TARGET
        return f"{advice} {_CLASS_SPECIFICITY_UNKNOWN}"
    if row["target_randomization"] != SAME_FOR_EVERY_CLASS:
        return advice
    # Maps that pass the other checks still do not argue for one class.
    if (row["deletion"], randomization) == (ABOVE, CHANGES):
        return _ADVICE[SAME_FOR_EVERY_CLASS]
    return f"{advice} {_ADVICE[SAME_FOR_EVERY_CLASS]}"


def _grey_zone(row, similarity, threshold, changes):
    """Say so when the CI of ``row[similarity]`` spans the cut (else "")."""
    low, high = row[f"{similarity}_low"], row[f"{similarity}_high"]
    if not low <= threshold <= high:
        return ""
    return _GREY_ZONE_TEXT.format(
        low=low, high=high, threshold=threshold, changes=changes
    )


def _reading(row, class_rows, threshold, baseline="zeros"):
    """Put one method's numbers in words: what to do, then the evidence."""
    # The other class's map is this one flipped where their similarity lies
    # below the cut mirrored; a cut of 0 or below (allowed) mirrors to itself.
    flipped = -abs(threshold) or 0.0  # not "-0"
    values = dict(row, threshold=threshold, flipped=flipped, deletes=_DELETES[baseline])
    if row["deletion"] == ANCHOR:
        return f"{_advice(row)} {_ANCHOR_TEXT.format(**values)}"
    text = f"{_advice(row)} {_deletion_text(row, class_rows)}"
    if row["range_excursion"] > 1:
        text += _RANGE_TEXT.format(**values)
    text += " " + _RANDOMIZATION_TEXT[row["randomization"]].format(**values)
    text += _grey_zone(row, "similarity", threshold, "changes")
    text += " " + _TARGET_TEXT[row["target_randomization"]].format(**values)
    text += _grey_zone(row, "target_similarity", threshold, "differs between classes")
    if row["target_similarity_high"] < flipped:
        text += _SIGN_FLIPPED_TEXT.format(**values)
    return text
