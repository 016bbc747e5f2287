"""Set-up on the Pythons that TAs and students have (requires-python in pyproject.toml).

- requirements.txt is fully pinned and, for every supported Python, the pins that apply to it
  resolve to exactly themselves (uv's resolver for that Python on Linux x86_64, binary wheels only,
  the package sources pip is configured with);
- tools/find_python.py picks a supported interpreter, or says in one sentence what it found, what
  is needed and how to get it (fake interpreters: small scripts that print a version), and the
  Makefile stops with that sentence before any pip output;
- tools/install_requirements.py gives uv the package sources pip is configured with;
- slow: a whole `make venv` with a second interpreter (Debian's /usr/bin/python3, 3.11.2), then the
  reference tests with that venv's python.
"""

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
FINDER = ROOT / "tools" / "find_python.py"
REQUIRES_PYTHON = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]

# One resolution per supported minor; for 3.11 the oldest release and the first one that soupsieve
# 3+ accepts (requirements.txt pins another soupsieve on either side).
RESOLVE_VERSIONS = ["3.11.0", "3.11.5", "3.12.0", "3.13.0", "3.14.0"]
# The second interpreter of the full set-up test (Debian 12's system Python on this machine).
SECOND_PYTHON = os.environ.get("SECOND_PYTHON", "/usr/bin/python3")

sys.path.insert(0, str(ROOT / "tools"))
import find_python  # noqa: E402
import install_requirements  # noqa: E402


def requirement_lines():
    lines = []
    for raw in REQUIREMENTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def pins_for(version):
    """{name: pinned version} of the requirements.txt lines whose markers hold on Python `version`."""
    env = {"python_version": ".".join(version.split(".")[:2]), "python_full_version": version,
           "implementation_version": version, "implementation_name": "cpython",
           "platform_python_implementation": "CPython"}
    pins = {}
    for line in requirement_lines():
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            assert name not in pins, f"{req.name} is pinned twice for Python {version}"
            pins[name] = next(iter(req.specifier)).version
    return pins


def test_every_requirement_is_pinned_exactly():
    for line in requirement_lines():
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version, line
        assert not req.extras and req.url is None, line
    assert "torch==2.13.0" in requirement_lines()  # exactly: the CPU build on this machine's disk


def test_the_resolved_versions_cover_every_supported_minor():
    spec = SpecifierSet(REQUIRES_PYTHON)
    supported = {f"3.{m}" for m in range(30) if any(spec.contains(f"3.{m}.{p}") for p in range(30))}
    assert supported == {".".join(v.split(".")[:2]) for v in RESOLVE_VERSIONS}
    assert all(spec.contains(v) for v in RESOLVE_VERSIONS)
    assert {"3.11", "3.12", "3.13"} <= supported  # the floor: every 3.11.x, 3.12, 3.13


def uv_executable(workdir):
    """The uv that `make` installed next to the venv (tools/install_requirements.py), else a fresh one."""
    uv = Path(sys.prefix) / ".uv" / "bin" / "uv"
    if not uv.exists():
        target = Path(workdir) / "uv"
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--target", str(target), f"uv=={install_requirements.UV_VERSION}"], check=True, timeout=600)
        uv = target / "bin" / "uv"
    return uv


def resolve(uv, version, workdir):
    """uv's resolution of requirements.txt for CPython `version` on Linux x86_64 (glibc 2.36, Debian 12's),
    binary wheels only, from the package sources pip is configured with: {name: version} or the error."""
    args, env = install_requirements.uv_options(install_requirements.pip_config(sys.executable))
    started = time.monotonic()
    proc = subprocess.run(
        [str(uv), "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python-version", version,
         "--python-platform", "x86_64-manylinux_2_36", "--only-binary", ":all:", *args, str(REQUIREMENTS)],
        capture_output=True, text=True, timeout=900, env={**os.environ, **env})
    resolved = {}
    if proc.returncode == 0:
        for line in proc.stdout.splitlines():
            if line.strip() and not line.startswith(("#", " ", "-")):
                req = Requirement(line)
                resolved[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return {"returncode": proc.returncode, "errors": proc.stderr, "resolved": resolved,
            "seconds": time.monotonic() - started}


@pytest.fixture(scope="module")
def resolutions():
    # Resolutions mostly wait on the network: all at once.
    with tempfile.TemporaryDirectory() as workdir:
        uv = uv_executable(workdir)
        with ThreadPoolExecutor(len(RESOLVE_VERSIONS)) as pool:
            futures = {v: pool.submit(resolve, uv, v, workdir) for v in RESOLVE_VERSIONS}
            yield {v: f.result() for v, f in futures.items()}


@pytest.mark.slow  # a resolution of the whole pinned set per supported Python, from PyPI (about 40 s)
@pytest.mark.parametrize("version", RESOLVE_VERSIONS)
def test_the_pinned_set_resolves_to_itself_on_every_supported_python(resolutions, version):
    result = resolutions[version]
    assert result["returncode"] == 0, f"requirements.txt does not install on Python {version}:\n{result['errors']}"
    pins = pins_for(version)
    resolved = result["resolved"]
    unpinned = sorted(set(resolved) - set(pins))
    assert not unpinned, f"Python {version} would install packages that requirements.txt does not pin: {unpinned}"
    assert set(resolved) == set(pins)
    wrong = {n: (pins[n], v) for n, v in resolved.items() if Version(v) not in SpecifierSet(f"=={pins[n]}")}
    assert not wrong, f"Python {version}: pinned vs resolved {wrong}"
    if version.startswith("3.11") and "+cpu" in resolved["torch"]:
        # This machine's CPU torch: no CUDA wheel comes with it.
        assert not [n for n in resolved if n.startswith(("nvidia-", "cuda-", "triton"))]


# --- the interpreter finder -------------------------------------------------------------------

def fake_python(directory, name, version, reported_path=None, ensurepip=True, impl="cpython"):
    """A script that answers find_python's probe like a Python `version` would, and runs the real
    Python for anything else (so that it can also run the finder itself)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    reported_path = reported_path or f"/fake/{name}-{version}"
    path.write_text(
        "#!/bin/sh\n"
        'case "$2" in *ensurepip*)\n'
        f"  printf '%s\\n' '{reported_path}' '{version}' '{impl}' '{1 if ensurepip else 0}'; exit 0;;\n"
        "esac\n"
        f'exec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return path


def run_finder(tmp_path, *args, path_dirs=(), pyenv_root=None):
    env = {k: v for k, v in os.environ.items() if k not in ("PYENV_ROOT", "PYENV_VERSION")}
    env["PATH"] = os.pathsep.join(str(d) for d in path_dirs) or str(tmp_path / "empty")
    env["PYENV_ROOT"] = str(pyenv_root or tmp_path / "no-pyenv")
    return subprocess.run([sys.executable, str(FINDER), *args], capture_output=True, text=True, env=env,
                          timeout=60)


def assert_one_sentence(message, *must_contain):
    text = message.strip()
    assert text and "\n" not in text, f"not one line:\n{message}"
    assert text.endswith("."), text
    assert "Traceback" not in text and "ERROR" not in text, text
    for part in must_contain:
        assert part in text, f"{part!r} missing from: {text}"


def test_finder_takes_python3_when_it_is_supported(tmp_path):
    bin_ = tmp_path / "bin"
    fake_python(bin_, "python3", "3.12.4")
    fake_python(bin_, "python3.13", "3.13.1")
    proc = run_finder(tmp_path, path_dirs=[bin_])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "/fake/python3-3.12.4"


def test_finder_passes_over_an_old_python3_for_a_versioned_one(tmp_path):
    bin_ = tmp_path / "bin"
    fake_python(bin_, "python3", "3.9.2")
    fake_python(bin_, "python3.12", "3.12.3")
    fake_python(bin_, "python3.11", "3.11.2")
    proc = run_finder(tmp_path, path_dirs=[bin_])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "/fake/python3.12-3.12.3"


def test_finder_falls_back_to_pyenv_newest_first(tmp_path):
    bin_ = tmp_path / "bin"
    fake_python(bin_, "python3", "3.10.12")
    root = tmp_path / "pyenv"
    for version in ("3.10.13", "3.12.1", "3.13.0", "3.15.0"):
        fake_python(root / "versions" / version / "bin", "python3", version,
                    reported_path=f"/pyenv/{version}/bin/python3")
    proc = run_finder(tmp_path, path_dirs=[bin_], pyenv_root=root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "/pyenv/3.13.0/bin/python3"


def test_finder_rejects_an_unsupported_python_in_one_sentence(tmp_path):
    bin_ = tmp_path / "bin"
    fake_python(bin_, "python3", "3.9.2")
    fake_python(bin_, "python", "2.7.18")  # `python` is not a candidate
    proc = run_finder(tmp_path, path_dirs=[bin_])
    assert proc.returncode == 1 and proc.stdout == ""
    assert_one_sentence(proc.stderr, "found Python 3.9.2", "needs Python 3.11", "3.13", REQUIRES_PYTHON,
                        "install", "PYTHON=")
    assert "2.7.18" not in proc.stderr


def test_finder_says_so_when_there_is_no_python_at_all(tmp_path):
    proc = run_finder(tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert_one_sentence(proc.stderr, "found no Python interpreter", "needs Python 3.11", "install")


def test_an_explicit_python_is_the_only_candidate(tmp_path):
    bin_ = tmp_path / "bin"
    fake_python(bin_, "python3", "3.11.7")
    chosen = fake_python(tmp_path / "other", "mypython", "3.13.2")
    proc = run_finder(tmp_path, "--python", str(chosen), path_dirs=[bin_])
    assert proc.returncode == 0 and proc.stdout.strip() == "/fake/mypython-3.13.2", proc.stderr

    old = fake_python(tmp_path / "other", "oldpython", "3.10.4")
    proc = run_finder(tmp_path, "--python", str(old), path_dirs=[bin_])  # no silent fallback to python3
    assert proc.returncode == 1 and proc.stdout == ""
    assert_one_sentence(proc.stderr, "found Python 3.10.4", f"PYTHON={old}", "needs Python")

    proc = run_finder(tmp_path, "--python", "no-such-python", path_dirs=[bin_])
    assert proc.returncode == 1
    assert_one_sentence(proc.stderr, "PYTHON=no-such-python", "does not run", "needs Python")


def test_a_supported_python_without_venv_support_gets_the_package_to_install(tmp_path):
    bin_ = tmp_path / "bin"
    fake_python(bin_, "python3", "3.11.2", ensurepip=False)  # Debian without python3-venv
    proc = run_finder(tmp_path, path_dirs=[bin_])
    assert proc.returncode == 1 and proc.stdout == ""
    assert_one_sentence(proc.stderr, "3.11.2", "apt-get install python3.11-venv")


def test_finder_version_rule_matches_requires_python():
    spec = SpecifierSet(REQUIRES_PYTHON)
    for text in ["2.7.18", "3.6.15", "3.10.13", "3.11.0", "3.11.2", "3.11.4", "3.11.5", "3.12.1", "3.13.0",
                 "3.14.2", "3.15.0", "4.0.0"]:
        version = tuple(int(x) for x in text.split("."))
        assert find_python.supported(version, REQUIRES_PYTHON) == spec.contains(text), text
    assert not find_python.supported((3, 11, 2), ">=3.11.5")
    assert find_python.supported((3, 12, 9), "==3.12.*") and not find_python.supported((3, 13, 0), "==3.12.*")
    assert find_python.supported((3, 12, 9), "~=3.12.1") and not find_python.supported((3, 13, 0), "~=3.12.1")
    assert find_python.supported((3, 13, 0), "~=3.12") and not find_python.supported((4, 0, 0), "~=3.12")


def test_finder_picks_a_supported_interpreter_on_this_machine():
    proc = subprocess.run([sys.executable, str(FINDER)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    chosen = proc.stdout.strip()
    version = subprocess.run([chosen, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert SpecifierSet(REQUIRES_PYTHON).contains(version), (chosen, version)


def old_pythons():
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = []
    for d in sorted(root.glob("[0-9]*")) if root.is_dir() else []:
        exe = d / "bin" / ("python3" if (d / "bin" / "python3").exists() else "python")
        try:
            if exe.exists() and Version(d.name) < Version("3.11"):
                found.append(exe)
        except Exception:
            continue
    return found


def test_finder_runs_under_old_pythons(tmp_path):
    olds = old_pythons()
    if not olds:
        pytest.skip("no Python older than 3.11 on this machine (pyenv)")
    bin_ = tmp_path / "bin"
    fake_python(bin_, "python3", "3.9.2")
    fake_python(bin_, "python3.13", "3.13.1")
    for old in olds:
        env = {**os.environ, "PATH": str(bin_), "PYENV_ROOT": str(tmp_path / "no-pyenv")}
        proc = subprocess.run([str(old), str(FINDER)], capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0 and proc.stdout.strip() == "/fake/python3.13-3.13.1", (old, proc.stderr)


def course_skeleton(target, extra=()):
    """The files `make venv` needs, copied into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("Makefile", "pyproject.toml", "requirements.txt", "tools", *extra):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / name)
    return target


def clean_make_env(**extra):
    """The environment without the variables of a `make` that runs this test (`make test`)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES",
                                                           "VIRTUAL_ENV", "PYENV_VERSION")}
    env.update(extra)
    return env


def test_make_stops_at_once_with_one_sentence_when_no_python_is_supported(tmp_path):
    make = shutil.which("make") or "/usr/bin/make"
    course = course_skeleton(tmp_path / "course")
    bin_ = tmp_path / "bin"
    fake_python(bin_, "python3", "3.9.2")
    env = clean_make_env(PATH=str(bin_), PYENV_ROOT=str(tmp_path / "no-pyenv"))
    started = time.monotonic()
    proc = subprocess.run([make, "venv"], cwd=course, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    assert time.monotonic() - started < 30
    assert not (course / ".venv").exists()
    assert proc.stdout == ""
    ours = [line for line in proc.stderr.splitlines() if not line.startswith("make: ***")]
    assert len(ours) == 1, proc.stderr
    assert_one_sentence(ours[0], "found Python 3.9.2", "needs Python 3.11", "install")

    # PYTHON=... names the interpreter; an unsupported one is refused the same way.
    old = fake_python(tmp_path / "other", "python3.10", "3.10.4")
    proc = subprocess.run([make, "venv", f"PYTHON={old}"], cwd=course, capture_output=True, text=True, env=env,
                          timeout=120)
    ours = [line for line in proc.stderr.splitlines() if not line.startswith("make: ***")]
    assert proc.returncode != 0 and len(ours) == 1, proc.stderr
    assert_one_sentence(ours[0], "found Python 3.10.4", "needs Python 3.11")


# --- uv gets pip's package sources ------------------------------------------------------------

def test_uv_gets_the_package_sources_pip_is_configured_with():
    config = install_requirements.parse_pip_config(
        ":env:.find-links='/opt/wheels'\n"
        "global.find-links='/elsewhere'\n"
        "global.extra-index-url='file:///mirror/simple file:///more/simple'\n"
        "global.constraint='/etc/xdg/pip/constraints.txt'\n"
        "global.cert='/etc/ssl/certs/ca-certificates.crt'\n"
        ":env:.default-timeout='180'\n"
        "global.disable-pip-version-check='1'\n")
    args, env = install_requirements.uv_options(config)
    assert args == ["--extra-index-url", "file:///mirror/simple", "--extra-index-url", "file:///more/simple",
                    "--index-strategy", "unsafe-best-match", "--find-links", "/opt/wheels",
                    "--constraint", "/etc/xdg/pip/constraints.txt"]
    assert env == {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt", "UV_HTTP_TIMEOUT": "180"}
    assert install_requirements.uv_options({}) == ([], {})
    assert install_requirements.uv_options({"index-url": "https://mirror/simple", "no-index": "true"})[0] == [
        "--index-url", "https://mirror/simple", "--no-index"]


# --- a whole set-up with a second interpreter ---------------------------------------------------

def second_python():
    exe = Path(SECOND_PYTHON)
    if not exe.exists():
        return None, f"{SECOND_PYTHON} is missing"
    version = subprocess.run([str(exe), "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True).stdout.strip()
    base = subprocess.run([sys.executable, "-c", "import sys; print(sys.base_prefix)"],
                          capture_output=True, text=True).stdout.strip()
    if not SpecifierSet(REQUIRES_PYTHON).contains(version):
        return None, f"{SECOND_PYTHON} is Python {version}, not a supported one"
    if Path(exe).resolve().is_relative_to(Path(base).resolve()):
        return None, f"{SECOND_PYTHON} is the default interpreter's own"
    return exe, version


@pytest.mark.slow
def test_make_venv_and_the_reference_tests_on_a_second_interpreter():
    exe, version = second_python()
    if exe is None:
        pytest.skip(version)
    make = shutil.which("make") or "/usr/bin/make"
    with tempfile.TemporaryDirectory(prefix="second-python-") as tmp:
        course = course_skeleton(Path(tmp) / "course", extra=("reference", "tests/test_reference.py"))
        started = time.monotonic()
        proc = subprocess.run([make, "venv", f"PYTHON={exe}"], cwd=course, capture_output=True, text=True,
                              env=clean_make_env(), timeout=1500)
        setup_seconds = time.monotonic() - started
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"creating .venv with Python {version}" in proc.stdout
        assert "installing with pip instead" not in proc.stderr, proc.stderr  # uv did it
        py = course / ".venv" / "bin" / "python"

        facts = subprocess.run(
            [str(py), "-c", "import platform, json, torch, jax, soupsieve, nbgrader; print(json.dumps(["
                            "platform.python_version(), torch.__version__, jax.__version__, soupsieve.__version__]))"],
            cwd=tmp, capture_output=True, text=True, timeout=300)
        assert facts.returncode == 0, facts.stderr
        py_version, torch_version, jax_version, soupsieve_version = json.loads(facts.stdout)
        assert py_version == version
        assert torch_version.startswith("2.13.0") and jax_version == "0.10.2"
        default_torch = importlib.metadata.version("torch")
        if "+cpu" in default_torch:  # uv took this machine's CPU build, as pip did for the default venv
            assert torch_version == default_torch
        pins = pins_for(version)
        assert Version(soupsieve_version) == Version(pins["soupsieve"])
        frozen = subprocess.run([str(py), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                                timeout=120)
        installed = {canonicalize_name(p["name"]): p["version"] for p in json.loads(frozen.stdout)}
        assert set(pins) <= set(installed)
        assert set(installed) - set(pins) <= {"pip"}, "the venv holds packages requirements.txt does not pin"
        assert all(Version(installed[n]) in SpecifierSet(f"=={pins[n]}") for n in pins)
        check = subprocess.run([str(py), "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, check.stdout

        started = time.monotonic()
        tests = subprocess.run([str(py), "-m", "pytest", "tests/test_reference.py", "-q"], cwd=course,
                               capture_output=True, text=True, env=clean_make_env(JAX_PLATFORMS="cpu",
                                                                                  MPLBACKEND="Agg"), timeout=600)
        test_seconds = time.monotonic() - started
        assert tests.returncode == 0, tests.stdout + tests.stderr
        assert " passed" in tests.stdout
        print(f"second interpreter {exe} ({version}): make venv {setup_seconds:.0f} s, "
              f"tests/test_reference.py {test_seconds:.0f} s")
