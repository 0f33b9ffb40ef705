"""A swap killed at each of its renames, pages and notebook included: `repair` leaves the old lab or the
new one, whole, with no temporary file left; a failed page write leaves nothing behind.

A kill is imitated by an exception that nothing in the swap catches, raised instead of the N-th rename:
the swap does no clean-up once its renames have begun, so the files are then as a SIGKILL leaves them.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from labkit import store

OLD = {"data/results.json": "old", "data/old.svg": "old", "index.md": "old page", "lab-5.ipynb": "old nb"}
NEW = {"data/results.json": "new", "data/new.svg": "new", "index.md": "new page", "lab-5.ipynb": "new nb"}
RENAMES = 5  # data → data.old, data.new → data, two pages, then data.old is removed (not a rename)


class Killed(BaseException):
    """Stands for SIGKILL: nothing catches it, no clean-up runs."""


def state(lab: Path) -> dict[str, str]:
    return {
        p.relative_to(lab).as_posix(): p.read_text(encoding="utf-8") for p in lab.rglob("*") if p.is_file()
    }


def start(tmp_path: Path) -> tuple[Path, dict[Path, str]]:
    """A published lab (OLD) and a staged new one: data.new/ and the pages' new texts."""
    lab = tmp_path / "docs" / "labs" / "lab-5"
    for name, text in OLD.items():
        (lab / name).parent.mkdir(parents=True, exist_ok=True)
        (lab / name).write_text(text, encoding="utf-8")
    (lab / "data.new").mkdir()
    for name in ("results.json", "new.svg"):
        (lab / "data.new" / name).write_text("new", encoding="utf-8")
    return lab, {lab / "index.md": "new page", lab / "lab-5.ipynb": "new nb"}


def kill_at(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Raise Killed instead of the n-th os.rename/os.replace (1-based) or rmtree of data.old."""
    calls = {"n": 0}

    def step(real):  # type: ignore[no-untyped-def]
        def wrapped(*args, **kwargs):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == n:
                raise Killed
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(store.os, "rename", step(store.os.rename))
    monkeypatch.setattr(store.os, "replace", step(store.os.replace))
    monkeypatch.setattr(store.shutil, "rmtree", step(store.shutil.rmtree))


@pytest.mark.parametrize("n", range(1, RENAMES + 1))
def test_a_swap_killed_at_each_rename_is_repaired_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    lab, pages = start(tmp_path)
    with monkeypatch.context() as patched:
        kill_at(patched, n)
        with pytest.raises(Killed):
            store.swap_in(data_dir=lab / "data", staged=lab / "data.new", pages=pages)
    left = sorted(p.name for p in store.leftovers(lab))
    assert left, "a kill inside the swap leaves something for `check` to name"
    said = store.repair(lab / "data", list(pages))
    assert said
    assert store.leftovers(lab) == []
    # Before the new data was in place: the old lab; after: the new one, pages included.
    assert state(lab) == (OLD if n <= 2 else NEW), said


def test_a_kill_while_the_pages_are_written_rolls_back(tmp_path: Path) -> None:
    """Nothing renamed yet: data.new/ and a partial index.md.new (0 bytes) are removed, never published."""
    lab, _ = start(tmp_path)
    store.temporary(lab / "index.md").write_text("", encoding="utf-8")
    said = store.repair(lab / "data", [lab / "index.md", lab / "lab-5.ipynb"])
    assert said and "index.md.new" in said
    assert state(lab) == OLD and store.leftovers(lab) == []


def test_page_files_left_without_a_swap_in_progress_are_removed(tmp_path: Path) -> None:
    """Left by a failed run (a full disk) of an older toolkit: no data.old/, so never rolled forward."""
    lab, _ = start(tmp_path)
    (lab / "data.new").rename(tmp_path / "elsewhere")
    for page in ("index.md", "lab-5.ipynb"):
        store.temporary(lab / page).write_text("", encoding="utf-8")
    store.repair(lab / "data", [lab / "index.md", lab / "lab-5.ipynb"])
    assert state(lab) == OLD and store.leftovers(lab) == []


def test_a_failed_page_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab, pages = start(tmp_path)
    real = store._write_synced

    def full_disk(path: Path, text: str) -> None:
        if path.name == "lab-5.ipynb.new":
            path.write_text(text[:1], encoding="utf-8")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(store, "_write_synced", full_disk)
    with pytest.raises(OSError):
        store.swap_in(data_dir=lab / "data", staged=lab / "data.new", pages=pages)
    assert [p.name for p in store.leftovers(lab)] == ["data.new"]  # the caller removes its staging
    assert {k: v for k, v in state(lab).items() if not k.startswith("data.new")} == OLD


def test_the_swap_writes_a_mirror_that_does_not_exist_yet(tmp_path: Path) -> None:
    """A QUICK run's first swap into out/quick/: the page's folder is created."""
    lab = tmp_path / "out" / "quick" / "docs" / "labs" / "lab-5"
    (lab / "data.new").mkdir(parents=True)
    (lab / "data.new" / "results.json").write_text("new", encoding="utf-8")
    store.swap_in(data_dir=lab / "data", staged=lab / "data.new", pages={lab / "index.md": "page"})
    assert state(lab) == {"data/results.json": "new", "index.md": "page"}


def test_a_refused_rename_puts_the_old_data_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a kill: `data.new → data` fails (EACCES, EXDEV): the old lab is whole again at once."""
    lab, pages = start(tmp_path)
    real = store.os.rename

    def refuse_staged(src: Path, dst: Path) -> None:
        if Path(src).name == "data.new":
            raise OSError(errno.EACCES, "Permission denied", str(src))
        real(src, dst)

    monkeypatch.setattr(store.os, "rename", refuse_staged)
    with pytest.raises(OSError):
        store.swap_in(data_dir=lab / "data", staged=lab / "data.new", pages=pages)
    assert [p.name for p in store.leftovers(lab)] == ["data.new"]  # the caller removes its staging
    assert {k: v for k, v in state(lab).items() if not k.startswith("data.new")} == OLD
