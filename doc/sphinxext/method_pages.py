"""A page per attribution method, written from the registry when the docs build.

For every name of :func:`mne_xai.list_methods` the page says what the method
computes (its class docstring), its parameters (the keyword-only arguments of
its ``attribute`` method, with the numpydoc entries of that method), when to
use it (its section of the user guide's ``user_guide/methods.rst``, included
between the comments ``.. guide: <name> start`` and ``.. guide: <name> end``)
and what the trust checks found for it (its rows of the committed benchmark
table ``benchmarks/compare_methods.csv``). A method without documented
parameters, without a guide section, or a missing benchmark table is reported
as a Sphinx warning, which ``-W`` turns into an error: the pages cannot drift
from the registry unnoticed.
"""

import csv
import inspect
import math
from collections import defaultdict
from pathlib import Path

import mne
from numpydoc.docscrape import NumpyDocString
from sphinx.util import logging

import mne_xai
from mne_xai.attribution import method_unit
from mne_xai.attribution._registry import get_method
from mne_xai.evaluate import parameter_randomization_check

logger = logging.getLogger(__name__)

OUTPUT_DIR = Path("generated", "methods")
GUIDE = "user_guide/methods.rst"
BENCHMARK_CSV = Path("benchmarks", "compare_methods.csv")
BENCHMARK_COMMAND = (
    "OMP_NUM_THREADS=1 MNE_DATA=/path/to/data "
    "python benchmarks/compare_methods.py --output doc/benchmarks"
)
NETWORKS = ("EEGNet", "InterpretableCNN")
# Localization measures are averaged over the simulated data sets; the other
# measures are shown per data set. Higher is better for all of these.
LOCALIZATION = {
    "RMA": "relevance mass accuracy",
    "AUC": "ROC-AUC of the ground truth",
}
FAITHFULNESS = {
    "perturbation r": "perturbation test, correlation",
    "channel r": "channel perturbation test, correlation",
    "deletion AOPC": "deletion curve, AOPC",
}
SANITY = {
    "cascading": "cascading model randomization",
    "target": "target randomization",
    "data": "data randomization",
}


def guide_markers(name):
    """Return the comments that delimit a method's section of the guide."""
    return f".. guide: {name} start", f".. guide: {name} end"


def guide_cites(guide, name):
    """Return whether the method's section of the guide cites the literature."""
    start, end = guide_markers(name)
    if start not in guide or end not in guide:
        return False
    return ":footcite:" in guide[guide.index(start) : guide.index(end)]


def documented_parameters(cls):
    """Return ``{name: (default, type, description lines)}`` of a method's parameters.

    The parameters are the keyword-only arguments of ``cls.attribute``; their
    type and description come from its numpydoc "Parameters". A parameter
    without an entry there has ``None`` as type and description.
    """
    entries = {
        entry.name: entry
        for entry in NumpyDocString(inspect.getdoc(cls.attribute) or "")["Parameters"]
    }
    documented = {}
    for name, default in cls.parameters().items():
        entry = entries.get(name)
        documented[name] = (
            default,
            None if entry is None else entry.type,
            None if entry is None else list(entry.desc),
        )
    return documented


def read_benchmark(path):
    """Read the benchmark table into ``{(network, evaluation, data, method, measure): value}``."""
    with open(path, newline="") as fid:
        return {
            # An empty value is a measure undefined for the method (NaN).
            (
                row["network"],
                row["evaluation"],
                row["data"],
                row["method"],
                row["measure"],
            ): (float(row["value"]) if row["value"] else math.nan)
            for row in csv.DictReader(fid)
        }


def _format_default(value):
    if isinstance(value, str):
        return f'``"{value}"``'
    return f"``{value!r}``"


def _format_value(value):
    return "n/a" if math.isnan(value) else f"{value:.2f}"


def _ordinal(rank):
    suffix = (
        "th"
        if 10 <= rank % 100 <= 20
        else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    )
    return f"{rank}{suffix}"


class BenchmarkTable:
    """The rows of the benchmark table, grouped for the method pages."""

    def __init__(self, values, methods):
        self.values = values
        self.methods = set(methods)
        self.scored = {key[3] for key in values if key[3] in self.methods}
        self.simulations = sorted(
            {key[2] for key in values if key[1] == "localization" and key[3] != "-"}
        )

    def _localization(self, network, method, measure):
        values = [
            self.values.get((network, "localization", data, method, measure), math.nan)
            for data in self.simulations
        ]
        return math.fsum(values) / len(values) if values else math.nan

    def _value(self, network, evaluation, data, method, measure):
        if evaluation == "localization":
            return self._localization(network, method, measure)
        return self.values.get((network, evaluation, data, method, measure), math.nan)

    def _rank(self, network, evaluation, data, method, measure):
        """Rank of ``method`` among the scored methods, best (highest) first."""
        value = self._value(network, evaluation, data, method, measure)
        if math.isnan(value):
            return None
        others = [
            self._value(network, evaluation, data, other, measure)
            for other in self.scored
        ]
        others = [other for other in others if not math.isnan(other)]
        return 1 + sum(other > value for other in others), len(others)

    def rows(self, method, variant=None):
        """Yield the table rows of ``method`` (or of one of its variants)."""
        scored_as = method if variant is None else f"{method} {variant}"
        n_simulations = len(self.simulations)
        for measure, label in LOCALIZATION.items():
            if variant is not None and not any(
                (network, "localization", data, scored_as, measure) in self.values
                for network in NETWORKS
                for data in self.simulations
            ):
                continue
            yield self._row(
                f"Localization: {label}" + (f", {variant}" if variant else ""),
                f"mean of {n_simulations} simulations",
                "localization",
                None,
                scored_as,
                measure,
            )
        if variant is not None:
            return
        faithfulness_data = sorted(
            {
                key[2]
                for key in self.values
                if key[1] == "faithfulness" and key[3] == method
            }
        )
        for data in faithfulness_data:
            for measure, label in FAITHFULNESS.items():
                if any(
                    (network, "faithfulness", data, method, measure) in self.values
                    for network in NETWORKS
                ):
                    yield self._row(
                        f"Faithfulness: {label}",
                        data,
                        "faithfulness",
                        data,
                        method,
                        measure,
                    )
        sanity_data = sorted(
            {key[2] for key in self.values if key[1] == "sanity" and key[3] == method}
        )
        for data in sanity_data:
            for check, label in SANITY.items():
                yield self._sanity_row(
                    f"Sanity: {label}, similarity", data, method, check
                )

    def _row(self, label, data_label, evaluation, data, method, measure):
        cells = []
        for network in NETWORKS:
            value = self._value(network, evaluation, data, method, measure)
            rank = self._rank(network, evaluation, data, method, measure)
            if method in self.methods and rank is not None:
                cells.append(
                    f"{_format_value(value)} ({_ordinal(rank[0])} of {rank[1]})"
                )
            else:
                cells.append(_format_value(value))
        chance = [
            _format_value(self._value(network, evaluation, data, "random", measure))
            for network in NETWORKS
        ]
        return [label, data_label, *cells, " / ".join(chance)]

    def _sanity_row(self, label, data, method, check):
        cells = []
        for network in NETWORKS:
            value = self.values.get(
                (network, "sanity", data, method, f"{check} similarity")
            )
            passes = self.values.get(
                (network, "sanity", data, method, f"{check} passes")
            )
            if value is None:
                cells.append("n/a")
                continue
            verdict = "below the cut" if passes == 1.0 else "above the cut"
            cells.append(f"{_format_value(value)} ({verdict})")
        chance = [
            _format_value(
                self.values.get(
                    (network, "sanity", data, "random", f"{check} similarity"), math.nan
                )
            )
            for network in NETWORKS
        ]
        return [label, data, *cells, " / ".join(chance)]

    def variants(self, method):
        """Return the names of the method's scored variants (``"<method> with ..."``)."""
        prefix = f"{method} with "
        return sorted(
            {
                key[3][len(method) + 1 :]
                for key in self.values
                if key[3].startswith(prefix)
            }
        )


def _list_table(header, rows, widths):
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        f"   :widths: {' '.join(map(str, widths))}",
        "",
    ]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return lines


def _same_computation(name, names):
    """Return the registered method whose computation ``name`` inherits unchanged."""
    cls = get_method(name)
    for other in names:
        other_cls = get_method(other)
        if (
            other != name
            and issubclass(cls, other_cls)
            and cls.attribute is other_cls.attribute
            and cls.parameters() == other_cls.parameters()
        ):
            return other
    return None


def _trust_section(name, table):
    cut = (
        inspect.signature(parameter_randomization_check).parameters["threshold"].default
    )
    lines = [
        "What the trust checks found",
        "---------------------------",
        "",
    ]
    if table is None:
        lines += ["The benchmark table was not found when these pages were built.", ""]
        return lines
    if name not in table.scored:
        alias = _same_computation(name, sorted(table.scored))
        lines.append(f"``{name}`` was not in the benchmark of the attribution methods.")
        if alias is not None:
            lines.append(
                f"It computes exactly what ``{alias}`` computes (the same rule under "
                f"another name), so the results of :ref:`method-{alias}` apply."
            )
        lines.append("")
        return lines
    rows = list(table.rows(name))
    for variant in table.variants(name):
        rows.extend(table.rows(name, variant))
    lines += [
        f"``benchmarks/compare_methods.py`` scores every method on EEGNet and "
        "InterpretableCNN (see :ref:`benchmark-setup`). Higher is better for "
        "localization and faithfulness; the rank is among "
        f"{len(table.scored)} methods. A sanity-check similarity compares maps of "
        "the trained and randomized networks: a method passes below the cut of "
        f"{cut} (see :ref:`trust-sanity` for why the methods that multiply by the "
        "input stay above it). The last column is the random map, the chance level "
        "(EEGNet / InterpretableCNN); n/a marks a measure that is undefined for "
        "the method (a map that is the same on every channel has no channel "
        "correlation). The deletion AOPC is a mean over the epochs of both "
        "classes, which can cancel (see :ref:`trust-faithfulness`).",
        "",
    ]
    lines += _list_table(
        ["Check", "Data", *NETWORKS, "Random map"], rows, [30, 18, 17, 17, 18]
    )
    lines += [
        "",
        f"Produced by ``{BENCHMARK_COMMAND}`` and read from "
        f"``doc/{BENCHMARK_CSV.as_posix()}`` when this page was built.",
        "",
    ]
    return lines


def _properties(cls):
    lines = []
    if cls.propagation_rules:
        lines.append(
            "- It replaces the backward pass of some layers by rules of its own: it "
            "checks the network's computation and refuses an operation it has no "
            "rule for, naming it (see :doc:`/user_guide/own_network`)."
        )
    else:
        lines.append(
            "- It has no per-layer rules: it is valid for any differentiable network."
        )
    if cls.layerwise:
        lines.append(
            "- Its result depends on how the network is divided into layers, so it "
            "runs on the network's own layers."
        )
    else:
        lines.append(
            "- Its result does not depend on how the network is divided into layers, "
            "so it runs on the network's faster ``inference_graph()`` when there is one."
        )
    # EEG and EOG channels are in volts, the unit MNE keeps.
    eeg = mne.create_info(["Cz"], 100.0, "eeg")
    lines.append(
        f"- Its values are in {method_unit(cls.name, eeg)} on EEG "
        "(:func:`mne_xai.attribution.method_unit`)."
    )
    if cls.stochastic:
        lines.append(
            "- It draws random numbers: pass ``random_state`` to "
            ":func:`mne_xai.explain` for reproducible maps."
        )
    return lines


def method_page(name, table, guide):
    """Return the reST page of the attribution method registered as ``name``.

    Parameters
    ----------
    name : str
        A name of :func:`mne_xai.list_methods`.
    table : BenchmarkTable | None
        The benchmark results, or None if the table is missing.
    guide : str
        The text of the guide to choosing a method.

    Returns
    -------
    page : str
        The page.
    problems : list of str
        What the page lacks (undocumented parameters), for warnings.
    """
    cls = get_method(name)
    qualified = f"{cls.__module__}.{cls.__qualname__}"
    parameters = documented_parameters(cls)
    problems = [
        f"parameter {parameter!r} of method {name!r} has no entry in the "
        f"'Parameters' of {qualified}.attribute"
        for parameter, (_, kind, _) in parameters.items()
        if kind is None
    ]
    call = ", ".join(
        [f'method="{name}"']
        + [
            f"{parameter}={default!r}".replace("'", '"')
            for parameter, (default, _, _) in parameters.items()
        ]
    )
    start, end = guide_markers(name)
    title = f"``{name}``"
    lines = [
        f".. _method-{name}:",
        "",
        title,
        "=" * len(title),
        "",
        ".. code-block:: python",
        "",
        f"   mne_xai.explain(estimator, epochs, {call})",
        "",
        "What it computes",
        "----------------",
        "",
        f".. autoclass:: {qualified}",
        "",
        "Parameters",
        "----------",
        "",
    ]
    if parameters:
        lines += [
            "Keyword arguments of :func:`mne_xai.explain` (or of any function of "
            ":mod:`mne_xai.evaluate` that takes a method), with their defaults:",
            "",
        ]
        for parameter, (default, kind, description) in parameters.items():
            kind = kind or "undocumented"
            lines.append(
                f"``{parameter}`` : {kind}, default {_format_default(default)}"
            )
            lines += [f"    {line}" for line in description or ["(undocumented)"]]
        lines.append("")
    else:
        lines += [
            "None besides those every method takes through :func:`mne_xai.explain` "
            "(``target``, ``batch_size``, ``device``, ``random_state``).",
            "",
        ]
    lines += [
        "When to use it",
        "--------------",
        "",
        f".. include:: /{GUIDE}",
        f"   :start-after: {start}",
        f"   :end-before: {end}",
        "",
        "From :ref:`guide-methods`, which compares the methods. How it runs:",
        "",
        *_properties(cls),
        "",
        *_trust_section(name, table),
    ]
    if guide_cites(guide, name):
        # The class docstring's citations are listed with it; these are the guide's.
        lines += ["References", "----------", "", ".. footbibliography::", ""]
    return "\n".join(lines), problems


def index_page(names, table):
    """Return the reST page listing every attribution method."""
    rows = []
    for name in names:
        cls = get_method(name)
        summary = NumpyDocString(inspect.getdoc(cls) or "")["Summary"]
        parameters = ", ".join(f"``{parameter}``" for parameter in cls.parameters())
        rows.append(
            [
                f":ref:`{name} <method-{name}>`",
                " ".join(summary) or cls.__name__,
                parameters or "none",
                "yes" if cls.propagation_rules else "no",
            ]
        )
    lines = [
        ".. _methods:",
        "",
        "Attribution methods",
        "===================",
        "",
        "Every method that :func:`mne_xai.explain` takes, one page each, written "
        "from the registry (:func:`mne_xai.list_methods`) when this documentation "
        "was built: what the method computes, its parameters, when to use it "
        "(:ref:`guide-methods` compares them) and what the trust checks found "
        "for it. *Per-layer rules*: the method checks the network's layers and "
        "refuses those it has no rule for.",
        "",
        *_list_table(
            ["Method", "What it computes", "Parameters", "Per-layer rules"],
            rows,
            [20, 55, 15, 10],
        ),
        "",
    ]
    if table is not None:
        accuracy = defaultdict(dict)
        for (network, _, data, method, measure), value in table.values.items():
            if method == "-" and measure == "accuracy":
                accuracy[network][data] = value
        lines += [
            ".. _benchmark-setup:",
            "",
            "The benchmark",
            "-------------",
            "",
            "``benchmarks/compare_methods.py`` scores each method three ways, on "
            "EEGNet and InterpretableCNN: localization on simulated EEG whose "
            "discriminative feature (temporal, spectral or spatial) is known, at "
            "three signal-to-noise ratios (:func:`mne_xai.simulation.simulate_epochs`); "
            "sanity checks on EEGBCI motor imagery (subject 1, hands vs feet); and "
            "faithfulness on EEGBCI and on the driver-drowsiness recordings "
            "(:ref:`trust` explains each measure). Held-out accuracy of the "
            "networks on each data set:",
            "",
            *_list_table(
                ["Data", *NETWORKS],
                [
                    [
                        data,
                        *(
                            _format_value(accuracy[n].get(data, math.nan))
                            for n in NETWORKS
                        ),
                    ]
                    for data in sorted(
                        {d for values in accuracy.values() for d in values}
                    )
                ],
                [40, 30, 30],
            ),
            "",
            ".. figure:: /benchmarks/compare_methods.png",
            "   :width: 100%",
            "   :alt: Every method's localization, sanity and faithfulness scores",
            "",
            "   The benchmark at a glance (colour: rank in the column, green = better; "
            "for the similarities of the sanity checks lower is greener).",
            "",
            f"Produced by ``{BENCHMARK_COMMAND}``; the full tables and the check of "
            "the published conclusions are in ``doc/benchmarks/compare_methods.md``.",
            "",
        ]
    lines += [
        "References",
        "----------",
        "",
        ".. footbibliography::",
        "",
        ".. toctree::",
        "   :hidden:",
        "",
        *(f"   {name}" for name in names),
        "",
    ]
    return "\n".join(lines)


def _write_if_changed(path, text):
    """Write ``text`` unless the file holds it already (Sphinx rereads changed files)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_method_pages(app):
    """Write the method pages into the source directory (``builder-inited``)."""
    srcdir = Path(app.srcdir)
    names = mne_xai.list_methods()
    csv_path = srcdir / BENCHMARK_CSV
    table = None
    if csv_path.exists():
        table = BenchmarkTable(read_benchmark(csv_path), names)
    else:
        logger.warning(
            f"The benchmark table {csv_path} is missing.", type="method_pages"
        )
    guide = (srcdir / GUIDE).read_text(encoding="utf-8")
    outdir = srcdir / OUTPUT_DIR
    outdir.mkdir(parents=True, exist_ok=True)
    for name in names:
        missing = [marker for marker in guide_markers(name) if marker not in guide]
        if missing:
            logger.warning(
                f"{GUIDE} has no section for the method {name!r} (missing {missing}).",
                type="method_pages",
            )
        page, problems = method_page(name, table, guide)
        for problem in problems:
            logger.warning(problem, type="method_pages")
        _write_if_changed(outdir / f"{name}.rst", page)
    for stale in (
        set(outdir.glob("*.rst"))
        - {outdir / f"{name}.rst" for name in names}
        - {outdir / "index.rst"}
    ):
        stale.unlink()
    _write_if_changed(outdir / "index.rst", index_page(names, table))


def setup(app):
    """Register the page writer."""
    app.connect("builder-inited", write_method_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
