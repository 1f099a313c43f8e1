"""Every file a command reads whole (a program, a DFA or regex table, a `--spec` file, a trained-results
file, the proof cache, a checkpoint's config.json) goes through here, and so does a file read in chunks
(`verify run --input-file`: rule 1). The rules, the same for every command:

1. the file is opened without blocking (O_NONBLOCK) and checked on the open descriptor: a missing file, a
   folder, and anything that is not a regular file (a FIFO, a device such as /dev/zero, a socket) are
   refused with one message naming the file: nothing waits for a writer that never comes, and nothing
   reads an endless stream;
2. its size is checked against a limit BEFORE anything is read, and the read itself is bounded (a file
   that grows after the check is refused, not read whole);
3. text must be UTF-8; JSON that is not valid (the place: line:column) or nests deeper than the parser's
   recursion limit is a user error, never a RecursionError.
Every refusal is a UserError (exit 2).
"""
from __future__ import annotations

import json
import os
import stat
import sys
from typing import Any, Optional

from verify.problems import UserError


def _opened(path: str, what: str) -> int:
    """A read-only descriptor of a regular file (see the module's rule 1)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what}") from None
    except (OSError, ValueError) as err:   # ValueError: a NUL byte in the path
        if isinstance(err, IsADirectoryError):
            raise UserError(f"{path}: is a folder, not a {what}") from None
        raise UserError(f"{path}: cannot read the {what} ({getattr(err, 'strerror', None) or err})") from None
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        return fd
    os.close(fd)
    if stat.S_ISDIR(mode):
        raise UserError(f"{path}: is a folder, not a {what}")
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
    raise UserError(f"{path}: not a regular file ({kind}); a {what} must be a regular file")


def open_regular(path: str, what: str, hint: str = ""):
    """A binary file object of a regular file, for a reader that streams it in chunks (rule 1; no size limit).
    `hint` is added to the refusal of a non-regular file (e.g. how to give a stream instead)."""
    try:
        fd = _opened(path, what)
    except UserError as err:
        raise UserError(err.message + (f"; {hint}" if hint and "regular file" in err.message else "")) from None
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def check_readable(path: str, what: str, limit: int, hint: str = "") -> int:
    """Rules 1 and 2 without reading: the size of a regular file of at most `limit` bytes (for a reader
    that opens the file itself, after this check)."""
    fd = _opened(path, what)
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    _check_size(path, what, size, limit, hint)
    return size


def _check_size(path: str, what: str, size: int, limit: int, hint: str) -> None:
    if size > limit:
        raise UserError(f"{path}: the {what} has {size:,} bytes, above the limit of {limit:,}"
                        + (f" ({hint})" if hint else ""))


def read_bytes(path: str, what: str, limit: int, hint: str = "") -> bytes:
    """The whole content of a regular file of at most `limit` bytes (rules 1 and 2)."""
    with open_regular(path, what) as f:
        _check_size(path, what, os.fstat(f.fileno()).st_size, limit, hint)
        try:
            data = f.read(limit + 1)                # bounded even if the file grows after fstat()
        except OSError as err:
            raise UserError(f"{path}: cannot read the {what} ({err.strerror or err})") from None
    if len(data) > limit:
        raise UserError(f"{path}: the {what} grew above the limit of {limit:,} bytes while it was read"
                        + (f" ({hint})" if hint else ""))
    return data


def read_text(path: str, what: str, limit: int, hint: str = "") -> str:
    """read_bytes decoded as UTF-8 (a leading byte-order mark is skipped); a bad byte is a UserError
    naming its line and column."""
    data = read_bytes(path, what, limit, hint)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        before = data[:err.start].decode("utf-8-sig", errors="replace")
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise UserError(f"{path}:{line}:{column}: the {what} is not UTF-8 text (byte 0x{data[err.start]:02x})"
                        ) from None


def parse_json(text: str, where: str) -> Any:
    """json.loads with every failure a UserError naming `where`: invalid JSON (at line:column), and JSON
    nested deeper than the parser's recursion limit (about a thousand levels)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{where}:{err.lineno}:{err.colno}: not valid JSON ({err.msg})") from None
    except RecursionError:
        raise UserError(f"{where}: JSON nested too deeply (arrays or objects more than about "
                        f"{sys.getrecursionlimit():,} levels deep)") from None


def read_json(path: str, what: str, limit: int, hint: str = "") -> Any:
    """A JSON file: read_text, then parse_json."""
    return parse_json(read_text(path, what, limit, hint), path)


def is_regular_file(path: str) -> Optional[bool]:
    """True for a regular file, False for anything else that exists (a folder, a device, a FIFO), None when
    nothing is there. Never opens the path (stat only)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return None if not os.path.lexists(path) else False
