"""YAML read with its node tree, so that every problem can name its file, line and column."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labkit.errors import LabError, where


def at_mark(rel: Path, mark: yaml.Mark | None, *, column: bool = True) -> str:
    """``file:line:column`` of a YAML mark (its line and column are 0-based); the file alone without one."""
    if mark is None:
        return where(rel)
    return where(rel, mark.line + 1, mark.column + 1 if column else None)


def locate(node: yaml.Node, path: Sequence[Any]) -> yaml.Node:
    """Follow a path of keys and indexes through PyYAML's node tree, as far as it goes."""
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
    return node


@dataclass(frozen=True)
class Located:
    """A YAML file's data with its nodes: ``where(path)`` is "file:line:column" of a key's value."""

    rel: Path  # the file, as the messages name it (repository-relative)
    node: yaml.Node | None
    data: Any

    def mark(self, path: Sequence[Any]) -> yaml.Mark | None:
        return None if self.node is None else locate(self.node, path).start_mark

    def line(self, path: Sequence[Any]) -> int:
        mark = self.mark(path)
        return 1 if mark is None else mark.line + 1

    def where(self, path: Sequence[Any], *, column: bool = True) -> str:
        mark = self.mark(path)
        return where(self.rel, 1) if mark is None else at_mark(self.rel, mark, column=column)

    def error(self, path: Sequence[Any], message: str, *, column: bool = True) -> LabError:
        """A located error to raise: "labs/lab-7.yml:12:9: message"."""
        return LabError(f"{self.where(path, column=column)}: {message}")


def read(path: Path, *, root: Path) -> Located:
    """Parse one YAML file under ``root``; a file that cannot be read or parsed is a located error."""
    top = root.resolve()
    where = (root / path).resolve()
    if where != top and top not in where.parents:  # absolute elsewhere, `..`, or a link out
        raise LabError(f"{path}: a manifest must be inside the repository (labs/<id>.yml)")
    rel = path  # as the caller named it; an absolute path, relative to the repository
    if path.is_absolute():
        rel = path.relative_to(root) if path.is_relative_to(root) else where.relative_to(top)
    try:
        text = (root / rel).read_text(encoding="utf-8")
        # libyaml when available: the same nodes and marks, several times faster than pure Python.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        node = yaml.compose(text, Loader=loader)
        data = yaml.load(text, Loader=loader)
    except OSError as exc:
        raise LabError(f"{rel}: cannot read the manifest ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise LabError(f"{at_mark(rel, mark)}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    return Located(rel=rel, node=node, data=data)
