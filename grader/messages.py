"""What the grading process takes from a kernel's sockets: a byte budget counted before anything is parsed.

A student's kernel can send anything on its sockets: floods of any message type, one huge message,
unsigned or malformed frames. zmq refuses any frame over ``FRAME_MAX`` (it drops that connection for
good, and the kernel is stopped) and queues at most ``QUEUE`` messages per socket, so the grading process never holds
more than about ``FRAME_MAX * QUEUE`` bytes of a kernel's messages. Every byte received on iopub counts
against the budget, whatever the message type. Past ``Meter.keep`` bytes a message is read for its
header only and marked dropped; past ``Meter.limit`` bytes the kernel is stopped.
"""
import asyncio
import time
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from traitlets import Type, default

FRAME_MAX = 8 << 20  # bytes in one frame of a message; a bigger one is never received
QUEUE = 16  # messages zmq holds per socket before the kernel's side drops or waits
PEEK = 4096  # a message this small is still read past the budget: it may be the grader's own token


def context():
    """A zmq context whose sockets enforce the frame and queue limits."""
    ctx = zmq.asyncio.Context()
    ctx.setsockopt(zmq.MAXMSGSIZE, FRAME_MAX)
    ctx.setsockopt(zmq.RCVHWM, QUEUE)
    ctx.setsockopt(zmq.RECONNECT_IVL, 10)  # ms: the client connects before the kernel binds; retry soon
    return ctx


class Meter:
    """Bytes received from one kernel's iopub, and what may still be kept."""

    def __init__(self, keep, limit, on_limit):
        self.keep, self.limit, self.on_limit = keep, limit, on_limit
        self.received = self.kept = self.unreadable = 0
        self.stopped = None  # why the kernel was stopped, if it was: what it sent

    def stop(self, reason):
        if not self.stopped:
            self.stopped = reason
            self.on_limit()

    def admit(self, size, msg_type):
        """Count a message of ``size`` bytes; whether its content may be kept."""
        self.received += size
        if self.received > self.limit:
            self.stop(f"more than {self.limit >> 20} MiB of output")
        if msg_type == "status":  # tiny, and how a cell is known to have finished
            return True
        if self.stopped or self.kept + size > self.keep:
            self.kept = self.keep  # once over, nothing more is kept: the cell's output ends with a note
            return False
        self.kept += size
        return True


def _dropped(msg_type="unreadable", header=None, parent=None):
    return {"header": header or {}, "msg_id": (header or {}).get("msg_id"), "msg_type": msg_type,
            "parent_header": parent or {}, "metadata": {}, "content": {}, "buffers": [], "dropped": True}


class MeteredChannel(AsyncZMQSocketChannel):
    """An iopub channel that counts raw bytes first and parses content only within the budget."""

    meter = None  # set by the client before any message is read

    async def _recv(self, **kwargs):
        frames = await self.socket.recv_multipart(copy=False, **kwargs)
        size = sum(len(f) for f in frames)
        try:
            _, parts = self.session.feed_identities(frames, copy=False)
            msg = self.session.deserialize(parts, content=False, copy=False)
        except Exception:  # unsigned, malformed or not JSON: nothing in it can be trusted or kept
            msg = None
        if msg is None or not isinstance(msg.get("parent_header"), dict) or not isinstance(msg.get("msg_type"), str):
            return self._unreadable(size)
        keep = self.meter.admit(size, msg["msg_type"])
        if not keep and size > PEEK:
            return _dropped(msg["msg_type"], msg["header"], msg["parent_header"])
        try:
            content = self.session.unpack(bytes(msg["content"]))
        except Exception:
            content = None
        if not isinstance(content, dict):
            return self._unreadable(0)
        msg["content"], msg["buffers"] = content, []
        if not keep:
            msg["dropped"] = True
        return msg

    def _unreadable(self, size):
        self.meter.admit(size, None)
        self.meter.unreadable += 1
        return _dropped()


class MeteredClient(AsyncKernelClient):
    """A kernel client whose iopub channel reads through ``meter``."""

    iopub_channel_class = Type(MeteredChannel)
    meter = None
    _watch = None

    @default("context")
    def _default_context(self):
        self._created_context = True  # destroyed when the channels stop
        return context()

    @property
    def iopub_channel(self):
        channel = super().iopub_channel
        channel.meter = self.meter
        return channel

    def start_channels(self, *args, **kwargs):
        super().start_channels(*args, **kwargs)
        self._watch = asyncio.ensure_future(self._watch_iopub())

    def stop_channels(self):
        if self._watch:
            self._watch.cancel()
        super().stop_channels()

    async def wait_for_ready(self, timeout=None):
        """jupyter_client's wait, without its pauses: the kernel_info reply, then one iopub message (iopub is
        connected: nothing later is missed), then what else is queued there, dropped without waiting 0.2 s
        for more (each execution reads only the messages that answer it)."""
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            self.kernel_info()  # again each second: a kernel that was not listening yet never saw the last one
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
        for _ in range(QUEUE):  # what zmq holds at most: no student code has run yet
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                break

    async def _watch_iopub(self):
        """zmq drops, for good, the connection that brings a frame over FRAME_MAX; nothing more would arrive.
        A kernel still alive a moment after its iopub went is stopped, as one past the limit."""
        monitor = self.iopub_channel.socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        try:
            await monitor.recv_multipart()
            await asyncio.sleep(1)
            if await self.is_alive():
                self.meter.stop(f"one output over {FRAME_MAX >> 20} MiB")
        finally:
            monitor.close(linger=0)
