"""A small JSON Schema (draft 2020-12) validator for the bundle manifest, without a dependency.

It implements exactly the keywords ``manifest.schema.json`` uses and raises ``ValueError`` on any
other, so a schema edit cannot be silently ignored. ``jsonschema`` (which needs a Rust wheel that not
every device has) is used only by the tests, to check that both validators agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from edgeclf.errors import EdgeclfError

SCHEMA_FILE = "manifest.schema.json"
JsonPath = tuple[str | int, ...]  # keys and list indices from the manifest's root to a value

_ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment", "$defs"}
_TYPE_NAMES = {"object": "an object", "array": "an array", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "a boolean", "null": "null"}  # fmt: skip


@cache
def manifest_schema() -> dict[str, Any]:
    """The published schema, read from the installed package."""
    try:
        return json.loads(resources.files("edgeclf").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:  # a packaging mistake; validating nothing instead would hide bad bundles
        raise EdgeclfError(f"this edgeclf install lacks edgeclf/{SCHEMA_FILE} (reinstall edgeclf)") from None


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":  # JSON has one number type: 3.0 is an integer, true is not a number
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return not isinstance(value, bool) and isinstance(value, (int, float))
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    return isinstance(value, kinds[name])


def _same(a: Any, b: Any) -> bool:
    """JSON equality: unlike Python, false is not 0 and true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def iter_errors(
    value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: JsonPath = ()
) -> Iterator[tuple[JsonPath, str]]:
    """Every (path, message) where ``value`` breaks ``schema``; keywords apply independently, as in the spec."""
    root = schema if root is None else root
    for keyword, rule in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        if keyword == "$ref":
            if not rule.startswith("#/"):
                raise ValueError(f"only local $ref are supported, not {rule!r}")
            target: Any = root
            for part in rule[2:].split("/"):
                target = target[part]
            yield from iter_errors(value, target, root, path)
        elif keyword == "type":
            names = [rule] if isinstance(rule, str) else rule
            if not any(_is_type(value, n) for n in names):
                yield path, f"expected {' or '.join(_TYPE_NAMES[n] for n in names)}"
        elif keyword == "enum":
            if not any(_same(value, option) for option in rule):
                yield path, f"expected one of {', '.join(json.dumps(o) for o in rule)} (got {json.dumps(value)})"
        elif keyword == "const":
            if not _same(value, rule):
                yield path, f"expected {json.dumps(rule)} (got {json.dumps(value)})"
        elif keyword == "minimum":
            if _is_type(value, "number") and value < rule:
                yield path, f"expected at least {rule} (got {value})"
        elif keyword == "pattern":
            if isinstance(value, str) and not re.search(rule, value):
                wanted = schema.get("description", f"a match of {rule}")  # say what the pattern means, if said
                yield path, f"expected {wanted} (got {json.dumps(value, ensure_ascii=False)})"
        elif keyword == "minItems":
            if isinstance(value, list) and len(value) < rule:
                yield path, f"expected at least {rule} item(s)"
        elif keyword == "items":
            if isinstance(value, list):
                for i, item in enumerate(value):
                    yield from iter_errors(item, rule, root, (*path, i))
        elif keyword == "required":
            if isinstance(value, dict):
                for key in rule:
                    if key not in value:
                        yield path, f"missing required key {key!r}"
        elif keyword == "properties":
            if isinstance(value, dict):
                for key, subschema in rule.items():
                    if key in value:
                        yield from iter_errors(value[key], subschema, root, (*path, key))
        elif keyword == "additionalProperties":
            if isinstance(value, dict):
                for key in [k for k in value if k not in schema.get("properties", {})]:
                    if rule is False:
                        yield path, f"unexpected key {key!r}"
                    elif rule is not True:
                        yield from iter_errors(value[key], rule, root, (*path, key))
        elif keyword == "propertyNames":
            if isinstance(value, dict):  # reported at the object, as the spec's output format does
                for key in value:
                    for _, message in iter_errors(key, rule, root, path):
                        yield path, f"key {key!r}: {message}"
        else:
            raise ValueError(f"edgeclf.bundle.schema does not implement the keyword {keyword!r}")


def format_path(path: JsonPath) -> str:
    """``("artifacts", 0, "sha256")`` → ``artifacts[0].sha256``; odd keys are quoted: ``files["a.json"]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


def manifest_errors(manifest: Any) -> list[str]:
    """Readable problems of a manifest against the published schema, e.g. ``artifacts[0].sha256: expected a
    string``; empty when it is valid."""
    return [f"{format_path(p)}: {m}" if p else m for p, m in iter_errors(manifest, manifest_schema())]
