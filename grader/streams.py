"""A kernel's stdout and stderr that send what a cell prints at least every mebibyte.

ipykernel buffers a cell's prints and sends them every 0.2 s, however much piled up. A loop that prints
gigabytes fills that buffer faster than one message can be built from it: the grader's output meter
(grader/messages.py) saw nothing until the kernel ran out of time or memory, and the student read that
the cell ran past its time limit. Flushed at a bound, every message stays small, and the meter stops the
flood by its size, as it says. The kernel makes its streams of this class (grader/kernel.py); the kernel
is the student's, so this is a convenience, not a limit: the meter, the memory cgroup and the time limit
hold whatever a submission does to it.
"""
from ipykernel.iostream import OutStream

BOUND = 1 << 20  # characters of printed text a stream holds before it sends them


class BoundedOutStream(OutStream):
    def write(self, string):
        written = super().write(string)
        with self._buffer_lock:
            pending = sum(buffer.tell() for buffer in self._buffers.values())
        if pending > BOUND:
            self.flush()
        return written
