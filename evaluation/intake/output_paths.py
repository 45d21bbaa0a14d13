"""Where results are written: output folders are checked before any work is done."""
from __future__ import annotations

from pathlib import Path

from evaluation.errors import OutputError


def writable_dir(path, *, purpose: str = "the output folder", hint: str = "") -> Path:
    """Create ``path`` if needed and prove it can be written, or raise OutputError (exit 2).

    A probe file is written and removed: permission bits alone do not tell (read-only mounts,
    ACLs, quota), and failing after a long run would lose the work.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".ipeval-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"Cannot write {purpose} to {path}: {exc.strerror or exc}. "
                          f"{hint}".strip()) from None
    return path
