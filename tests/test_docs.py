"""The documentation cannot drift from the code: methods, API reference, gallery.

These check the sources of the site, not a build of it (``make doc`` builds it).
"""

import ast
import importlib
import inspect
import math
import re
import runpy
import sys
from pathlib import Path

import pytest
from numpydoc.docscrape import NumpyDocString

import mne_xai
from mne_xai.attribution._registry import get_method

# The page writer is a Sphinx extension (sphinx and numpydoc are in the test extra).
DOC = Path(__file__).parents[1] / "doc"
EXAMPLES = Path(__file__).parents[1] / "examples"
sys.path.insert(0, str(DOC / "sphinxext"))
method_pages = importlib.import_module("method_pages")

SUBPACKAGES = [
    "mne_xai",
    "mne_xai.attribution",
    "mne_xai.evaluate",
    "mne_xai.inspect",
    "mne_xai.recordings",
    "mne_xai.simulation",
    "mne_xai.datasets",
    "mne_xai.viz",
    "mne_xai.models",
    "mne_xai.report",
]


@pytest.fixture(scope="module")
def benchmark():
    values = method_pages.read_benchmark(DOC / method_pages.BENCHMARK_CSV)
    return method_pages.BenchmarkTable(values, mne_xai.list_methods())


def _public_objects(module_name):
    """Functions and classes a user reaches by name in the module."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_")
            and getattr(obj, "__module__", None) == module_name
        ]
    objects = {name: getattr(module, name) for name in names}
    return {
        name: obj
        for name, obj in objects.items()
        if inspect.isfunction(obj) or inspect.isclass(obj)
    }


def _api_objects():
    """The objects the autosummary tables of api.rst document."""
    text = (DOC / "api.rst").read_text()
    documented = []
    for block in re.findall(
        r"\.\. autosummary::\n(?:   :.*\n)*\n((?:   \S.*\n)+)", text
    ):
        for name in block.split():
            obj = mne_xai
            for part in name.split("."):
                obj = getattr(obj, part, None) or importlib.import_module(
                    f"{obj.__name__}.{part}"
                )
            documented.append(obj)
    return documented


@pytest.mark.parametrize("module_name", SUBPACKAGES)
def test_api_reference_lists_every_public_name(module_name):
    documented = _api_objects()
    missing = [
        f"{module_name}.{name}"
        for name, obj in _public_objects(module_name).items()
        if not any(obj is other for other in documented)
    ]
    assert not missing, f"add to doc/api.rst: {missing}"


def _rendered_docstrings():
    """The docstrings the site renders: the API's objects, their members, the methods."""
    objects = [*_api_objects(), *map(get_method, mne_xai.list_methods())]
    for obj in objects:
        yield obj.__doc__ or ""
        if inspect.isclass(obj):
            for name, member in vars(obj).items():
                if not name.startswith("_"):
                    yield getattr(member, "__doc__", None) or ""


def test_every_module_the_docs_link_to_is_declared():
    """:mod: roles to modules api.rst does not declare rendered as plain code."""
    declared = set(
        re.findall(r"^\.\. py:module:: (\S+)$", (DOC / "api.rst").read_text(), re.M)
    )
    sources = [
        path.read_text() for path in (*DOC.glob("*.rst"), *DOC.glob("user_guide/*.rst"))
    ]
    linked = {
        name
        for text in (*sources, *_rendered_docstrings())
        for name in re.findall(r":mod:`~?(mne_xai[\w.]*)`", text)
    }
    assert linked, "no :mod: role found: the pattern is wrong"
    assert linked <= declared, f"declare in doc/api.rst: {sorted(linked - declared)}"


_ENTRY_SECTIONS = {"Parameters", "Returns", "Yields", "Attributes", "Raises"}


def test_shared_entries_keep_the_indentation_of_their_description():
    """A docdict entry put in a description, not at a parameter's place, had
    its second and later lines rendered at the parameter names' level:
    decision_function's Returns read as three more return values."""
    misplaced = []
    for docstring in _rendered_docstrings():
        lines = inspect.cleandoc(docstring).splitlines()
        section = None
        for line, underline in zip(lines, lines[1:], strict=False):
            if re.fullmatch(r"-{3,}", underline.strip()):
                section = line.strip()
            elif (
                section in _ENTRY_SECTIONS
                and line[:1] not in ("", " ", "-")
                and " : " not in line
                and ("``" in line or line.rstrip().endswith((".", ",")))
            ):
                misplaced.append(line)
    assert not misplaced, misplaced


def test_defaults_the_descriptions_name_are_the_signatures():
    """A description saying "The default, ``"deeplift"``, ..." tells what a
    call without the parameter does; the shared entries (explain's method,
    the checks' "saliency") are written apart from the signatures they
    describe, and a default named wrongly there passed every test."""
    named = {}
    for obj in _api_objects():
        if not inspect.isfunction(obj):
            continue
        parameters = inspect.signature(obj).parameters
        for entry in NumpyDocString(inspect.cleandoc(obj.__doc__))["Parameters"]:
            text = " ".join(entry.desc)
            for match in re.finditer(r"[Tt]he\s+default,\s+``([^`]+)``", text):
                default = parameters[entry.name].default
                named[f"{obj.__qualname__}({entry.name})"] = (
                    ast.literal_eval(match.group(1)),
                    default,
                )
    assert len(named) >= 8, "no default found: the pattern is wrong"
    wrong = {name: pair for name, pair in named.items() if pair[0] != pair[1]}
    assert not wrong, wrong


@pytest.mark.parametrize(
    "classifier", [mne_xai.EEGNetClassifier, mne_xai.InterpretableCNNClassifier]
)
def test_classifiers_name_the_network_module_none_builds(classifier):
    """The classifiers share their docstring but for the default network,
    filled in for each: ``module=None`` means the class it builds."""
    named = f"means :class:`mne_xai.models.{classifier._default_module.__name__}`"
    assert f"``None`` {named}" in " ".join(classifier.__doc__.split())


def _entry_names(docstring, section):
    """Names of a numpydoc section's entries: ``tmin, tmax : float`` gives two."""
    entries = NumpyDocString(inspect.cleandoc(docstring or ""))[section]
    return [
        name.strip().lstrip("*") for entry in entries for name in entry.name.split(",")
    ]


def _rendered_signatures():
    """(name, signature, documented names) of every call the site renders.

    A class's signature is its ``__init__``'s, whose arguments its docstring
    or a base class's documents (an attribution method's ``module``, by
    AttributionMethod); the result classes, which users receive rather than
    build, document them as Attributes (those built as a Bunch, by keyword,
    their keys). Public methods are those of the class and of its mne_xai
    bases, as the pages list them, less those conf.py leaves out (skorch's
    hooks).
    """
    skipped = runpy.run_path(str(DOC / "conf.py"))["_skip_framework_members"]
    objects = [*_api_objects(), *map(get_method, mne_xai.list_methods())]
    # Once each (a method is listed twice), and without data (FREQUENCY_BANDS).
    callables = {id(obj): obj for obj in objects if callable(obj)}
    for obj in callables.values():
        if not inspect.isclass(obj):
            yield obj.__qualname__, inspect.signature(obj), _documented(obj.__doc__)
            continue
        documented = dict.fromkeys(
            name
            for klass in obj.__mro__
            if klass.__module__.startswith("mne_xai")
            for name in _documented(klass.__doc__)
        )
        if obj.__init__.__module__.startswith("mne_xai"):  # not a Bunch's **kwargs
            yield obj.__qualname__, inspect.signature(obj), list(documented)
        members = {
            name: member
            for klass in reversed(obj.__mro__)
            if klass.__module__.startswith("mne_xai")
            for name, member in vars(klass).items()
        }
        for name, member in members.items():
            function = getattr(member, "__func__", member)  # class and static methods
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            if not function.__module__.startswith("mne_xai") or skipped(
                None, "method", name, member, False, None
            ):
                continue
            signature = inspect.signature(getattr(obj, name))
            if inspect.isfunction(member):  # unbound: self comes first
                signature = signature.replace(
                    parameters=list(signature.parameters.values())[1:]
                )
            yield f"{obj.__qualname__}.{name}", signature, _documented(member.__doc__)


def _documented(docstring):
    """Names of the Parameters of a docstring, else of its Attributes."""
    return _entry_names(docstring, "Parameters") or _entry_names(
        docstring, "Attributes"
    )


def test_docstrings_document_the_parameters_of_their_signatures():
    """The reference renders the signature beside the Parameters: a parameter
    missing from them, or one documented that the signature lacks, misleads."""
    mismatches = []
    n_checked = 0
    for name, signature, documented in _rendered_signatures():
        parameters = list(signature.parameters)
        takes_any_keyword = any(
            parameter.kind is inspect.Parameter.VAR_KEYWORD
            for parameter in signature.parameters.values()
        )
        missing = [p for p in parameters if p not in documented]
        unknown = [] if takes_any_keyword else sorted(set(documented) - {*parameters})
        if missing or unknown:
            mismatches.append(f"{name}: undocumented {missing}, unknown {unknown}")
        elif [p for p in documented if p in parameters] != parameters:
            mismatches.append(f"{name}: documented in another order than {parameters}")
        n_checked += 1
    assert n_checked > 150, "too few signatures found: _rendered_signatures is wrong"
    assert not mismatches, "\n".join(mismatches)


def test_api_reference_names_every_method():
    table = (DOC / "api.rst").read_text()
    for name in mne_xai.list_methods():
        cls = get_method(name)
        assert re.search(
            rf"^``{name}``\s+:class:`{cls.__module__}\.{cls.__qualname__}`$",
            table,
            re.M,
        ), name


@pytest.mark.parametrize("name", mne_xai.list_methods())
def test_method_page(name, benchmark):
    cls = get_method(name)
    guide = (DOC / method_pages.GUIDE).read_text()
    page, problems = method_pages.method_page(name, benchmark, guide)
    assert not problems
    assert f".. autoclass:: {cls.__module__}.{cls.__qualname__}" in page
    # Each parameter with its default and the description from ``attribute``.
    for parameter, (default, kind, description) in method_pages.documented_parameters(
        cls
    ).items():
        assert kind is not None and description, parameter
        assert f"``{parameter}`` : {kind}, default" in page
        assert description[0] in page
        assert f"{parameter}={default!r}".replace("'", '"') in page
    # "When to use it" includes the method's own section of the guide.
    start, end = method_pages.guide_markers(name)
    assert guide.count(start) == 1 and guide.count(end) == 1
    assert guide.index(start) < guide.index(end)
    assert f":start-after: {start}" in page and f":end-before: {end}" in page
    # "What the trust checks found": a table, or a plain statement.
    if name in benchmark.scored:
        assert ".. list-table::" in page
    else:
        assert f"``{name}`` was not in the benchmark" in page


def test_method_page_values_come_from_the_benchmark(benchmark):
    """The localization cell is the mean of the method's simulations, ranked."""
    values = benchmark.values
    simulations = benchmark.simulations
    rma = {
        method: sum(
            values[("EEGNet", "localization", data, method, "RMA")]
            for data in simulations
        )
        / len(simulations)
        for method in benchmark.scored
    }
    best = max(rma, key=rma.get)
    row = next(benchmark.rows(best))
    assert row[0].startswith("Localization: relevance mass accuracy")
    assert row[2] == f"{rma[best]:.2f} (1st of {len(benchmark.scored)})"
    worst = min(rma, key=rma.get)
    rank = sum(value > rma[worst] for value in rma.values()) + 1
    ordinal = method_pages._ordinal(rank)
    assert next(benchmark.rows(worst))[2].endswith(f"({ordinal} of {len(rma)})")
    assert not math.isnan(rma[best])


@pytest.mark.parametrize(
    "rank, ordinal",
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
    ],
)
def test_ordinal(rank, ordinal):
    assert method_pages._ordinal(rank) == ordinal


def test_alias_points_to_the_benchmarked_method(benchmark):
    aliases = {
        name
        for name in mne_xai.list_methods()
        if name not in benchmark.scored
        and method_pages._same_computation(name, sorted(benchmark.scored))
    }
    assert "lrp" in aliases
    guide = (DOC / method_pages.GUIDE).read_text()
    page, _ = method_pages.method_page("lrp", benchmark, guide)
    assert ":ref:`method-lrp_epsilon`" in page


@pytest.mark.parametrize("gallery", ["fast", "full"])
def test_gallery_runs_the_examples_it_should(gallery, monkeypatch):
    monkeypatch.setenv("MNE_XAI_DOC_GALLERY", gallery)
    conf = runpy.run_path(str(DOC / "conf.py"))
    examples = sorted(path.name for path in EXAMPLES.glob("plot_*.py"))
    slow = set(conf["SLOW_EXAMPLES"])
    assert slow <= set(examples), "SLOW_EXAMPLES names a missing example"
    pattern = re.compile(conf["sphinx_gallery_conf"]["filename_pattern"])
    run = {name for name in examples if pattern.search(str(EXAMPLES / name))}
    assert run == (set(examples) if gallery == "full" else set(examples) - slow)


def test_gallery_order_lists_every_example():
    order = importlib.import_module("gallery_order").ORDER
    assert sorted(order) == sorted(path.name for path in EXAMPLES.glob("plot_*.py"))
