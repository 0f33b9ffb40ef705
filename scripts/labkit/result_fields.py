"""Which dotted paths the results can hold, read from their schema (results.schema.json and the
sections the kinds declare): a value or a claim naming a field that no step writes is refused
when the manifest is loaded, not after minutes of measuring."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from labkit import kinds
from labkit.records import JSONObject

_Node = tuple[JSONObject, str]  # a schema node and the words for what it describes


SCHEMA_PATH = Path(__file__).with_name("results.schema.json")


@functools.cache
def _file_schema() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


def schema() -> JSONObject:
    """The results' JSON Schema: results.schema.json (the parts every lab has) and a section per kind
    that publishes one, its entries as the kind declares them (``Kind.schema``)."""
    loaded: JSONObject = json.loads(_file_schema())
    for kind in kinds.sections():
        if kind.section and kind.section not in loaded["properties"]:
            # "x-kind" (a keyword validators ignore) lets a message say "a profile entry"
            entry = {**(kind.schema or {"type": "object"}), "x-kind": kind.name}
            loaded["properties"][kind.section] = (
                {"type": "object", "additionalProperties": entry}
                if kind.keyed
                else {"oneOf": [{"type": "null"}, entry]}
            )
            loaded["required"].append(kind.section)
    return loaded


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def _alternatives(node: Any, what: str, defs: JSONObject) -> list[_Node]:
    """The object or array forms a node may take ($ref followed, oneOf/anyOf flattened, null dropped)."""
    if not isinstance(node, dict):
        return [({}, what)]  # `true`: anything
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        return _alternatives(defs.get(name, {}), f"a {name} entry", defs)
    choices = node.get("oneOf") or node.get("anyOf")
    if choices:
        return [alt for sub in choices for alt in _alternatives(sub, what, defs)]
    if node.get("type") == "null":
        return []
    return [(node, f"a {node['x-kind']} entry" if "x-kind" in node else what)]


def _open(node: JSONObject) -> bool:
    """A node that says nothing about its fields (a command's `result`, `extracted`): any path goes on."""
    shaped = ("properties", "items", "enum", "const")
    scalar = node.get("type") not in (None, "object", "array") and not isinstance(node.get("type"), list)
    return (
        not scalar and not any(k in node for k in shaped) and node.get("additionalProperties", True) is True
    )


def _types(node: JSONObject) -> str:
    given = node.get("type", "value")
    return " or ".join(given) if isinstance(given, list) else str(given)


def field_problem(path: str, full: JSONObject) -> str | None:
    """Why ``path`` names a field the results cannot have (with the fields there are), or None."""
    defs: JSONObject = full.get("$defs", {})
    here: list[_Node] = [(full, "the results")]
    for index, part in enumerate(path.split(".")):
        forms = [alt for node, what in here for alt in _alternatives(node, what, defs)]
        if any(_open(node) for node, _ in forms):
            return None
        after: list[_Node] = []
        for node, _ in forms:
            properties = node.get("properties", {})
            if part in properties:
                after.append((properties[part], f"{'.'.join(path.split('.')[: index + 1])!r}"))
            extra = node.get("additionalProperties")
            if isinstance(extra, dict) and part not in properties:
                after.append((extra, f"a {path.split('.')[index - 1] if index else 'results'} entry"))
            if "items" in node:  # a list of named items: a part picks one by name
                name = path.split(".")[index - 1] if index else "item"
                after.append((node["items"], f"a {_singular(name)} entry"))
        if not after:
            fields = sorted({f for node, _ in forms for f in node.get("properties", {})})
            what = forms[0][1] if forms else "the results"
            if fields:
                return f"{path!r}: {part!r} is not a field of {what} (one of: {', '.join(fields)})"
            return (
                f"{path!r}: {what} is a {_types(forms[0][0]) if forms else 'value'}, with no field {part!r}"
            )
        here = after
    return None
