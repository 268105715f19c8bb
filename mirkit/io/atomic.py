"""Atomic file writes: write to a temporary file beside the target, then rename.

A reader never sees a half-written output, and a failed write leaves any previous file
untouched. ``AtomicGroup`` extends this to the several files one input produces: all are
written to temporaries first and renamed only when every one of them succeeded.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mirkit.errors import InputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_path_for(target: Path) -> Path:
    """Create (and close) an empty temporary file in ``target``'s folder, keeping its suffix.

    The file gets the permissions a plain ``open()`` would give (0666 less the umask), not
    ``mkstemp``'s private 0600, so outputs are as readable as any other file the user makes.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in [target.parent, *target.parent.parents]
                        if p.exists() and not p.is_dir()), target.parent)
        raise InputError(f"cannot write '{target}': '{blocker}' is a file, not a folder; "
                         f"choose another output folder") from None
    except PermissionError:
        raise InputError(f"cannot write '{target}': no permission to create "
                         f"'{target.parent}'") from None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}",
                                    dir=target.parent)
    except PermissionError:
        raise InputError(f"cannot write '{target}': no permission to write in "
                         f"'{target.parent}'") from None
    os.close(fd)
    os.chmod(name, 0o666 & ~_umask())
    return Path(name)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    The temporary file lives in the same folder (so the rename cannot cross file systems)
    and keeps the target's suffix, so libraries that pick a format from the extension work.
    On any exception the temporary file is removed and ``path`` is left as it was.

    Examples
    --------
    >>> with atomic_write("out.npz") as tmp:   # doctest: +SKIP
    ...     np.savez(tmp, x=x)
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(f"cannot write '{target}': it is a directory; give a file path")
    tmp = _temp_path_for(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


class AtomicGroup:
    """All-or-nothing writing of several files.

    ``group.path(target)`` hands out a temporary path per target; ``commit()`` renames them
    all into place, ``discard()`` deletes them. Used as a context manager it commits on
    success and discards on error, so one input never leaves a partial set of outputs.
    """

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def path(self, target: str | os.PathLike[str]) -> Path:
        """Return a fresh temporary path that ``commit()`` will move to ``target``."""
        target = Path(target)
        if target.is_dir():
            raise InputError(f"cannot write '{target}': it is a directory; give a file path")
        tmp = _temp_path_for(target)
        self._pending.append((tmp, target))
        return tmp

    def commit(self) -> list[Path]:
        """Move every temporary file onto its target; return the targets."""
        done = []
        for tmp, target in self._pending:
            os.replace(tmp, target)
            done.append(target)
        self._pending.clear()
        return done

    def discard(self) -> None:
        """Delete every temporary file not yet committed."""
        for tmp, _ in self._pending:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._pending.clear()

    def __enter__(self) -> AtomicGroup:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
