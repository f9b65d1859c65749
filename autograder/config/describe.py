"""The schema in words, for error messages and the README table: what a key expects, what
was found instead, and a hint."""
import datetime
import functools
import math
import re

from .schema import Course, EXERCISE_ID_PATTERN, NAME_PATTERN


# YAML 1.2 floats (PyYAML reads only YAML 1.1's): the loader's resolver, and how a found value is told.
FLOAT = re.compile(r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


# ---- the schema, for messages and documentation ---------------------------------------
@functools.lru_cache(maxsize=None)
def root_schema():
    return Course.model_json_schema()


def resolve(schema):
    while schema is not None and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = {**root_schema()["$defs"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _child(schema, part):
    schema = resolve(schema)
    if schema is None:
        return None
    if isinstance(part, int):
        return resolve(schema.get("items"))
    if part in schema.get("properties", {}):
        return resolve(schema["properties"][part])
    parts = mapping_parts(schema)
    return parts[1] if parts else None


def mapping_parts(schema):
    """(key schema, value schema) of a free-form mapping (a dict field), else None."""
    schema = resolve(schema) or {}
    if schema.get("type") != "object" or "properties" in schema:
        return None
    keys = {"type": "string", **(resolve(schema.get("propertyNames")) or {})}
    if schema.get("patternProperties"):
        (pattern, value), = schema["patternProperties"].items()
        return {**keys, "pattern": pattern}, resolve(value)
    value = schema.get("additionalProperties")
    return keys, resolve(value) if isinstance(value, dict) else {}


def schema_at(loc):
    schema = resolve(root_schema())
    for part in loc:
        schema = _child(schema, part)
    return schema


def key_schema_at(loc):
    """The schema of the keys of the mapping at loc."""
    parts = mapping_parts(schema_at(loc))
    return parts[0] if parts else {"type": "string"}


def all_keys(schema=None, path=()):
    """(path, key) of every named key of the schema, sections first."""
    schema = resolve(schema or root_schema())
    out = []
    for name, sub in schema.get("properties", {}).items():
        out.append((path + (name,), name))
        sub = resolve(sub)
        if sub.get("type") == "array" and "properties" in (resolve(sub.get("items")) or {}):
            out += all_keys(sub["items"], path + (name, 0))
        elif "properties" in sub:
            out += all_keys(sub, path + (name,))
    return out


_PATTERNS = {  # pattern -> (singular, plural); `q` quotes a literal
    NAME_PATTERN: (lambda q, n: f"a name of 1-{n} letters, digits, {q('-')} or {q('_')}",
                   lambda q, n: "names"),
    EXERCISE_ID_PATTERN: (lambda q, n: f"an exercise id (1-{n} letters, digits or {q('_')}, "
                                       f"not starting with a digit)",
                          lambda q, n: "exercise ids"),
}


def _quote(text):
    return repr(text)


def as_code(text):
    return f"`{text}`"


def number_text(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return re.sub(r"e([+-])0*(\d)", lambda m: "e" + m.group(1).replace("+", "") + m.group(2), repr(value))
    return str(value)


def _range(schema):
    low = (("at least", schema["minimum"]) if "minimum" in schema else
           ("greater than", schema["exclusiveMinimum"]) if "exclusiveMinimum" in schema else None)
    high = (("at most", schema["maximum"]) if "maximum" in schema else
            ("less than", schema["exclusiveMaximum"]) if "exclusiveMaximum" in schema else None)
    if low and high and low[0] == "at least" and high[0] == "at most":
        return f" from {number_text(low[1])} to {number_text(high[1])}"
    parts = [f"{word} {number_text(bound)}" for word, bound in (low, high) if word]
    return (" " + " and ".join(parts)) if parts else ""


def schema_in_words(schema, q=_quote, plural=False):
    """What a value of this schema must be, in words: 'a whole number from 0 to 10'."""
    schema = resolve(schema) or {}
    kind = schema.get("type")
    if "enum" in schema:
        return "one of " + ", ".join(q(v) for v in schema["enum"])
    if kind == "string":
        pattern = schema.get("pattern")
        if pattern in _PATTERNS:
            return _PATTERNS[pattern][plural](q, schema.get("maxLength"))
        return ("texts" if plural else "text") + (f" matching {q(pattern)}" if pattern else "")
    if kind == "integer":
        return ("whole numbers" if plural else "a whole number") + _range(schema)
    if kind == "number":
        return ("numbers" if plural else "a number") + _range(schema)
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        items = resolve(schema.get("items")) or {}
        each = ("mappings, one per " + items["title"].lower()) if "properties" in items \
            else schema_in_words(items, q, plural=True)
        return f"a {'non-empty ' if schema.get('minItems') else ''}list of {each}"
    if kind == "object" and "properties" in schema:
        if plural:
            return "mappings"
        return "a mapping with the keys " + ", ".join(schema["properties"])
    if kind == "object":
        keys, values = mapping_parts(schema)
        return f"a mapping of {schema_in_words(keys, q, plural=True)} to {schema_in_words(values, q, plural=True)}"
    return "a value"


def value_in_words(value):
    if value is None:
        return "nothing (the value is empty)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (a whole number)"
    if isinstance(value, float):
        return f"{number_text(value) if math.isfinite(value) else value} (a decimal number)"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"{shown!r} (a string)" if value else "'' (an empty string)"
    if isinstance(value, list):
        return "an empty list" if not value else f"a list of {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, dict):
        return "an empty mapping" if not value else "a mapping with the keys " + ", ".join(map(str, value))
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"{value.isoformat()} (a date)"
    if isinstance(value, bytes):
        return "binary data"
    return f"{value!r} (a {type(value).__name__})"


def hint_for(schema, value):
    kind = (resolve(schema) or {}).get("type")
    if isinstance(value, bool) and kind == "string" or isinstance(value, bool) and "enum" in schema:
        return "; YAML reads unquoted yes/no/on/off/true/false as true or false, so put the value in quotes"
    if isinstance(value, (int, float, datetime.date)) and not isinstance(value, bool) and kind == "string":
        return "; put the value in quotes to make it text"
    if isinstance(value, str) and kind in ("integer", "number") and FLOAT.match(value.strip()) \
            or isinstance(value, str) and kind in ("integer", "number") and value.strip().lstrip("+-").isdigit():
        return "; remove the quotes to make it a number"
    if isinstance(value, str) and kind == "boolean" and value.strip().lower() in ("true", "false", "yes", "no",
                                                                                 "on", "off"):
        return "; remove the quotes"
    if isinstance(value, str) and kind == "string" and schema.get("pattern") == NAME_PATTERN:
        stem = re.sub(r"\.(py|ipynb)$", "", value.rsplit("/", 1)[-1])
        if stem != value and re.match(NAME_PATTERN, stem):
            return f"; write just the name, {stem!r}"
    if isinstance(value, float) and kind == "integer" and value.is_integer():
        return f"; write it without the decimal point, {int(value)}"
    return ""
