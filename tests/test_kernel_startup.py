"""What the graded kernel (sandbox.kernel) sets up before any student code runs, and that it changes no result.

sandbox.mlir_context (also in the walled agent, python -m sandbox.agent): JAX's lowerings reuse one
MLIR context per thread. The same context comes back within a thread and never across threads; the
lowered programs and computed values are those of fresh contexts; the compilations a process with
fresh contexts wrote to a persistent cache (as grading.compile_cache does) are found by a process
that reuses its context.

And the sandboxed kernel really runs with it.
"""

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from grading import wall
from grading.wall import ROOT, Sandbox, kernel_manager

# Lowers and runs a few eager operations, a gradient and a jitted function; prints what they gave.
WORKLOAD = """
import json, threading
import jax, jax.numpy as jnp, numpy as np
from jax._src.interpreters import mlir
hits = []
jax.monitoring.register_event_listener(lambda event, **kw: hits.append(event) if event.endswith("cache_hits") else None)

def loss(w, x):
    return jnp.mean(jax.nn.log_softmax(x @ w, axis=1) ** 2)

x = jnp.asarray(np.random.default_rng(0).normal(size=(7, 3)), dtype=jnp.float32)
w = jnp.asarray(np.random.default_rng(1).normal(size=(3, 4)), dtype=jnp.float32)
values = [jax.nn.softmax(x @ w, axis=1), jnp.tanh(x).sum(0), jax.grad(loss)(w, x), jax.jit(loss)(w, x)]
same = mlir.make_ir_context() is mlir.make_ir_context()
other = []
thread = threading.Thread(target=lambda: other.append(mlir.make_ir_context()))
thread.start(); thread.join()
print(json.dumps({"values": [np.asarray(v).tolist() for v in values], "text": jax.jit(loss).lower(w, x).as_text(),
                  "same_in_thread": same, "same_across_threads": other[0] is mlir.make_ir_context(),
                  "reused": getattr(mlir.make_ir_context, "reused", False), "cache_hits": len(hits)}))
"""


def _run(reuse, cache=None, write=True):
    """WORKLOAD in a fresh process, with sandbox.mlir_context installed before JAX is imported (or not)."""
    prelude = "from sandbox import mlir_context; mlir_context.install()\n" if reuse else ""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    if cache:
        env.update(wall.compile_cache_environment(str(cache), writable=write))
    done = subprocess.run([sys.executable, "-c", prelude + WORKLOAD], env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_one_context_per_thread_and_the_same_programs_and_values():
    fresh, reused = _run(False), _run(True)
    assert reused["reused"] and not fresh["reused"]
    assert reused["same_in_thread"] and not fresh["same_in_thread"]
    assert not reused["same_across_threads"]
    assert reused["text"] == fresh["text"]
    assert reused["values"] == fresh["values"]  # bit for bit (the floats as JSON)


def test_compilations_cached_with_fresh_contexts_are_found_when_reused(tmp_path):
    written = _run(False, cache=tmp_path)  # as grading.compile_cache builds: fresh contexts, writing
    assert written["cache_hits"] == 0 and any(tmp_path.iterdir())
    before = sorted(p.name for p in tmp_path.iterdir())
    again = _run(True, cache=tmp_path, write=False)  # as a graded kernel reads it
    assert again["cache_hits"] >= 4, "the reused context's lowerings must have the same cache keys"
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert again["values"] == written["values"]


def test_install_is_idempotent_and_patches_a_jax_imported_before():
    code = textwrap.dedent("""
        import jax
        from jax._src.interpreters import mlir
        from sandbox import mlir_context
        original = mlir.make_ir_context
        mlir_context.install(); patched = mlir.make_ir_context
        mlir_context.install()
        print(patched is not original, mlir.make_ir_context is patched,
              sum(isinstance(f, mlir_context._PatchOnImport) for f in __import__('sys').meta_path))
    """)
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"},
                          capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.split() == ["True", "True", "0"]


def test_the_sandboxed_kernel_runs_with_it():
    sandbox = Sandbox()
    km = kernel_manager(sandbox)

    async def ask():
        await km.start_kernel()
        client = km.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            reply = await client.execute_interactive(
                "from jax._src.interpreters import mlir; print(getattr(mlir.make_ir_context, 'reused', False))",
                timeout=120, output_hook=lambda msg: said.append(
                    msg["content"].get("text", "") if msg["content"].get("name") == "stdout" else ""))
            return reply["content"]["status"]
        finally:
            client.stop_channels()
            await km.shutdown_kernel(now=True)

    said = []
    try:
        assert asyncio.run(ask()) == "ok"
    finally:
        sandbox.cleanup()
    assert "".join(said).split() == ["True"]


# A grading process that starts a sandboxed kernel and waits, killed from outside. bwrap is run
# without --die-with-parent: as when the process dies before bwrap has armed that signal (it does
# so only once it runs), the gap that left a sandbox running after a batch killed while starting.
GRADER_KILLED_WHILE_STARTING = """
import asyncio, json, subprocess, sys, time
from grading import wall
from grading.proctree import descendants

wrap = wall.Sandbox.wrap
wall.Sandbox.wrap = lambda self, command, env=None: [part for part in wrap(self, command, env) if part != "--die-with-parent"]
sandbox = wall.Sandbox(enabled=sys.argv[1] == "sandboxed")
km = wall.kernel_manager(sandbox)

async def start():
    await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # this stdout is the test's
    client = km.client()
    client.start_channels()
    await client.wait_for_ready(timeout=120)

asyncio.run(start())
print(json.dumps(descendants(km.provisioner.process.pid)), flush=True)
time.sleep(600)
"""


def _running(pid):
    """Is ``pid`` a process that has not ended (a zombie has ended)?"""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("mode", ["sandboxed", "unsandboxed"])
def test_a_kernel_ends_when_the_grading_process_that_started_it_is_killed(mode):
    grader = subprocess.Popen([sys.executable, "-c", GRADER_KILLED_WHILE_STARTING, mode], cwd=ROOT, stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    try:
        started = json.loads(grader.stdout.readline())
    finally:
        grader.kill()
        grader.wait()
    # sandboxed: bwrap (prlimit's exec), its init, the kernel; unsandboxed: the kernel (prlimit's exec)
    assert len(started) >= (3 if mode == "sandboxed" else 1)
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in started if _running(pid)] == []


def test_a_client_is_ready_when_the_kernel_answers_and_a_dead_kernel_is_told():
    """CappedKernelClient.wait_for_ready: the kernel_info handshake, after which what iopub holds is dropped without
    waiting for it to fall silent; the kernel then runs a cell and the client gets its output. A kernel gone before it
    answers is an error, not a wait."""

    async def start(kill_first):
        sandbox = Sandbox()
        km = kernel_manager(sandbox)
        km.client_class = "grading.wall.CappedKernelClient"
        await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = km.client()
        client.start_channels()
        said = []
        try:
            if kill_first:
                km.provisioner.process.kill()
                km.provisioner.process.wait()
            await client.wait_for_ready(timeout=60)
            reply = await client.execute_interactive("print(6 * 7)", timeout=60,
                                                     output_hook=lambda msg: said.append(msg["content"].get("text")))
            return reply["content"]["status"], [text for text in said if text]
        except RuntimeError as error:
            return str(error)
        finally:
            client.stop_channels()
            await km.shutdown_kernel(now=True)
            sandbox.cleanup()

    assert asyncio.run(start(kill_first=False)) == ("ok", ["42\n"])
    assert asyncio.run(start(kill_first=True)) == "Kernel died before replying to kernel_info"


def test_a_killed_kernel_is_looked_at_every_few_milliseconds_until_it_is_gone(monkeypatch):
    """SandboxedKernelManager._async_wait: jupyter_client sleeps 0.1 s between looks at a killed kernel, a worker's
    idle time at every student's end; here each look waits EXIT_POLL_SECONDS, and the kernel is gone afterwards.
    The kernel is reported alive for its first three looks, so that the wait between them is certain to happen."""
    slept = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds, *args, **kwargs):
        slept.append(seconds)
        return await real_sleep(seconds, *args, **kwargs)

    async def shut_down():
        sandbox = Sandbox()
        km = kernel_manager(sandbox)
        await km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        process, looks, really_alive = km.provisioner.process, [], km._async_is_alive

        async def alive():
            looks.append(1)
            return len(looks) <= 3 or await really_alive()

        monkeypatch.setattr(km, "_async_is_alive", alive)
        monkeypatch.setattr(asyncio, "sleep", recording_sleep)
        try:
            await km.shutdown_kernel(now=True)
        finally:
            monkeypatch.undo()
            sandbox.cleanup()
        return process

    process = asyncio.run(shut_down())
    assert process.poll() is not None
    assert slept[:3] == [wall.EXIT_POLL_SECONDS] * 3, slept  # the looks while it was "alive" (later sleeps are others')
