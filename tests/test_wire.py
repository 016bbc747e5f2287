"""The wire format (sandbox/wire.py) and the grader's end of it (SocketChannel, Submission).

The sandbox side is hostile: a student can replace the agent and send any bytes. These tests
send such frames over a socketpair from a small fake agent thread; no sandbox is needed.
"""

import base64
import io
import json
import math
import socket
import threading
import time
import tracemalloc

import numpy as np
import pytest

from grader_tests import submission as submission_module
from grader_tests.compare import CheckFailure
from grader_tests.runner import _check_result
from grader_tests.submission import (
    CALL_TIMEOUT,
    PART_DEADLINE,
    ChannelBroken,
    SocketChannel,
    Submission,
    SubmissionError,
    SubmissionTimeout,
)
from sandbox import wire

MiB = 2**20
# What one hostile answer may cost the grader at most (see sandbox/wire.py's docstring: ~190 MiB measured).
MEMORY_BOUND = 224 * MiB


def _npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _frame(body):
    body = body.encode("ascii") if isinstance(body, str) else body
    return wire._HEADER.pack(len(body)) + body


def _through_socket(message):
    """``message`` sent with wire.send and read back with wire.receive over a socketpair."""
    a, b = socket.socketpair()
    with a, b:
        sender = threading.Thread(target=wire.send, args=(a, message))
        sender.start()
        got = wire.receive(b, deadline=time.monotonic() + 10)
        sender.join()
    return got


class _Kind:
    """An array-like whose type lives in module ``module`` (as jax and torch arrays do)."""

    def __init__(self, array, module):
        self.array = array
        type(self).__module__ = module

    def __array__(self, dtype=None, copy=None):
        return self.array


def _like(module, array):
    return type(f"Array_{module.split('.')[0]}", (_Kind,), {})(array, module)


class FakeAgent:
    """Answers each request on one end of a socketpair with ``answer(request)``: a dict or raw frame bytes."""

    def __init__(self, answer):
        self.answer = answer
        self.grader_end, self.agent_end = socket.socketpair()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            while True:
                request = wire.receive(self.agent_end)
                if request.get("op") == "done":
                    return
                answer = self.answer(request)
                if answer is None:
                    continue  # never answers this one
                self.agent_end.sendall(answer if isinstance(answer, bytes) else wire.dumps(answer))
        except (EOFError, OSError):
            pass

    def close(self):
        self.grader_end.close()
        self.agent_end.close()
        self.thread.join(5)


@pytest.fixture
def fake_agent():
    agents = []

    def start(answer):
        agents.append(FakeAgent(answer))
        return agents[-1]

    yield start
    for agent in agents:
        agent.close()


# -- values ------------------------------------------------------------------------------------

@pytest.mark.parametrize("array", [
    np.arange(6.0).reshape(2, 3),
    np.arange(12, dtype=np.int32).reshape(3, 4).T,  # Fortran order
    np.array([True, False]),
    np.array([1 + 2j, 3.5j], dtype=np.complex128),
    np.zeros((0, 3), dtype=np.float32),
], ids=["float64", "int32_transposed", "bool", "complex", "empty"])
def test_numpy_arrays_round_trip_with_dtype_and_shape(array):
    tree = _through_socket({"ok": wire.encode(array)})["ok"]
    assert tree["kind"] == "numpy"
    got = wire.decode(tree)
    assert got.dtype == array.dtype and got.shape == array.shape and np.array_equal(got, array)


@pytest.mark.parametrize("module, kind", [("jaxlib.xla_extension", "jax"), ("jax", "jax"), ("torch", "torch")])
def test_jax_and_torch_arrays_keep_their_kind(module, kind):
    array = np.linspace(0, 1, 5)
    tree = _through_socket({"ok": wire.encode(_like(module, array))})["ok"]
    assert tree["kind"] == kind
    seen = []
    got = wire.decode(tree, array_hook=lambda a, k: seen.append(k) or a)
    assert seen == [kind] and np.array_equal(got, array)


def test_numpy_scalars_come_back_as_scalars_of_their_dtype():
    for value in (np.float32(1.5), np.int64(-7), np.bool_(True)):
        got = wire.decode(_through_socket({"ok": wire.encode(value)})["ok"])
        assert isinstance(got, np.generic) and got.dtype == value.dtype and got == value


def test_tuples_lists_and_plain_values_round_trip():
    value = (1, [2.5, "text é 😀 [{", None, True, False], (), [(-3, "")], math.inf)
    got = wire.decode(_through_socket({"ok": wire.encode(value)})["ok"])
    assert got == value and type(got[1]) is list and type(got[3][0]) is tuple
    nan = wire.decode(_through_socket({"ok": wire.encode(math.nan)})["ok"])
    assert math.isnan(nan)


def test_probes_are_passed_by_name_and_resolved_only_from_the_table():
    tree = _through_socket({"ok": wire.encode(wire.Probe("train_loss"))})["ok"]
    assert tree == {"probe": "train_loss"}
    assert wire.decode(tree, probes={"train_loss": len}) is len
    with pytest.raises(wire.WireError, match="unknown probe"):
        wire.decode(tree, probes={})
    with pytest.raises(wire.WireError, match="unknown probe"):
        wire.decode(tree)  # the grader's side has no probes


def test_other_values_cross_as_opaque_type_names():
    got = wire.decode(_through_socket({"ok": wire.encode([(x for x in ()), {"a": 1}])})["ok"])
    assert [type(v).__name__ for v in got] == ["generator", "dict"]
    assert all(isinstance(v, wire.Opaque) for v in got) and got[0].type_name == "generator"


def test_opaque_type_names_are_sanitised_and_their_classes_bounded():
    assert wire.decode({"opaque": "a b<script>"}).type_name == "a_b_script_"
    assert wire.decode({"opaque": ["not", "text"]}).type_name == "object"
    names = {type(wire.decode({"opaque": f"t{i}"})) for i in range(3 * wire._OPAQUE_TYPES)}
    assert len(names) <= wire._OPAQUE_TYPES


@pytest.mark.parametrize("tree, error", [
    ([1, 2], "untagged list"),
    ({"tuple": "abc"}, "not a list"),
    ({"array": _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)}, "not an .npy array"),
    ({"array": _npy(np.array(["text"]))}, "not numeric"),
    ({"array": "!!not base64!!"}, "not an .npy array"),
    ({"array": 5}, "not text"),
    ({"what": 1}, "unknown tag"),
], ids=["untagged_list", "tuple_of_text", "object_dtype", "str_dtype", "bad_base64", "payload_not_text", "unknown_tag"])
def test_values_outside_the_format_are_refused(tree, error):
    with pytest.raises(wire.WireError, match=error):
        wire.decode(tree)


def test_tagged_values_nested_too_deeply_are_refused():
    tree = 1
    for _ in range(wire.MAX_DEPTH + 2):
        tree = {"list": [tree]}
    with pytest.raises(wire.WireError, match="nested too deeply"):
        wire.decode(tree)


# -- frames ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, error", [
    (b"{not json", "not JSON"),
    (b'{"a": 1} trailing', "not JSON"),
    (b'{"ok": "unterminated', "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'"text"', "not a JSON object"),
    ('{"ok": "é"}'.encode("utf-8"), "not ASCII"),
    (b"\xff\xfe{}", "not ASCII"),
], ids=["not_json", "trailing_data", "unterminated_string", "array", "string", "utf8", "binary"])
def test_frames_that_are_not_a_json_object_are_refused(body, error):
    with pytest.raises(wire.WireError, match=error):
        wire.loads(body)


def test_an_oversized_frame_is_refused_from_its_header_without_reading_it():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(wire._HEADER.pack(wire.MAX_FRAME + 1) + b"left unread")
        started = time.monotonic()
        with pytest.raises(wire.WireError, match="announced"):
            wire.receive(b, deadline=time.monotonic() + 5)
        assert time.monotonic() - started < 1
        b.settimeout(1)
        assert b.recv(100) == b"left unread"


def test_too_many_items_are_refused_before_any_parsing(monkeypatch):
    calls = []
    monkeypatch.setattr(wire.json, "loads", lambda *args, **kwargs: calls.append(1))
    for body in (
        '{"ok": {"list": [' + ",".join(["[]"] * (wire.MAX_ITEMS // 2 + 1)) + "]}}",
        '{"ok": [' + ",".join(["{}"] * (wire.MAX_ITEMS + 1)) + "]}",
        '{"ok": 1, "x": ' + "]" * (5 * wire.MAX_ITEMS) + "}",
        '{"ok": "' + "\\n" * (wire.MAX_ITEMS + 1) + '"}',
    ):
        with pytest.raises(wire.WireError, match="more than"):
            wire.loads(body.encode("ascii"))
    assert calls == []


def test_a_frame_of_tiny_items_is_refused_within_a_small_memory_bound():
    body = ('{"ok": [' + ",".join(["{}"] * (wire.MAX_ITEMS + 1)) + "]}").encode("ascii")
    tracemalloc.start()
    try:
        with pytest.raises(wire.WireError, match="items"):
            wire.loads(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < len(body) + 40 * MiB  # json.loads of it would take ~70 MiB; the old limits let 256 MiB of it in


def test_items_inside_strings_and_escapes_do_not_count_or_nest():
    text = "[{,:\\\"" * 1000  # brackets, separators and escaped quotes in a message
    assert wire.loads(json.dumps({"error": {"message": text}}).encode("ascii")) == {"error": {"message": text}}


def test_nesting_is_refused_above_the_limit_and_accepted_up_to_it():
    def nested(depth):
        return ('{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}").encode("ascii")

    assert wire.loads(nested(wire.MAX_NESTING))
    for depth in (wire.MAX_NESTING + 1, 100_000):
        with pytest.raises(wire.WireError, match="nested"):
            wire.loads(nested(depth))


def test_the_deepest_value_encode_writes_fits_the_nesting_limit():
    value = 1
    for _ in range(wire.MAX_DEPTH + 5):
        value = [value]
    assert wire.loads(wire.dumps({"op": "call", "args": [wire.encode(value)]})[4:])


def test_frames_with_escapes_may_have_a_quarter_of_the_bytes():
    room = wire.MAX_FRAME // 4 - 20
    assert wire.loads(('{"ok": "\\ud83d\\ude00' + "a" * (room - 20) + '"}').encode("ascii"))
    with pytest.raises(wire.WireError, match="with escapes"):
        wire.loads(('{"ok": "\\ud83d\\ude00' + "a" * room + '"}').encode("ascii"))


def test_too_many_arrays_are_refused_while_parsing():
    small = _npy(np.zeros(1))
    body = '{"ok": {"list": [' + ",".join([f'{{"array": "{small}"}}'] * (wire.MAX_ARRAYS + 1)) + "]}}"
    with pytest.raises(wire.WireError, match="arrays"):
        wire.loads(body.encode("ascii"))
    escaped = body.replace('"array"', '"\\u0061rray"')  # the key as JSON reads it, not as its bytes
    with pytest.raises(wire.WireError, match="arrays"):
        wire.loads(escaped.encode("ascii"))


HOSTILE = ["one_array", "one_string", "unique_keys", "array_and_lists", "array_and_keys", "strings", "called_as_text"]


def _hostile_answer(name):
    """An answer at the limits, the worst of its kind for the grader's memory."""
    n, room = wire.MAX_ITEMS, wire.MAX_FRAME - 200
    keys = ",".join(f'"k{i}":"v{i}"' for i in range(n // 2 - 8))
    lists = ",".join(['{"list": []}'] * (n // 4 - 8))

    def array(used=0):
        return _npy(np.zeros((room - used) // 4 * 3 - 128, np.uint8))

    return {
        "one_array": lambda: '{"ok": {"array": "' + array() + '"}}',
        "one_string": lambda: '{"ok": "' + "a" * room + '"}',
        "unique_keys": lambda: '{"ok": 1, "x": {' + keys + "}}",
        "array_and_lists": lambda: '{"ok": {"tuple": [{"array": "' + array(len(lists)) + '"}, {"list": [' + lists + "]}]}}",
        "array_and_keys": lambda: '{"ok": {"array": "' + array(len(keys)) + '"}, "x": {' + keys + "}}",
        "strings": lambda: '{"ok": {"list": [' + ",".join(['"ab"'] * (n - 16)) + "]}}",
        "called_as_text": lambda: '{"ok": 1, "called": "' + "a" * room + '"}',
    }[name]()


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_answer_at_the_limits_costs_the_grader_a_bounded_amount_of_memory(fake_agent, name):
    frame = _frame(_hostile_answer(name))
    agent = fake_agent(lambda request: frame)
    submission = Submission(SocketChannel(agent.grader_end))
    tracemalloc.start()
    try:
        value, trace = submission.call_traced("f")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del value, trace
    assert peak < MEMORY_BOUND, f"{name}: {peak / MiB:.0f} MiB"


# -- time --------------------------------------------------------------------------------------

def test_a_trickled_answer_fails_at_the_deadline_not_per_byte():
    a, b = socket.socketpair()
    stop = threading.Event()

    def trickle():
        a.sendall(wire._HEADER.pack(100))
        while not stop.wait(0.2):
            try:
                a.sendall(b" ")
            except OSError:
                return

    sender = threading.Thread(target=trickle)
    sender.start()
    try:
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            wire.receive(b, deadline=started + 1.0)
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        sender.join()
        a.close()
        b.close()


def test_a_request_has_one_deadline_for_the_whole_answer(fake_agent):
    frame = wire.dumps({"ok": 1})

    def trickle(request):
        for byte in frame:
            agent.agent_end.sendall(bytes([byte]))
            time.sleep(0.2)

    agent = fake_agent(trickle)
    channel = SocketChannel(agent.grader_end, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ChannelBroken) as caught:
        channel.request({"op": "call", "name": "f"})
    assert time.monotonic() - started < 1.5
    assert caught.value.stop == channel.stop == "no_answer"
    assert str(caught.value) == "the submission's process stopped answering (no answer within 1 s)"


def test_past_the_part_deadline_every_request_fails_at_once(fake_agent):
    agent = fake_agent(lambda request: {"ok": wire.encode(request["name"])})
    channel = SocketChannel(agent.grader_end, deadline=time.monotonic() + 0.5)
    submission = Submission(channel)
    assert submission.call("f") == "f"
    time.sleep(0.6)
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(SubmissionError) as caught:
            submission.call("g")
        assert time.monotonic() - started < 0.1
        assert caught.value.stop == channel.stop == PART_DEADLINE
        assert "the part's checks ran out of time (0.5 s)" in str(caught.value)


def test_the_part_deadline_cuts_a_request_that_is_waiting(fake_agent):
    agent = fake_agent(lambda request: None)  # never answers
    channel = SocketChannel(agent.grader_end, deadline=time.monotonic() + 0.5)
    started = time.monotonic()
    with pytest.raises(ChannelBroken) as caught:
        channel.request({"op": "call", "name": "f"})
    assert time.monotonic() - started < 1.0
    assert caught.value.stop == PART_DEADLINE


def test_the_channel_reports_why_it_stopped(fake_agent):
    agent = fake_agent(lambda request: b"\x00\x00\x00\x02[]")
    channel = SocketChannel(agent.grader_end)
    with pytest.raises(ChannelBroken) as caught:
        channel.request({"op": "call", "name": "f"})
    assert caught.value.stop == channel.stop == "malformed"
    assert str(caught.value).startswith("the submission's process stopped answering (it sent malformed data:")

    agent = fake_agent(lambda request: agent.agent_end.shutdown(socket.SHUT_WR))
    channel = SocketChannel(agent.grader_end)
    with pytest.raises(ChannelBroken) as caught:
        channel.request({"op": "call", "name": "f"})
    assert caught.value.stop == "exited"

    unstarted = SocketChannel(socket.socket(socket.AF_UNIX))
    unstarted.broken = "the kernel did not start the grader's agent (TimeoutError)"  # as the executor does
    with pytest.raises(ChannelBroken) as caught:
        unstarted.request({"op": "call", "name": "f"})
    assert caught.value.stop == "not_started"
    unstarted.close()


def test_hello_has_a_deadline_too(fake_agent):
    agent = fake_agent(lambda request: None)
    channel = SocketChannel(agent.grader_end)
    started = time.monotonic()
    with pytest.raises(ChannelBroken):
        channel.hello(timeout=0.5)
    assert time.monotonic() - started < 1.0
    assert channel.stop == "no_answer" and channel.broken.endswith("before it was ready (TimeoutError: timed out)")


# -- time-outs reported by the sandbox ------------------------------------------------------------

def _timeout_answer(request):
    return {"error": {"kind": "timeout", "message": f"{request['name']} did not finish within 30 s (an endless loop?)"}}


def test_a_claimed_time_out_that_took_no_time_is_not_a_grader_time_out(fake_agent):
    agent = fake_agent(_timeout_answer)
    submission = Submission(SocketChannel(agent.grader_end))
    with pytest.raises(SubmissionError) as caught:
        submission.call("f")
    assert not isinstance(caught.value, SubmissionTimeout)
    assert caught.value.stop is None
    assert str(caught.value) == "f did not finish within 30 s (an endless loop?)"  # the text is unchanged


def test_a_time_out_measured_by_the_grader_is_one_also_when_repeated_at_once(fake_agent, monkeypatch):
    monkeypatch.setattr(submission_module, "CALL_TIME_LIMIT", 0.4)
    monkeypatch.setattr(submission_module, "CALL_TIME_TOLERANCE", 0.0)
    slow = {"f"}

    def answer(request):
        if request["name"] in slow:
            time.sleep(0.5)
            slow.discard(request["name"])  # the agent refuses it at once afterwards
        return _timeout_answer(request)

    submission = Submission(SocketChannel(fake_agent(answer).grader_end))
    for _ in range(2):
        with pytest.raises(SubmissionTimeout) as caught:
            submission.call("f")
        assert caught.value.stop == CALL_TIMEOUT
    with pytest.raises(SubmissionError) as caught:
        submission.call("g")  # never measured
    assert caught.value.stop is None


# -- what the checks record ----------------------------------------------------------------------

class _ExcInfo:
    def __init__(self, value):
        self.value = value


def test_each_check_records_why_the_process_stopped():
    assert _check_result("a", None) == {"name": "a", "passed": True, "message": "", "hint": None, "stop": None,
                                        "not_attempted": False}
    failure = SubmissionError("softmax: the part's checks ran out of time (5 s)", stop=PART_DEADLINE)
    explained = failure.explained(note="while checking a batch")
    for error in (failure, explained):
        record = _check_result("b", _ExcInfo(error))
        assert record["stop"] == PART_DEADLINE and record["message"] == str(error) and record["passed"] is False
    assert _check_result("c", _ExcInfo(CheckFailure("wrong values")))["stop"] is None
    assert _check_result("d", _ExcInfo(TypeError("x")))["stop"] is None


def test_malformed_trace_fields_are_not_evidence(fake_agent):
    answer = {"ok": 1, "called": {"a": 1}, "evaluations": {"x": 1}}
    submission = Submission(SocketChannel(fake_agent(lambda request: answer).grader_end))
    value, trace = submission.call_traced("f")
    assert value == 1 and trace.called == [] and trace.evaluations == []
    answer = {"ok": 1, "called": ["train_loss"] * 50, "evaluations": [{"params": "1" * 1000, "rows": 3, "value": 1.0}]}
    value, trace = submission.call_traced("f")
    assert trace.called == ["train_loss"] * 20 and trace.evaluations == []
