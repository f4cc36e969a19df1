"""What the grader takes from a kernel (grader/messages.py), and the infrastructure failures it flags."""
import asyncio
from dataclasses import replace

import pytest
import zmq
from jupyter_client.session import Session

from grader import messages
from grader.autograde import REPO, Course, autograde
from grader.run import _setup_failures


def meter(keep=100, limit=1000):
    stops = []
    return messages.Meter(keep, limit, lambda: stops.append(1)), stops


def test_output_is_kept_until_the_budget_then_never_again():
    m, stops = meter()
    assert m.admit(60, "stream") and not m.admit(60, "stream")
    assert not m.admit(1, "stream"), "once over, later output is dropped too: the cell's output ends with a note"
    assert m.admit(500, "status"), "status messages end cells: always read"
    assert not stops and not m.stopped


def test_every_byte_counts_and_the_kernel_is_stopped_once_past_the_limit():
    m, stops = meter()
    for msg_type in ("stream", "error", "comm_msg", "clear_output", None):
        m.admit(300, msg_type)
    assert m.received == 1500 and m.stopped == "more than 0 MiB of output" and stops == [1]
    m.admit(300, "display_data")
    assert stops == [1], "the kernel is stopped once"


class FakeSocket:
    def __init__(self, frames):
        self.frames = frames

    async def recv_multipart(self, copy=True):
        return [zmq.Frame(f) for f in self.frames]


def receive(frames, m):
    channel = messages.MeteredChannel.__new__(messages.MeteredChannel)
    channel.socket, channel.session, channel.meter = FakeSocket(frames), SESSION, m
    return asyncio.run(channel._recv())


SESSION = Session(key=b"secret")


def signed(msg_type, content):
    msg = SESSION.msg(msg_type, content, parent={"msg_id": "cell"})
    return SESSION.serialize(msg)


def test_a_message_within_the_budget_is_read_whole():
    m, _ = meter(keep=10_000)
    msg = receive(signed("stream", {"name": "stdout", "text": "hi"}), m)
    assert msg["content"]["text"] == "hi" and not msg.get("dropped") and msg["parent_header"]["msg_id"] == "cell"


def test_past_the_budget_a_large_message_keeps_only_its_header():
    m, _ = meter(keep=10)
    msg = receive(signed("stream", {"name": "stdout", "text": "x" * 10_000}), m)
    assert msg["dropped"] and msg["content"] == {} and msg["msg_type"] == "stream"
    small = receive(signed("display_data", {"data": {"text/plain": "token?"}, "metadata": {}}), m)
    assert small["dropped"] and small["content"]["data"], "a small one is read: it may be the grader's token"


def test_unsigned_or_malformed_messages_are_dropped_and_counted():
    m, _ = meter()
    forged = Session(key=b"other").serialize(Session(key=b"other").msg("stream", {"text": "x"}))
    for frames in (forged, [b"<IDS|MSG>", b"", b"not json", b"{}", b"{}", b"{}"], [b"x"]):
        msg = receive(frames, m)
        assert msg["dropped"] and msg["content"] == {} and msg["parent_header"] == {}
    assert m.unreadable == 3 and m.received > 0


def test_a_failed_setup_cell_is_flagged_before_student_code_or_for_a_missing_module():
    kinds = {1: "setup", 3: None, 5: "setup", 7: "test"}
    assert _setup_failures({1: ("NameError", "x")}, kinds) == [
        "infrastructure: the lesson's own cell 2 failed (NameError: x); check the grading environment"]
    assert _setup_failures({5: ("NameError", "name 'f' is not defined")}, kinds) == [], (
        "after the student's code, a NameError is the student's")
    assert _setup_failures({5: ("ModuleNotFoundError", "m")}, kinds)[0].startswith(
        "infrastructure: the lesson's own cell 6")
    assert _setup_failures({7: ("ImportError", "m")}, kinds) == [], "test cells are judged from data"


def test_grading_a_lesson_never_released_says_to_release_it(tmp_path):
    course = replace(Course.at(tmp_path, release="release"), source=REPO / "solutions")
    with pytest.raises(ValueError, match=r"02_forward_pass was never released .* run `make release` first"):
        autograde(course, "02_forward_pass", log=lambda *_: None)
    assert not (tmp_path / "grading" / "reports").exists(), "nothing is graded or written"
