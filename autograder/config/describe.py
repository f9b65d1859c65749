"""The schema in words, for error messages and the docs' table: what a key expects, what
was found instead, and a hint. What a key expects is English for the docs' table and the
course's language in a message (`schema_in_words(..., words=_)`); what was found and the hint
only ever go into a message, so they are always in the language in force."""

import datetime
import functools
import math
import re

from ..words import N_, _, ngettext
from .schema import EXERCISE_ID_PATTERN, NAME_PATTERN, PACKAGE_PATTERN, Course

# YAML 1.2 floats (PyYAML reads only YAML 1.1's): the loader's resolver, and how a found value is told.
FLOAT = re.compile(
    r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


# ---- the schema, for messages and documentation ---------------------------------------
@functools.cache
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
        ((pattern, value),) = schema["patternProperties"].items()
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


# Every phrase is written once in English, marked for the catalog (N_) and put into words by the
# caller's `words`: English as it stands for the docs' table (docs.py), the course's language
# (words._) for an error message. Whole phrases, so that a language orders them its own way.
_PATTERNS = {  # pattern -> (singular, plural), each formatted with n (the longest) and the quoted characters
    NAME_PATTERN: (N_("a name of 1-{n} letters, digits, {dash} or {underscore}"), N_("names")),
    EXERCISE_ID_PATTERN: (
        N_("an exercise id (1-{n} letters, digits or {underscore}, not starting with a digit)"),
        N_("exercise ids"),
    ),
    PACKAGE_PATTERN: (
        N_("a package name as PyPI writes it, with version bounds if wanted (scipy, scipy>=1.11)"),
        N_("package names as PyPI writes them, with version bounds if wanted (scipy, scipy>=1.11)"),
    ),
}
# What a list of mappings holds one of, by the model's title ("mappings, one per assignment").
_ITEMS = {"Assignment": N_("assignment")}


def _english(text):
    return text


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


def _range(schema, words=_english):
    """The bounds of a number, in words ('from 0 to 10', 'greater than 0 and at most 1000'), or ''."""
    low = (
        (N_("at least {bound}"), schema["minimum"])
        if "minimum" in schema
        else (N_("greater than {bound}"), schema["exclusiveMinimum"])
        if "exclusiveMinimum" in schema
        else None
    )
    high = (
        (N_("at most {bound}"), schema["maximum"])
        if "maximum" in schema
        else (N_("less than {bound}"), schema["exclusiveMaximum"])
        if "exclusiveMaximum" in schema
        else None
    )
    if low and high and "minimum" in schema and "maximum" in schema:
        return words(N_("from {low} to {high}")).format(low=number_text(low[1]), high=number_text(high[1]))
    parts = [
        words(phrase).format(bound=number_text(bound)) for phrase, bound in (b for b in (low, high) if b)
    ]
    if len(parts) == 2:
        # Translators: two bounds of a number, e.g. "greater than 0" and "at most 1000".
        return words(N_("{first} and {second}")).format(first=parts[0], second=parts[1])
    return parts[0] if parts else ""


def _bounded(kind, schema, words):
    """A kind of number with its bounds: 'a whole number from 0 to 10'."""
    bounds = _range(schema, words)
    # Translators: a kind of number ("a whole number") and its bounds ("from 0 to 10").
    return words(N_("{kind} {bounds}")).format(kind=kind, bounds=bounds) if bounds else kind


def schema_in_words(schema, q=_quote, plural=False, words=_english):
    """What a value of this schema must be, in words: 'a whole number from 0 to 10'. In English
    unless `words` translates (an error message passes words._; the docs' table keeps English)."""
    schema = resolve(schema) or {}
    kind = schema.get("type")
    if "enum" in schema:
        return words(N_("one of {values}")).format(values=", ".join(q(v) for v in schema["enum"]))
    if kind == "string":
        pattern = schema.get("pattern")
        if pattern in _PATTERNS:
            return words(_PATTERNS[pattern][plural]).format(
                n=schema.get("maxLength"), dash=q("-"), underscore=q("_")
            )
        if pattern:
            return words(N_("texts matching {pattern}") if plural else N_("text matching {pattern}")).format(
                pattern=q(pattern)
            )
        return words(N_("texts") if plural else N_("text"))
    if kind == "integer":
        return _bounded(words(N_("whole numbers") if plural else N_("a whole number")), schema, words)
    if kind == "number":
        return _bounded(words(N_("numbers") if plural else N_("a number")), schema, words)
    if kind == "boolean":
        return words(N_("true or false"))
    if kind == "array":
        items = resolve(schema.get("items")) or {}
        if "properties" in items:
            title = items["title"]
            item = words(_ITEMS[title]) if title in _ITEMS else title.lower()
            phrase = (
                N_("a non-empty list of mappings, one per {item}")
                if schema.get("minItems")
                else N_("a list of mappings, one per {item}")
            )
            return words(phrase).format(item=item)
        phrase = N_("a non-empty list of {items}") if schema.get("minItems") else N_("a list of {items}")
        return words(phrase).format(items=schema_in_words(items, q, plural=True, words=words))
    if kind == "object" and "properties" in schema:
        if plural:
            return words(N_("mappings"))
        return words(N_("a mapping with the keys {keys}")).format(keys=", ".join(schema["properties"]))
    if kind == "object":
        keys, values = mapping_parts(schema)
        return words(N_("a mapping of {keys} to {values}")).format(
            keys=schema_in_words(keys, q, plural=True, words=words),
            values=schema_in_words(values, q, plural=True, words=words),
        )
    return words(N_("a value"))


def quoted(text):
    """Text found in the file, quoted and cut to 60 characters."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def value_in_words(value):
    """What was found instead, in the language in force (only error messages say it)."""
    if value is None:
        return _("nothing (the value is empty)")
    if isinstance(value, bool):
        return _("{value} (a boolean)").format(value=str(value).lower())
    if isinstance(value, int):
        return _("{value} (a whole number)").format(value=value)
    if isinstance(value, float):
        return _("{value} (a decimal number)").format(
            value=number_text(value) if math.isfinite(value) else value
        )
    if isinstance(value, str):
        return _("{value} (a string)").format(value=quoted(value)) if value else _("'' (an empty string)")
    if isinstance(value, list):
        if not value:
            return _("an empty list")
        return ngettext("a list of {n} item", "a list of {n} items", len(value)).format(n=len(value))
    if isinstance(value, dict):
        if not value:
            return _("an empty mapping")
        return _("a mapping with the keys {keys}").format(keys=", ".join(map(str, value)))
    if isinstance(value, (datetime.date, datetime.datetime)):
        return _("{value} (a date)").format(value=value.isoformat())
    if isinstance(value, bytes):
        return _("binary data")
    return _("{value} (a {type})").format(value=repr(value), type=type(value).__name__)


def hint_for(schema, value):
    """What to change, in the language in force ('; put the value in quotes to make it text'), or ''."""
    kind = (resolve(schema) or {}).get("type")
    if (isinstance(value, bool) and kind == "string") or (isinstance(value, bool) and "enum" in schema):
        return _(
            "; YAML reads unquoted yes/no/on/off/true/false as true or false, so put the value in quotes"
        )
    if isinstance(value, (int, float, datetime.date)) and not isinstance(value, bool) and kind == "string":
        return _("; put the value in quotes to make it text")
    if (isinstance(value, str) and kind in ("integer", "number") and FLOAT.match(value.strip())) or (
        isinstance(value, str) and kind in ("integer", "number") and value.strip().lstrip("+-").isdigit()
    ):
        return _("; remove the quotes to make it a number")
    if (
        isinstance(value, str)
        and kind == "boolean"
        and value.strip().lower() in ("true", "false", "yes", "no", "on", "off")
    ):
        return _("; remove the quotes")
    if isinstance(value, str) and kind == "string" and schema.get("pattern") == NAME_PATTERN:
        stem = re.sub(r"\.(py|ipynb)$", "", value.rsplit("/", 1)[-1])
        if stem != value and re.match(NAME_PATTERN, stem):
            return _("; write just the name, {name}").format(name=repr(stem))
    if isinstance(value, float) and kind == "integer" and value.is_integer():
        return _("; write it without the decimal point, {value}").format(value=int(value))
    return ""
