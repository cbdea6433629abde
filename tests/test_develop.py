"""workshop.develop: maturin's output passed through as it comes, minus its trailer after a
compile error (the cargo command line, which tells an attendee nothing)."""

from __future__ import annotations

import fcntl
import io
import os
import struct
import termios
import threading
import time

from workshop import develop

ERROR = b"error[E0369]: cannot subtract ...\nerror: could not compile `exercise1` (lib)\n"
TRAILER = (
    "💥 maturin failed\n  Caused by: Failed to build a native library through cargo\n"
    '  Caused by: Cargo build finished with "exit status: 101": `env -u CARGO ...`\n'
).encode()


def unread(fd: int) -> int:
    """Bytes in the pipe not read yet."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]


def relayed(*chunks: bytes) -> tuple[bytes, bool]:
    """What ``develop.relay`` writes when maturin prints ``chunks`` one after another,
    each read on its own: the next one is written once the pipe is empty."""
    read, write = os.pipe()

    def feed() -> None:
        for chunk in chunks:
            deadline = time.monotonic() + 60
            while unread(write) and time.monotonic() < deadline:
                time.sleep(0.001)
            os.write(write, chunk)
        os.close(write)

    feeder = threading.Thread(target=feed)
    feeder.start()
    out = io.BytesIO()
    with os.fdopen(read, "rb") as stream:
        cut = develop.relay(stream, out)
    feeder.join()
    return out.getvalue(), cut


def test_after_a_compile_error_the_trailer_is_left_out_even_split_across_reads() -> None:
    text = ERROR + TRAILER
    at = len(ERROR) + 3  # inside the emoji
    assert relayed(text[:at], text[at:]) == (ERROR, True)
    assert relayed(text) == (ERROR, True)


def test_cargos_compile_error_line_split_across_reads_is_seen() -> None:
    at = ERROR.index(b"could not compile") + 5
    assert relayed(ERROR[:at], ERROR[at:], TRAILER) == (ERROR, True)


def test_other_failures_and_successes_pass_through_whole() -> None:
    other = b"Caused by: Couldn't find any python interpreters\n"
    assert relayed(TRAILER + other) == (TRAILER + other, False)
    progress = b"   Compiling pyo3 v0.30.1\r   Building [=====>   ] 12/70\r"
    assert relayed(progress, b"    Finished\n") == (progress + b"    Finished\n", False)
