"""What a run's Disclosure keeps for the release of its batch: ``OUT/.private/`` (mode 0700).

A batch is one release: a count hidden in one run's report may be worked out from the others
("all" minus every other institution), and only the batch as a whole can tell. To protect it
without running the analysis again, each run keeps, beside its outputs but never among them:

- ``ledger.json`` — every count the report showed or hid with its **true** value, its state
  and what it is made of (population, column, conditions), the relations between counts, the
  run's subset of the study (``{"institution": "Karlsborg"}``) and the partition it belongs to
  (every institution of the study); the report's tables and figures as its log has them;
- ``tables.pkl`` — every table the layer made, as shown (hidden cells missing), with which
  cells are hidden, the name of the count in each cell and the numbers that go with each count
  (its share, its row's estimates): enough to draw the table again with more cells hidden.

The folder is written by the kernel only when the runner asks for it (environment variable
:data:`PRIVATE_ENV`, set by ``ipeval run`` and every batch run), so a notebook opened in
JupyterLab writes nothing. The output checker skips folders whose names start with a dot, the
bundle and the review page never read it, and :func:`load_private` refuses a folder another
user could have written (a pickle runs code when it is read: only ipeval's own files, written by
this user's kernel, are ever unpickled).
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
from pathlib import Path

__all__ = ["LEDGER_FILE", "PRIVATE_DIR", "PRIVATE_ENV", "TABLES_FILE", "load_private",
           "clear_private", "save_private", "write_private"]

PRIVATE_ENV = "IPEVAL_PRIVATE_DIR"
PRIVATE_DIR = ".private"
LEDGER_FILE = "ledger.json"
TABLES_FILE = "tables.pkl"


def clear_private(out_dir) -> Path:
    """``OUT/.private`` of a new run: an earlier run's record removed (the kernel creates the
    folder when it writes, so a run that shows no protected table leaves none)."""
    folder = Path(out_dir) / PRIVATE_DIR
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
    elif folder.exists() or folder.is_symlink():
        folder.unlink()
    return folder


def write_private(sdc, folder=None) -> Path | None:
    """Write ``sdc``'s private record into ``folder`` (default: the folder the runner named in
    :data:`PRIVATE_ENV`; nothing is written when it named none)."""
    folder = folder or os.environ.get(PRIVATE_ENV)
    if not folder:
        return None
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    ledger = {"rules": sdc.rules.as_dict(), "internal": sdc.internal,
              "subset": dict(getattr(sdc, "subset", {}) or {}),
              "partition": {k: list(v) for k, v in (getattr(sdc, "partition", {}) or {}).items()},
              "tables": [dict(r) for r in sdc.log], "figures": list(sdc.figures),
              "figure_recipes": [{k: v for k, v in r.items() if not k.startswith("_")}
                                 for r in getattr(sdc, "figure_recipes", [])],
              **sdc.ledger.private()}
    tables = [{"serial": t.record.get("serial"), "record": dict(t.record), "values": t.values,
               "primary": t.primary, "secondary": t.secondary, "notes": list(t.notes),
               "cell_ids": t.cell_ids, "dependents": dict(t.dependents)}
              for t in getattr(sdc, "tables", [])]
    _atomic(folder / LEDGER_FILE, json.dumps(ledger, ensure_ascii=False, default=str).encode())
    _atomic(folder / TABLES_FILE, pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL))
    return folder


def load_private(folder) -> tuple[dict, list]:
    """``(ledger, tables)`` of a run's private folder. Raises FileNotFoundError when the run
    kept none, PermissionError when the folder or a file is not this user's own or others may
    write it."""
    folder = Path(folder)
    for path in (folder, folder / LEDGER_FILE, folder / TABLES_FILE):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or \
                info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise PermissionError(f"{path}: not written by this user's run (owner, link or "
                                  f"mode); it is not read.")
    ledger = json.loads((folder / LEDGER_FILE).read_text(encoding="utf-8"))
    with open(folder / TABLES_FILE, "rb") as fh:
        tables = pickle.load(fh)  # noqa: S301 — our own file, owner-checked above
    return ledger, tables


def save_private(folder, ledger: dict, tables: list) -> None:
    """Write back a private record changed by the release (cells hidden for the batch)."""
    folder = Path(folder)
    _atomic(folder / LEDGER_FILE, json.dumps(ledger, ensure_ascii=False, default=str).encode())
    _atomic(folder / TABLES_FILE, pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL))


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
