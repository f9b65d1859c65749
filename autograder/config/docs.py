"""The README table of every course.yaml key, generated from the schema
(`python -m autograder.config` prints it)."""
from .describe import _code, _describe, _mapping_parts, _number, _resolve, _root_schema
from .errors import _format_doc_path


KEYS_START = "<!-- course-yaml-keys:start -->"
KEYS_END = "<!-- course-yaml-keys:end -->"


# ---- documentation -------------------------------------------------------------------
def keys_markdown() -> str:
    """The Markdown table of every course.yaml key (key path, type or allowed values,
    default, description), generated from the models; README.md carries it between
    KEYS_START and KEYS_END."""
    rows = []

    def cell(text):
        return str(text).replace("|", "\\|").replace("\n", " ")

    def default_of(schema, required):
        if required:
            return "required"
        if "x-default" in schema:
            return schema["x-default"]
        if "default" not in schema:
            return ""
        value = schema["default"]
        if isinstance(value, dict):
            return "`{}` (none)" if not value else "see below"
        if isinstance(value, bool):
            return f"`{str(value).lower()}`"
        if isinstance(value, (int, float)):
            return f"`{_number(value)}`"
        return f"`{value}`"

    def add(schema, path):
        schema = _resolve(schema)
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            sub = _resolve(sub)
            description = sub.get("description", "")
            here = path + (name,)
            rows.append((_code(_format_doc_path(here)),
                         _describe(sub, _code) if "properties" not in sub else "a mapping (keys below)",
                         default_of(sub, name in required), description))
            items = _resolve(sub.get("items")) if sub.get("type") == "array" else None
            if items and "properties" in items:
                add(items, here + (0,))
            elif "properties" in sub:
                add(sub, here)
            elif _mapping_parts(sub):
                key_schema, value = _mapping_parts(sub)
                key = _describe(key_schema, _code)
                rows.append((_code(_format_doc_path(here) + ".<exercise id>"),
                             f"key: {key}; value: {_describe(value, _code)}",
                             default_of(value, False), value.get("description", "")))

    add(_root_schema(), ())
    lines = ["| Key | Type / allowed values | Default | Description |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
