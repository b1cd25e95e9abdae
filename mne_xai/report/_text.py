"""The words of the report: section titles and how to read each section."""

#: Section titles, in the order of the report.
SECTIONS = {
    "overview": "Overview",
    "accuracy": "Accuracy",
    "maps": "Attribution maps per class",
    "time": "Relevance over time",
    "spectrum": "Spectral relevance",
    "modality": "Modality importance",
    "trust": "How far to trust the maps",
    "patterns": "Spatial patterns",
}

HOW_TO_READ = {
    "overview": (
        "This page shows what the network learned from these epochs and how far its "
        "explanations can be trusted. Read it top down: a network that does not "
        "beat chance has nothing to explain; the maps show where and when the "
        "network found its evidence; the trust section says which maps to believe. "
        "Every map explains each epoch's own class (its true label)."
    ),
    "accuracy": (
        "{measured}. Each of the {n_splits} fold(s) trains a fresh copy of the "
        "network on its training epochs and scores it on its held-out ones (the "
        "fraction of epochs classified correctly). Chance is what always "
        "answering the class most frequent among the held-out epochs scores, "
        "each counted as often as the folds test it (one over the number of "
        "classes when they are balanced). {reference} An explanation of a "
        "network that does not beat chance explains noise: trust the maps below "
        "only as far as the accuracy is above chance. {explained}"
    ),
    "balanced_accuracy": (
        "The classes of the held-out epochs are unequal ({counts} epochs), and "
        "accuracy rewards answering the frequent ones: always answering the most "
        "frequent class scores {chance:.2f}. Balanced accuracy, the mean over classes of the "
        "share of each class's epochs classified as that class (its recall), "
        "scores every such network one over the number of classes a fold tests, "
        "the chance below. {measured}. The "
        "network's recall of each class, over all its held-out predictions: "
        "{recall}."
    ),
    "references": (
        "Classical references are trained and tested in the same folds, on the "
        "whole epochs. {csp} LR on samples is the reference for evoked "
        "responses: logistic regression on every sample of every channel the "
        "network reads, standardized (as in MNE's decoding tutorial). It reads "
        "the time courses locked to the event, and scores near chance where the "
        "classes differ only in oscillations not locked to it; CSP+LDA reads "
        "the power of spatially filtered signals, whatever their phase. A "
        "network well below the better reference has not learned what a "
        "classical method finds in these epochs."
    ),
    "csp_reference": (
        "CSP+LDA is the reference for oscillations, as in motor imagery: common "
        "spatial patterns of band power, then a linear discriminant, on the "
        "channels of the network's most numerous brain channel type (EEG, or "
        "gradiometers on MEG)."
    ),
    "maps_without_topomaps": (
        "Maps of relevance on the scalp need channels at three or more sensor "
        "positions, which these are not (see below). Where in time each channel "
        "carries relevance is in the next section; which methods to believe, in "
        "the trust section."
    ),
    "maps": (
        "Each topomap shows, for one class (column), how much every channel "
        "contributed to the network's score for that class: the magnitude of "
        "relevance summed over time, averaged over the class's epochs. In the first "
        "figure each row (method) is divided by its largest value, so compare where "
        "methods put relevance, not how much. The slider shows each method in its "
        "own unit: logit for methods whose values add up to the score (gradient x "
        "input, integrated gradients, DeepLIFT, LRP), {gradient_unit} for gradients "
        "(saliency). Methods differ by design: saliency shows where the score is "
        "sensitive; methods that multiply by the input weigh that sensitivity by "
        "the signal's amplitude, so channels with large signals stand out in them. "
        "Which of them to believe is the subject of the trust section."
    ),
    "time": (
        "When in the epoch the evidence lies: the magnitude of relevance at each "
        "time, averaged over epochs ({lines}){topomaps}, in the "
        "method's unit. Magnitudes are averaged because relevance on "
        "oscillations alternates in sign from sample to sample and would cancel."
        "{unread}"
    ),
    "spectrum": (
        "Which frequencies the network used: the network is explained as a function "
        "of each epoch's Fourier coefficients (gradient x input on the spectrum, "
        "Vielhaben et al. 2024), so relevance is in logit per frequency bin of "
        "{resolution:.2g} Hz. The line shows relevance magnitude summed over "
        "channels, per class; {bands} Frequencies removed by the recording's "
        "filters carry no relevance: the network cannot use what is not there."
    ),
    "spectrum_bands": (
        "the topomaps show each band's relevance on the scalp, averaged over epochs."
    ),
    "modality": (
        "The share of relevance each channel type carries, per class (magnitude of "
        "{method} relevance summed over the type's channels and all times, over the "
        "sum for all types). A type with more channels gathers more relevance; "
        "the relevance per channel is in the table. Relevance there is in "
        "{unit}, summed over the class's epochs too."
    ),
    "trust": (
        "Two checks with different questions. Deletion: are the samples a map ranks "
        "highest the ones the score rests on? They are set to zero first and the "
        "class's logit is followed (first figure; a faithful map makes it fall "
        "fast), against deleting samples in random order. Randomization: does the "
        "map depend on what the network learned? Every layer is re-initialized, "
        "from the output down, and the map compared with the original (second "
        "figure; a map that depends on the weights falls towards 0). The checks "
        "can rank methods in opposite orders: maps that multiply by the input keep "
        "the input's structure whatever the weights, and zeroing the large samples "
        "they rank first moves the logit most. The table's readings put the two "
        "together, and measure, rather than assume, why a map survives "
        "randomization."
    ),
    "patterns": (
        "The network's own spatial filters, from its first spatial layer, and their "
        "activation patterns (Haufe et al. 2014), ranked by their contribution to "
        "the decision (logit). A filter also cancels noise, so read the pattern: "
        "it is the scalp distribution of the signal the unit picks up. Patterns "
        "describe the weights and the data's covariance, not single decisions; "
        "they can differ from the attribution maps when a unit sees a strong "
        "signal that later layers use little."
    ),
}
