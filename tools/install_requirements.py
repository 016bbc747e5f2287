"""Install pinned requirements into a venv: with uv when it can be had (several times faster), else pip.

    VENV/bin/python tools/install_requirements.py [--pip-only] [-r requirements.txt]

Run with the venv's own python (the Makefile's `$(PY)`). uv (pinned, UV_VERSION) is installed with
pip into VENV/.uv, outside the venv's site-packages, so that the venv holds exactly the pinned set.
uv does not read pip's configuration, so the package sources pip is configured with (`pip config
list`: index-url, extra-index-url, find-links, no-index, constraint, cert, timeout; from pip.conf
files or PIP_* variables) are handed to uv as the same options: on a machine whose find-links holds
the CPU build of torch, uv takes that file exactly as pip does. If uv cannot be installed, or fails,
pip installs the same file (one line says so).
"""

import argparse
import ast
import os
import subprocess
import sys
from pathlib import Path

UV_VERSION = "0.13.8"
# pip's options (as `pip config list` names them) that say where packages come from.
SOURCE_OPTIONS = ("index-url", "extra-index-url", "find-links", "no-index", "constraint", "cert", "default-timeout",
                  "timeout")


def pip_config(python):
    """pip's effective source options for `python` (PIP_* variables over [install] over [global])."""
    out = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    return parse_pip_config(out)


def parse_pip_config(text):
    found = {}  # option -> {variant: value}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        variant, dot, option = key.rpartition(".")
        if not sep or not dot or option not in SOURCE_OPTIONS:
            continue
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            value = value.strip("'\"")
        found.setdefault(option, {})[variant] = str(value)
    effective = {}
    for option, by_variant in found.items():
        for variant in (":env:", "install", "global"):
            if variant in by_variant:
                effective[option] = by_variant[variant]
                break
    return effective


def uv_options(config):
    """uv pip install options and environment that give uv the package sources pip is configured with."""
    args, env = [], {}
    if config.get("index-url"):
        args += ["--index-url", config["index-url"].split()[0]]
    extra = config.get("extra-index-url", "").split()
    for url in extra:
        args += ["--extra-index-url", url]
    if extra:
        args += ["--index-strategy", "unsafe-best-match"]  # pip's rule: the best version over all indexes
    for place in config.get("find-links", "").split():
        args += ["--find-links", place]
    for path in config.get("constraint", "").split():
        args += ["--constraint", path]
    if config.get("no-index", "").lower() in ("1", "true", "yes", "on"):
        args += ["--no-index"]
    if config.get("cert"):
        env["SSL_CERT_FILE"] = config["cert"]
    timeout = config.get("timeout") or config.get("default-timeout")
    if timeout:
        env["UV_HTTP_TIMEOUT"] = timeout.split(".")[0]
    return args, env


def pip_install(python, requirements):
    # Not --quiet: pip names each package as it collects and installs it.
    return subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
                           "-r", requirements]).returncode


def uv_install(python, requirements):
    """0 when uv installed everything; None when uv could not be had; uv's exit status otherwise."""
    venv = Path(sys.prefix)
    target = venv / ".uv"
    uv = target / "bin" / "uv"
    if not uv.exists():
        got = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "--target", str(target), f"uv=={UV_VERSION}"], capture_output=True, text=True)
        if got.returncode != 0 or not uv.exists():
            return None
    args, env = uv_options(pip_config(python))
    # Not --quiet: uv names what it resolves, downloads and installs as it goes (minutes on a first install).
    cmd = [str(uv), "pip", "install", "--python", python, "--compile-bytecode", *args, "-r", requirements]
    return subprocess.run(cmd, env={**os.environ, **env}).returncode


def main(argv):
    parser = argparse.ArgumentParser(prog="install_requirements.py", description=__doc__.splitlines()[0])
    parser.add_argument("-r", dest="requirements", default="requirements.txt", help="the pinned requirements file")
    parser.add_argument("--pip-only", action="store_true", help="install with pip, without trying uv")
    args = parser.parse_args(argv)
    requirements, pip_only = args.requirements, args.pip_only
    python = sys.executable
    if sys.prefix == sys.base_prefix:
        print("install_requirements: run me with the venv's python", file=sys.stderr)
        return 2
    lines = [line.strip() for line in Path(requirements).read_text().splitlines()]
    count = sum(1 for line in lines if line and not line.startswith(("#", "-")))
    print(f"installing the {count} pinned requirements of {requirements} into {sys.prefix} "
          f"(torch, jax, nbgrader and what they need; a few minutes the first time)", flush=True)
    if not pip_only:
        status = uv_install(python, requirements)
        if status == 0:
            return 0
        why = "uv could not be installed" if status is None else f"uv failed (exit status {status})"
        print(f"{why}: installing with pip instead", file=sys.stderr)
    return pip_install(python, requirements)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
