"""Which dotted paths the results can hold, read from their schema (resultfile.schema: results.schema.json
and any kind registered from outside): a value or a claim naming a field that no step writes is refused
when the manifest is loaded, not after minutes of measuring."""

from __future__ import annotations

from typing import Any

from labkit.records import JSONObject

_Node = tuple[JSONObject, str]  # a schema node and the words for what it describes


def schema() -> JSONObject:
    from labkit import resultfile  # it imports the kinds: ask only once they are loaded

    return resultfile.schema()


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
    return [(node, what)]


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
