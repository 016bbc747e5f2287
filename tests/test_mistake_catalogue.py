"""The grader against a catalogue of known mistakes and correct rewrites.

Two files make the catalogue: tests/submissions/variants.py (mistakes and rewrites the maintainers
imagined) and tests/submissions/real_world.py (habits transplanted from real student and tutorial
code). Every variant is written to a temporary directory and all of them, with correct.py, are
graded by ONE `python -m grading.check --json --same-author` call: the catalogue is one author's
(ours), so its files share a sandbox per job and each runs in a fresh process forked from a warm one
(tests/test_check_command.py shows that this gives each file the result of a sandbox of its own).
The tests below then read that JSON:

* a mutant loses points in its own part, keeps full points everywhere else, and is named by its
  hint (with the hint's text in the message the student reads); every failed check of its part
  carries a hint, and none names a mistake it did not make;
* an alternative, and correct.py, get full marks;
* the grader never trips on its own code (hint "grader_error");
* grading is deterministic: a submission graded twice gives the same JSON;
* the README's numbers about the catalogue are the catalogue's.
"""

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grader_tests import submission
from grader_tests.compare import Hint
from grader_tests.points import MAX_TOTAL, MODULE_OF_PART, PARTS

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
CORRECT = SUBMISSIONS / "correct.py"
README = ROOT / "README.md"
# s for the whole catalogue: ~170 submissions (a few s of CPU each), two at a time; generous, because
# the machine running the suite may be busy with other work.
GRADING_TIMEOUT = 7200


def _load(name):
    spec = importlib.util.spec_from_file_location(f"grader_catalogue_{name}", SUBMISSIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


variants = _load("variants")
real_world = _load("real_world")
CATALOGUES = (variants, real_world)
MUTANTS = [variant for catalogue in CATALOGUES for variant in catalogue.MUTANTS]
ALTERNATIVES = [variant for catalogue in CATALOGUES for variant in catalogue.ALTERNATIVES]

# Graded twice in the same call, to check that grading is deterministic.
REPEATED_MUTANT = "train_sparse_history"

# Hints a mutant may get besides its own, because they describe it too.
ALSO_TRUE = {
    "softmax_float_of_max": {"unstable"},  # subtracting the global max also turns far-off rows into 0/0
    **real_world.ALSO_TRUE,
}


def hint_texts(part):
    """{hint id: student text} of the hints the checks of ``part`` can give."""
    module = importlib.import_module(f"grader_tests.test_{MODULE_OF_PART[part]}")
    texts = {}
    for source in (submission, module):  # the part's own hints win on equal ids
        texts.update({value.id: value.text for value in vars(source).values() if isinstance(value, Hint)})
    return texts


def _ids(items):
    return [item.id for item in items]


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """{variant id or "correct": JSON result}, plus "repeats": the results of the submissions graded twice."""
    directory = tmp_path_factory.mktemp("variants")
    paths = {}
    for variant in [*MUTANTS, *ALTERNATIVES]:
        path = directory / f"{variant.id}.py"
        path.write_text(variants.build(variant), encoding="utf-8")  # real_world.build is the same function
        paths[variant.id] = str(path)
    order = ["correct", *paths]
    paths["correct"] = str(CORRECT)
    repeated = ["correct", REPEATED_MUTANT]
    argv = [paths[key] for key in order] + [paths[key] for key in repeated]
    env = dict(os.environ, JAX_PLATFORMS="cpu", MPLBACKEND="Agg")
    completed = subprocess.run(
        [sys.executable, "-m", "grading.check", "--json", "--same-author", "--jobs", str(max(1, min(2, os.cpu_count() or 1))), *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=GRADING_TIMEOUT,
    )
    assert completed.returncode == 0, f"the grader exited with {completed.returncode}:\n{completed.stderr[-3000:]}"
    try:
        results = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        pytest.fail(f"the grader's output is not JSON ({error}):\n{completed.stdout[:2000]}\n{completed.stderr[-2000:]}")
    assert [result["submission"] for result in results] == argv
    if os.environ.get("CATALOGUE_JSON"):  # keep the results for a closer look
        Path(os.environ["CATALOGUE_JSON"]).write_text(completed.stdout, encoding="utf-8")
    by_key = dict(zip(order, results))
    by_key["repeats"] = {"first": [by_key[key] for key in repeated], "again": results[len(order):]}
    return by_key


def _failed(result, part):
    return [check for check in result["parts"][part]["checks"] if not check["passed"]]


def _describe(result, part):
    lines = [f"  {c['name']}: hint={c['hint']!r}: {c['message'][:300]}" for c in _failed(result, part)]
    return "\n".join(lines) or "  (no failed check)"


# -- the catalogue itself ---------------------------------------------------------------------

def test_catalogue_is_large_enough_and_well_formed():
    assert len(MUTANTS) >= 80 and len(ALTERNATIVES) >= 50
    ids = _ids(MUTANTS) + _ids(ALTERNATIVES)
    assert len(ids) == len(set(ids)), "variant ids must be unique (real_world.py's start with rw_)"
    assert all(v.id.startswith("rw_") for v in [*real_world.MUTANTS, *real_world.ALTERNATIVES])
    assert not any(v.id.startswith("rw_") for v in [*variants.MUTANTS, *variants.ALTERNATIVES])
    assert REPEATED_MUTANT in _ids(MUTANTS)
    assert set(ALSO_TRUE) <= set(_ids(MUTANTS)), "ALSO_TRUE names a mutant that is not in the catalogue"
    for variant in [*MUTANTS, *ALTERNATIVES]:
        assert variant.part in PARTS, variant
    assert all(variant.hint is None for variant in ALTERNATIVES)
    for catalogue in CATALOGUES:
        for part in PARTS:
            assert any(v.part == part for v in catalogue.MUTANTS), f"no mutant of {part} in {catalogue.__name__}"
            assert any(v.part == part for v in catalogue.ALTERNATIVES), f"no alternative of {part} in {catalogue.__name__}"


def test_every_mutant_names_its_mistake():
    """Every known mistake has a hint of its own (issue 14): the feedback names what went wrong."""
    assert [v.id for v in MUTANTS if not v.hint] == []


def catalogue_counts():
    """The numbers the README states about the catalogue."""
    return {
        "alternatives": len(ALTERNATIVES),
        "real_world": len(real_world.MUTANTS) + len(real_world.ALTERNATIVES),
        "mutants": len(MUTANTS),
        "hinted": sum(1 for v in MUTANTS if v.hint),
        "hints": len({(v.part, v.hint) for v in MUTANTS if v.hint}),
    }


def test_readme_states_the_catalogue_counts():
    """The README's sentence about the catalogue gives the numbers computed here."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    counts = catalogue_counts()
    patterns = {
        "alternatives": r"(\d+) such variants are in the test catalogue",
        "real_world": r"(\d+) of them transplanted from real",
        "mutants": r"with (\d+) known-wrong implementations",
        "hinted": r"(\d+) of these \d+ mistakes get a hint of their own",
        "hints": r"(\d+) distinct hints",
    }
    for key, pattern in patterns.items():
        match = re.search(pattern, text)
        assert match, f"README.md does not say /{pattern}/ (the catalogue has {counts[key]}): {counts}"
        assert int(match.group(1)) == counts[key], f"README.md says {match.group(0)!r}; the catalogue has {counts[key]}"


@pytest.mark.parametrize("variant", [v for v in MUTANTS if v.hint], ids=_ids([v for v in MUTANTS if v.hint]))
def test_mutant_hint_is_one_the_grader_knows(variant):
    assert variant.hint in hint_texts(variant.part), f"{variant.part} has no hint {variant.hint!r}"


@pytest.mark.parametrize("variant", [*MUTANTS, *ALTERNATIVES], ids=_ids([*MUTANTS, *ALTERNATIVES]))
def test_variant_source_compiles(variant):
    compile(variants.build(variant), f"<{variant.id}>", "exec")


# -- grading results --------------------------------------------------------------------------

@pytest.mark.slow  # needs the whole catalogue graded (the `graded` fixture)
def test_correct_submission_gets_full_marks(graded):
    result = graded["correct"]
    assert result["score"] == MAX_TOTAL == 12 and result["load_errors"] == []
    for part in PARTS:
        assert result["parts"][part]["score"] == result["parts"][part]["max"], _describe(result, part)


@pytest.mark.slow  # needs the whole catalogue graded (the `graded` fixture)
@pytest.mark.parametrize("variant", MUTANTS, ids=_ids(MUTANTS))
def test_mutant_loses_points_in_its_part(graded, variant):
    part = graded[variant.id]["parts"][variant.part]
    assert part["score"] < part["max"], f"{variant.id} is not caught: {variant.part} gets {part['score']} / {part['max']}"


@pytest.mark.slow  # needs the whole catalogue graded (the `graded` fixture)
@pytest.mark.parametrize("variant", MUTANTS, ids=_ids(MUTANTS))
def test_mutant_keeps_full_points_in_other_parts(graded, variant):
    result = graded[variant.id]
    assert result["load_errors"] == []
    for part in PARTS:
        if part != variant.part:
            got = result["parts"][part]
            assert got["score"] == got["max"], (
                f"{variant.id} (a mistake in {variant.part}) loses points in {part}:\n{_describe(result, part)}"
            )


@pytest.mark.slow  # needs the whole catalogue graded (the `graded` fixture)
@pytest.mark.parametrize("variant", [v for v in MUTANTS if v.hint], ids=_ids([v for v in MUTANTS if v.hint]))
def test_mutant_gets_its_hint(graded, variant):
    result = graded[variant.id]
    text = hint_texts(variant.part)[variant.hint]
    hinted = [check for check in _failed(result, variant.part) if check["hint"] == variant.hint]
    assert hinted, f"no failed check of {variant.part} has hint {variant.hint!r}:\n{_describe(result, variant.part)}"
    assert all(text in check["message"] for check in hinted), f"the student does not see the hint's text {text!r}"


@pytest.mark.slow  # needs the whole catalogue graded (the `graded` fixture)
@pytest.mark.parametrize("variant", MUTANTS, ids=_ids(MUTANTS))
def test_every_lost_point_comes_with_a_hint(graded, variant):
    """Each failed check of the mutant's part names a likely mistake (issue 14), not only what differs."""
    result = graded[variant.id]
    bare = [check for check in _failed(result, variant.part) if check["hint"] is None]
    assert not bare, f"{variant.id} loses points without a hint:\n{_describe(result, variant.part)}"


@pytest.mark.slow  # needs the whole catalogue graded (the `graded` fixture)
@pytest.mark.parametrize("variant", MUTANTS, ids=_ids(MUTANTS))
def test_mutant_gets_no_misleading_hint(graded, variant):
    """The failed checks name the mutant's own mistake, or none: never a mistake it did not make."""
    result = graded[variant.id]
    allowed = {None, variant.hint} | ALSO_TRUE.get(variant.id, set())
    wrong = [check for check in _failed(result, variant.part) if check["hint"] not in allowed]
    assert not wrong, f"{variant.id} gets hints it does not deserve:\n{_describe(result, variant.part)}"


@pytest.mark.slow  # needs the whole catalogue graded (the `graded` fixture)
@pytest.mark.parametrize("variant", ALTERNATIVES, ids=_ids(ALTERNATIVES))
def test_alternative_gets_full_marks(graded, variant):
    result = graded[variant.id]
    assert result["load_errors"] == []
    for part in PARTS:
        got = result["parts"][part]
        assert got["score"] == got["max"], (
            f"the correct alternative {variant.id} loses points in {part}:\n{_describe(result, part)}"
        )
    assert result["score"] == 12


@pytest.mark.slow  # needs the whole catalogue graded (the `graded` fixture)
@pytest.mark.parametrize("key", ["correct", *_ids(MUTANTS), *_ids(ALTERNATIVES)])
def test_grader_never_trips_on_its_own_code(graded, key):
    result = graded[key]
    errors = [(part, check) for part in PARTS for check in result["parts"][part]["checks"] if check["hint"] == "grader_error"]
    assert not errors, "\n".join(f"{part}/{check['name']}: {check['message']}" for part, check in errors)


@pytest.mark.slow  # needs the whole catalogue graded (the `graded` fixture)
def test_grading_is_deterministic(graded):
    first, again = graded["repeats"]["first"], graded["repeats"]["again"]
    assert len(first) == len(again) == 2
    for one, two in zip(first, again):
        assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True), f"{one['submission']} graded twice differs"
