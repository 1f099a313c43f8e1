"""Every file or folder a command writes (--out, --plot) goes through here.

The rules, the same for every command:
1. the destination is checked BEFORE the work (`check_file_target`, `check_folder_target`): not a
   folder where a file goes, not a file where a folder goes, its parent creatable and writable;
2. missing parent folders are created (README examples rely on `--out out/x`);
3. the content is written under a unique temporary name in the destination's folder and moved
   into place with os.replace at the end (`staged_file`, `staged_folder`, `write_text`), so a
   reader sees the old content or the new, never half;
4. on any failure (a user error, disk full, a read-only disk, an interrupt) nothing is left:
   the temporary file or folder and any parent folder created for it are removed;
5. normal permissions: files 0666 and folders 0777 less the umask (tempfile's 0600/0700 are not
   kept);
6. a file target that exists and is not a regular file (a device such as /dev/null, a FIFO, a socket) is
   refused before the work and again before the rename: it is never replaced.
A write that fails because of the disk or the permissions is a UserError naming the flag.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional, Union

from verify.problems import UserError

PathLike = Union[str, os.PathLike]

# errors of the disk or the user's permissions (not bugs): reported as user errors
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG,
                      errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENOTEMPTY,
                      errno.ELOOP, errno.EXDEV}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def normal_permissions(path: Path) -> None:
    """0666 / 0777 less the umask, for path and (a folder) everything below it."""
    mask = _umask()
    if path.is_dir():
        os.chmod(path, 0o777 & ~mask)
        for root, dirs, files in os.walk(path):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o777 & ~mask)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666 & ~mask)
    else:
        os.chmod(path, 0o666 & ~mask)


def _why(err: OSError) -> str:
    return err.strerror or str(err)


def _nearest_existing(path: Path) -> Path:
    p = path
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


MAX_NAME = 200   # bytes: the temporary name adds a prefix and a suffix to the 255 a file system allows


def _check_names(target: Path, flag: str) -> None:
    for part in target.parts:
        if len(os.fsencode(part)) > MAX_NAME:
            raise UserError(f"{flag}: the name {part[:40]!r}... is {len(os.fsencode(part))} bytes long; "
                            f"names of at most {MAX_NAME} bytes, please")


def _check_parent(target: Path, flag: str) -> None:
    """The folder that will hold target exists or can be created, and a file can be made in it."""
    _check_names(target, flag)
    parent = target.parent
    base = _nearest_existing(parent)
    if not base.is_dir():
        raise UserError(f"{flag} {str(target)!r}: cannot create the folder {str(parent)!r}: "
                        f"{str(base)!r} is a file; choose another {flag}")
    try:  # the only reliable test (os.access says yes to root on a read-only mount): make a file there
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=str(base))
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UserError(f"{flag} {str(target)!r}: cannot write in {str(base)!r} ({_why(err)}); "
                        f"choose another {flag}") from None


def check_file_target(target: PathLike, flag: str, suffixes=None) -> Path:
    """Before the work: target can be written as a file. suffixes: the allowed endings (lower case)."""
    t = Path(target)
    if not str(target).strip():
        raise UserError(f"{flag}: give a file name (got an empty one)")
    _check_names(t, flag)
    if suffixes and t.suffix.lower() not in suffixes:
        raise UserError(f"{flag} {str(target)!r}: the file must end in {' or '.join(suffixes)}")
    if t.is_dir():
        raise UserError(f"{flag} {str(target)!r}: is a folder; give a file name")
    if str(target).endswith(("/", os.sep)):
        raise UserError(f"{flag} {str(target)!r}: ends in a slash; give a file name")
    _refuse_special(t, flag)
    _check_parent(t, flag)
    return t


def _refuse_special(target: Path, flag: str) -> None:
    """Rule 6: what exists at target and is neither a regular file nor a folder (a device such as /dev/null,
    a FIFO, a socket, a dangling link) is never replaced."""
    if os.path.lexists(target) and not target.is_file() and not target.is_dir():
        raise UserError(f"{flag} {str(target)!r}: exists and is not a regular file (a device, a FIFO, a socket or "
                        f"a broken link); it is never replaced: choose another {flag}")


def check_folder_target(target: PathLike, flag: str, nonempty_ok: bool = False) -> Path:
    """Before the work: target can be made (or filled) as a folder. Unless nonempty_ok, an existing
    folder must be empty (nothing of the user's is ever replaced)."""
    t = Path(target)
    if not str(target).strip():
        raise UserError(f"{flag}: give a folder name (got an empty one)")
    _check_names(t, flag)
    if os.path.lexists(t) and not t.is_dir():
        what = "a file" if t.is_file() else "a device, a FIFO, a socket or a broken link"
        raise UserError(f"{flag} {str(target)!r}: is {what}, not a folder; choose another {flag}")
    if t.is_dir():
        if not nonempty_ok and any(t.iterdir()):
            raise UserError(f"{flag} {str(target)!r}: exists and is not empty; choose another {flag}")
        _check_parent(t / "x", flag)
    else:
        _check_parent(t, flag)
    return t


def ensure_parent(target: Path, flag: str) -> Path:
    """Create target's folder if needed; a UserError naming the flag when that is impossible."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{flag} {str(target)!r}: cannot create the folder {str(target.parent)!r} "
                        f"({err.strerror or err})") from None
    return target


def _make_parents(folder: Path, flag: str, target: Path) -> List[Path]:
    """mkdir -p, returning the folders it created (deepest last) so a failure can remove them."""
    made = []
    missing = []
    p = folder
    while not os.path.lexists(p) and p != p.parent:
        missing.append(p)
        p = p.parent
    try:
        for d in reversed(missing):
            d.mkdir()
            made.append(d)
    except OSError as err:
        _remove_empty(made)
        raise UserError(f"{flag} {str(target)!r}: cannot create the folder {str(d)!r} ({_why(err)})") from None
    return made


def _remove_empty(folders: List[Path]) -> None:
    for d in reversed(folders):
        try:
            d.rmdir()
        except OSError:
            pass


def _as_user_error(err: OSError, flag: str, target: Path) -> Exception:
    if err.errno in ENVIRONMENT_ERRNOS:
        return UserError(f"{flag} {str(target)!r}: cannot write ({_why(err)}); nothing was written")
    return err


@contextmanager
def staged_file(target: PathLike, flag: str) -> Iterator[Path]:
    """Yield a temporary path (same folder, same suffix) to write; on success it becomes target."""
    t = Path(target)
    made = _make_parents(t.parent, flag, t)
    tmp: Optional[str] = None
    try:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{t.name}.", suffix=t.suffix or ".tmp", dir=str(t.parent))
            os.close(fd)
            yield Path(tmp)
            normal_permissions(Path(tmp))
            if t.is_dir():
                raise UserError(f"{flag} {str(target)!r}: became a folder while the command ran; nothing was written")
            _refuse_special(t, flag)   # checked again: it may have appeared while the command ran
            os.replace(tmp, t)
            tmp = None
        except OSError as err:
            raise _as_user_error(err, flag, t) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            _remove_empty(made)


@contextmanager
def staged_folder(target: PathLike, flag: str) -> Iterator[Path]:
    """Yield an empty temporary folder next to target; on success it replaces target, which must be
    missing or an empty folder (checked again at the end)."""
    t = Path(target)
    made = _make_parents(t.parent, flag, t)
    tmp: Optional[Path] = None
    try:
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{t.name}.", suffix=".tmp", dir=str(t.parent)))
            yield tmp
            normal_permissions(tmp)
            if t.is_dir() and not any(t.iterdir()):
                t.rmdir()
            elif os.path.lexists(t):
                raise UserError(f"{flag} {str(target)!r}: was created by something else while the command ran; "
                                f"nothing was written")
            os.replace(tmp, t)
            tmp = None
        except OSError as err:
            raise _as_user_error(err, flag, t) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            _remove_empty(made)


def write_bytes(target: PathLike, data: bytes, flag: str) -> Path:
    with staged_file(target, flag) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(target)


def write_text(target: PathLike, text: str, flag: str) -> Path:
    """Replace target's content atomically (readers see the old text or the new)."""
    return write_bytes(target, text.encode("utf-8"), flag)
