"""The release notebook's visible checks against the grader's catalogue of mistakes (issue 22, part 6).

A student runs the cell below each answer and reads `ok` or `FAILED <what is wrong>`. Those lines
must never mislead: for every variant of the catalogue (tests/submissions/: correct.py, every
ALTERNATIVE, every MUTANT of variants.py and real_world*.py), each visible check either passes or
its FAILED line names a mistake the variant really made. Visible checks are a sample of the hidden
ones, so a mutant may pass all of them.

The cells are taken from release/perceptrons/perceptrons.ipynb with nbformat (never copied): the
exercise's setup cell, the check helper, and the six test cells (the release has no hidden block).
Each variant runs in a fresh namespace: setup cell, helper, the variant's source (correct.py with
one part redefined), then the six test cells, stdout captured per cell. The catalogue is our own
trusted code, so it runs without a sandbox, in a few worker processes (this file run as a script)
that import JAX and PyTorch once.

"Names the real cause" is made precise by VISIBLE (every FAILED wording of the notebook, per part)
and TRUE_FOR (per part and hint id of the catalogue, the wordings that are true of that mistake).
A FAILED line in a part other than the mutant's part fails this test: the checks of one part must
not blame it for another part's mistake.
"""

import ast
import contextlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "release" / "perceptrons" / "perceptrons.ipynb"
SUBMISSIONS = ROOT / "tests" / "submissions"
PARTS = ["softmax", "forward_pass", "cross_entropy_loss", "update_params", "train_nn", "MultiClassNet"]
CHECK_LINE = re.compile(r"^(ok {6}|FAILED {2}|skipped )")
WORKERS = max(1, min(2, os.cpu_count() or 1))
CHECK_SECONDS = 300  # a check's time limit here (the notebook's is 10 s)
WORKER_TIMEOUT = 900  # s for half the catalogue on a busy machine (about 1 s a variant when idle)


def _load(name):
    spec = importlib.util.spec_from_file_location(f"visible_checks_{name}", SUBMISSIONS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- what each visible FAILED line means -------------------------------------------------------

# Every visible check of the release, by part: an id and the wording its FAILED line starts with
# when the check is false. When the check raises, the line is `FAILED  <description>: <error>`,
# with the id `<id>:raises` (the student's code raised on the check's input).
VISIBLE = {
    "softmax": {
        "shape": "softmax(z) of a (2, 3) array does not have shape (2, 3)",
        "rows_sum_to_1": "rows do not sum to 1",
        "values": "values differ from exp(z) / sum(exp(z)) of each row",
        "overflow": "overflows for large inputs: inf/nan",
        "grad": "jax.grad gives a gradient that is not finite",
    },
    "forward_pass": {
        "shape": "forward_pass(params, X) with D = 2, H = 5, C = 3 does not return logits of shape (N, C) = (4, 3)",
        "logits": "the output is not the logits h @ W_2 + b_2: zero weights do not give b_2 = [1, 2, 3]",
        "tanh": "the hidden activation is not tanh",
    },
    "cross_entropy_loss": {
        "scalar": "cross_entropy_loss does not return a scalar",
        "log_3": "uniform predictions (all logits 0) do not give log(3) = 1.0986",
        "confident": "confident, correct predictions (logit 20 for the true class) do not give a loss close to 0",
        "gradient": "the gradient with respect to b_2 is not the mean of the rows of P - Y",
    },
    "update_params": {
        "shapes": "update_params does not return parameters of the shapes of params",
        "step": "the parameters do not become params - lr * grads",
    },
    "train_nn": {
        "pair": "train_nn does not return the pair (params, loss_history), params first",
        "one_per_iteration": "loss_history does not have one loss per iteration",
        "goes_down": "the loss does not go down",
        "uses_loss_func": "the losses are not those of the loss_func given (here all at least 10)",
        "param_shapes": "params are not (W_1, b_1, W_2, b_2) with W_1 of shape (2, H) and W_2 of shape (H, 3)",
    },
    "MultiClassNet": {
        "module": "MultiClassNet(2, 16, 3) is not an nn.Module that maps (5, 2) inputs to (5, 3) outputs",
        "logits": "forward returns probabilities: the rows sum to 1",
        "one_hidden_layer": "MultiClassNet(2, 7, 3) does not have the (2+1)*7 + (7+1)*3 = 45 parameters of one hidden layer",
    },
}

# (part, hint id of the catalogue): the visible FAILED lines that are true of that mistake. A mutant
# may print fewer (or none: visible checks are a sample of the hidden ones), never another one.
TRUE_FOR = {
    ("softmax", "wrong_axis"): {"rows_sum_to_1", "values"},
    ("softmax", "whole_array"): {"rows_sum_to_1", "values"},
    ("softmax", "log_probs"): {"rows_sum_to_1", "values"},
    ("softmax", "unstable"): {"overflow"},
    ("softmax", "numpy"): {"grad:raises"},  # a NumPy round trip or float() cannot be traced
    ("softmax", "no_keepdims"): {"shape:raises"},  # (2, 3) / (2,) does not broadcast
    ("forward_pass", "no_bias"): {"logits"},
    ("forward_pass", "returns_probs"): {"logits"},
    ("forward_pass", "returns_log_probs"): {"logits"},
    ("forward_pass", "output_activation"): {"logits"},
    ("forward_pass", "wrong_activation"): {"tanh"},
    ("forward_pass", "no_activation"): {"tanh"},
    ("forward_pass", "param_order"): {"shape:raises"},  # the shapes do not fit
    ("forward_pass", "bias_index"): {"shape:raises"},
    ("cross_entropy_loss", "sum_not_mean"): {"log_3", "gradient"},
    ("cross_entropy_loss", "mean_over_all"): {"log_3", "gradient"},
    ("cross_entropy_loss", "missing_minus"): {"log_3", "gradient"},
    ("cross_entropy_loss", "log_base"): {"log_3", "gradient"},
    ("cross_entropy_loss", "no_log"): {"log_3", "gradient"},
    ("cross_entropy_loss", "mse"): {"log_3", "gradient"},
    ("cross_entropy_loss", "raw_logits"): {"log_3", "gradient"},
    ("cross_entropy_loss", "binary_form"): {"log_3", "confident", "gradient"},
    ("cross_entropy_loss", "double_softmax"): {"confident", "gradient"},
    ("cross_entropy_loss", "not_reduced"): {"scalar"},
    ("cross_entropy_loss", "regularization"): {"log_3", "confident", "gradient"},  # a penalty changes value and gradient
    # the global data instead of the arguments: other values, or shapes that do not fit
    ("cross_entropy_loss", "reads_global"): {"scalar:raises", "confident", "gradient"},
    ("update_params", "wrong_sign"): {"step"},
    ("update_params", "no_lr"): {"step"},
    ("update_params", "returns_old"): {"step"},
    ("update_params", "partial_update"): {"step"},
    ("update_params", "not_a_tuple"): {"shapes"},
    ("update_params", "returns_none"): {"shapes"},
    ("update_params", "in_place"): {"shapes:raises"},  # a tuple does not support item assignment
    ("train_nn", "wrong_order"): {"pair"},
    ("train_nn", "history_length"): {"one_per_iteration"},
    ("train_nn", "sparse_history"): {"one_per_iteration"},
    ("train_nn", "reacts_to_loss"): {"one_per_iteration"},  # stopped early
    ("train_nn", "history_not_loss"): {"uses_loss_func"},
    ("train_nn", "ignores_loss_func"): {"uses_loss_func", "goes_down"},  # steps along another function
    ("train_nn", "never_updates"): {"goes_down"},
    ("train_nn", "param_order"): {"param_shapes"},
    ("train_nn", "grad_wrt_X"): {"pair:raises"},  # a gradient of X's shape is stepped into W_1
    ("train_nn", "ignores_lr"): {"goes_down"},  # its own step size may diverge
    ("train_nn", "not_plain_gd"): {"goes_down"},  # momentum or Adam may overshoot
    ("train_nn", "mini_batch"): {"one_per_iteration"},  # a loss per mini-batch
    ("train_nn", "symmetric_init"): set(),  # the test loss_func does not need different hidden units
    ("train_nn", "train_reads_global"): set(),  # the checks pass the notebook's own X and Y_onehot
    ("MultiClassNet", "returns_probs"): {"logits"},
    ("MultiClassNet", "ignores_n_hidden"): {"one_hidden_layer"},
    ("MultiClassNet", "two_hidden_layers"): {"one_hidden_layer"},
    ("MultiClassNet", "output_in_features"): {"module:raises"},  # the output layer's sizes do not fit
    ("MultiClassNet", "output_activation"): {"logits"},  # a softmax on the output
    ("MultiClassNet", "returns_log_probs"): set(),  # log-probabilities do not sum to 1 either
    ("MultiClassNet", "wrong_activation"): set(),  # the visible checks do not look inside the hidden layer
    ("MultiClassNet", "no_activation"): set(),
}


# -- the notebook's cells ---------------------------------------------------------------------

def notebook_cells(path=RELEASE):
    """{grade id: source} of the setup cell, the check helper and the six test cells."""
    nb = nbformat.read(path, as_version=4)
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source for cell in nb.cells}
    wanted = ["exercise_setup", "check_helper", *(f"{part}_checks" for part in PARTS)]
    missing = [grade_id for grade_id in wanted if grade_id not in by_id]
    assert not missing, f"{path} has no cell(s) {missing}"
    return {grade_id: by_id[grade_id] for grade_id in wanted}


def run_visible_checks(cells, source, name):
    """{part: the check lines its test cell printed} for one variant, in a fresh namespace.

    An exception escaping a test cell is a bug of the checks (they must never stop the notebook):
    it is reported as a line `ERROR <exception>`.
    """
    namespace = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        exec(compile(cells["exercise_setup"], "<exercise_setup>", "exec"), namespace)
        exec(compile(cells["check_helper"], "<check_helper>", "exec"), namespace)
        # A busy machine, not the variant, may need more than a check's 10 s (the time limit itself
        # is tested in tests/test_student_notebook.py): here a check gets CHECK_SECONDS.
        namespace["check"].__defaults__ = (CHECK_SECONDS, *namespace["check"].__defaults__[1:])
        exec(compile(source, f"<{name}>", "exec"), namespace)
    lines = {}
    for part in PARTS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            try:
                exec(compile(cells[f"{part}_checks"], f"<{part}_checks>", "exec"), namespace)
            except BaseException as error:  # noqa: BLE001 - reported, the test fails on it
                print(f"ERROR {type(error).__name__}: {error}")
        lines[part] = [line for line in out.getvalue().splitlines() if CHECK_LINE.match(line) or line.startswith("ERROR ")]
    return lines


def _worker():
    """Script mode: reads {"cells", "variants": [[id, source]...]} from stdin, prints {id: lines}.

    JAX keeps its compilations in a directory of this run, so that the same program (a correct
    part, the checks' own functions) is compiled once, not once per variant.
    """
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("MPLBACKEND", "Agg")
    from grading import XLA_FLAGS  # noqa: PLC0415 - sets nothing else; imports no JAX

    os.environ.setdefault("XLA_FLAGS", XLA_FLAGS)  # as grading does
    job = json.load(sys.stdin)
    import jax  # noqa: PLC0415 - after the environment is set

    jax.config.update("jax_compilation_cache_dir", job["cache"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    results = {}
    for name, source in job["variants"]:
        started = time.monotonic()
        results[name] = run_visible_checks(job["cells"], source, name)
        if os.environ.get("VISIBLE_CHECKS_PROGRESS"):
            print(f"{name}: {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    json.dump(results, sys.stdout)


# -- classifying the lines ----------------------------------------------------------------------

def check_calls(source):
    """[(description, failed wording)] of the check(...) calls of a test cell, in order."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check":
            description = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            failed = next((kw.value.value for kw in node.keywords if kw.arg == "failed" and isinstance(kw.value, ast.Constant)), None)
            calls.append((description, failed))
    return calls


def line_ids(cells):
    """{part: [(prefix of a FAILED line, id)]}, longest prefix first, from the notebook's check calls and VISIBLE."""
    table = {}
    for part in PARTS:
        calls = check_calls(cells[f"{part}_checks"])
        by_wording = {wording: key for key, wording in VISIBLE[part].items()}
        prefixes = []
        for description, failed in calls:
            key = by_wording[failed]
            prefixes += [(f"FAILED  {failed}", key), (f"FAILED  {description}: ", f"{key}:raises")]
        table[part] = sorted(prefixes, key=lambda item: -len(item[0]))
    return table


def classify(line, prefixes):
    """The id of a FAILED line (None for ok and skipped lines); "?" when no check prints it."""
    if not line.startswith(("FAILED", "ERROR")):
        return None
    for prefix, key in prefixes:
        if line == prefix or line.startswith(prefix if prefix.endswith(": ") else prefix + " ("):
            return key
    return "?"


# -- the tests --------------------------------------------------------------------------------

variants = _load("variants")
real_world = _load("real_world")  # with real_world_loops.py and real_world_models.py
MUTANTS = [variant for catalogue in (variants, real_world) for variant in catalogue.MUTANTS]
ALTERNATIVES = [variant for catalogue in (variants, real_world) for variant in catalogue.ALTERNATIVES]
ALSO_TRUE = {"softmax_float_of_max": {"unstable"}, **real_world.ALSO_TRUE}  # as tests/test_mistake_catalogue.py


@pytest.fixture(scope="module")
def cells():
    return notebook_cells()


@pytest.fixture(scope="module")
def visible(cells, tmp_path_factory):
    """{variant id or "correct": {part: lines}}: the whole catalogue, in WORKERS processes."""
    jobs = [("correct", (SUBMISSIONS / "correct.py").read_text(encoding="utf-8"))]
    jobs += [(variant.id, variants.build(variant)) for variant in [*MUTANTS, *ALTERNATIVES]]
    cache = str(tmp_path_factory.mktemp("jax_cache"))
    env = dict(os.environ, JAX_PLATFORMS="cpu", MPLBACKEND="Agg")
    workers = [subprocess.Popen([sys.executable, __file__], cwd=ROOT, env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(WORKERS)]
    with ThreadPoolExecutor(WORKERS) as pool:
        outputs = list(pool.map(lambda index: workers[index].communicate(
            json.dumps({"cells": cells, "variants": jobs[index::WORKERS], "cache": cache}), timeout=WORKER_TIMEOUT),
            range(WORKERS)))
    results = {}
    for worker, (stdout, stderr) in zip(workers, outputs):
        assert worker.returncode == 0, f"a worker exited with {worker.returncode}:\n{stderr[-3000:]}"
        results.update(json.loads(stdout))
    assert set(results) == {name for name, _ in jobs}
    return results


def test_every_failed_wording_has_an_id(cells):
    """VISIBLE is the notebook's: each check has a `failed=` wording, and each wording an id."""
    for part in PARTS:
        calls = check_calls(cells[f"{part}_checks"])
        assert calls and all(description and failed for description, failed in calls), (part, calls)
        assert sorted(failed for _, failed in calls) == sorted(VISIBLE[part].values()), part


def test_every_hint_of_the_catalogue_is_in_the_table():
    """A new mistake in the catalogue gets a row saying which visible lines are true of it."""
    hints = {(variant.part, variant.hint) for variant in MUTANTS}
    assert hints - set(TRUE_FOR) == set()
    for (part, _), keys in TRUE_FOR.items():
        assert {key.removesuffix(":raises") for key in keys} <= set(VISIBLE[part]), (part, keys)


def _failures(result, prefixes):
    return {part: [(classify(line, prefixes[part]), line) for line in lines if classify(line, prefixes[part])]
            for part, lines in result.items()}


@pytest.mark.slow  # the whole catalogue through the visible checks: about a minute on an idle 2-core machine
def test_correct_and_alternatives_pass_every_visible_check(visible, cells):
    prefixes = line_ids(cells)
    for key in ["correct", *(variant.id for variant in ALTERNATIVES)]:
        lines = visible[key]
        assert all(lines[part] for part in PARTS), (key, lines)  # every cell printed its checks
        failed = {part: found for part, found in _failures(lines, prefixes).items() if found}
        assert not failed, f"{key} is correct but: {failed}"
        assert not [line for part in PARTS for line in lines[part] if line.startswith("skipped")], (key, lines)


@pytest.mark.slow  # the whole catalogue through the visible checks (the same run as above)
def test_a_mutant_is_told_only_its_own_mistake(visible, cells):
    """Every FAILED line of a mutant is in its own part and true of its mistake (TRUE_FOR)."""
    prefixes = line_ids(cells)
    wrong = []
    for variant in MUTANTS:
        allowed = set().union(*(TRUE_FOR.get((variant.part, hint), set()) for hint in {variant.hint} | ALSO_TRUE.get(variant.id, set())))
        for part, found in _failures(visible[variant.id], prefixes).items():
            for key, line in found:
                if part != variant.part or key not in allowed:
                    wrong.append(f"{variant.id} ({variant.part}, {variant.hint}) in {part}: [{key}] {line[:200]}")
    assert not wrong, "visible checks that blame the wrong thing:\n" + "\n".join(wrong)


@pytest.mark.slow  # the whole catalogue through the visible checks (the same run as above)
def test_the_visible_checks_catch_most_mistakes(visible, cells):
    """Not a promise to students (visible checks are a sample), but a guard against checks that never fire."""
    prefixes = line_ids(cells)
    caught = [variant.id for variant in MUTANTS if any(_failures(visible[variant.id], prefixes)[variant.part])]
    assert len(caught) >= 0.6 * len(MUTANTS), f"only {len(caught)} of {len(MUTANTS)} mutants fail a visible check"
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    stated = re.search(r"(\d+) of the (\d+) known mistakes fail a visible check", readme)
    assert stated and (int(stated[1]), int(stated[2])) == (len(caught), len(MUTANTS)), (
        f"README.md should say {len(caught)} of the {len(MUTANTS)} known mistakes fail a visible check")


if __name__ == "__main__":
    _worker()
