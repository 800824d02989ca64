"""The one way a command writes a file the operator names (`plan new -o`, `report -o`): a
new file, 0600, never over one that is there and never through a symbolic link; anything in
the way is one line naming the path and what is wrong."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from plans.errors import OutputRefused

# O_NOFOLLOW on top of O_EXCL: O_CREAT | O_EXCL already refuses a link, dangling or not
# (EEXIST); O_NOFOLLOW makes that hold even where O_EXCL is not honoured (some NFS).
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _in_the_way(path: Path) -> str | None:
    """What is at `path` already, or None if nothing is."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return "not-a-folder"
    except PermissionError:
        return "no-permission"
    if stat.S_ISLNK(mode):
        return "link" if path.exists() else "dangling-link"
    return "directory" if stat.S_ISDIR(mode) else "exists"


def _why(path: Path, error: OSError) -> str:
    found = _in_the_way(path)
    if found is not None:
        return found
    return {
        errno.ENOENT: "no-folder",
        errno.ENOTDIR: "not-a-folder",
        errno.EACCES: "no-permission",
        errno.EPERM: "no-permission",
        errno.EISDIR: "directory",
        errno.ELOOP: "link",
        errno.EROFS: "no-permission",
    }.get(error.errno or 0, errno.errorcode.get(error.errno or 0, "an error"))


def check_new_file(path: Path) -> None:
    """Refuse early, before any work, a path `create_new_file` would refuse."""
    found = _in_the_way(path)
    if found is not None:
        raise OutputRefused(path, found)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.exists():
        raise OutputRefused(path, "no-folder")
    if not folder.is_dir():
        raise OutputRefused(path, "not-a-folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputRefused(path, "no-permission")


def create_new_file(path: Path) -> int:
    """A descriptor of `path`, made new and the operator's alone (0600); OutputRefused
    naming the path and why otherwise. The caller closes it (or unlinks the file)."""
    try:
        return os.open(path, _FLAGS, 0o600)
    except OSError as exc:
        raise OutputRefused(path, _why(path, exc)) from None


def write_new_file(path: Path, data: bytes) -> None:
    """Write `data` to a new file at `path` (see create_new_file); a failure to write it
    leaves no part of it behind."""
    fd = create_new_file(path)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
