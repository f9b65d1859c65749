"""The docs' table of every course.yaml key, generated from the schema
(`python -m autograder.config` prints it)."""

from .describe import as_code, mapping_parts, number_text, resolve, root_schema, schema_in_words
from .errors import format_doc_path
from .schema import EXERCISE_ID_PATTERN

KEYS_START = "<!-- course-yaml-keys:start -->"
KEYS_END = "<!-- course-yaml-keys:end -->"


# ---- documentation -------------------------------------------------------------------
def keys_markdown() -> str:
    """The Markdown table of every course.yaml key (key path, type or allowed values,
    default, description), generated from the models; docs/configuration.md carries it
    between KEYS_START and KEYS_END (autograder/docs.py rewrites it)."""
    rows = []

    def cell(text):
        # Outside `code`, a <name> would be read as an HTML tag and vanish from the page.
        parts = str(text).replace("|", "\\|").replace("\n", " ").split("`")
        return "`".join(
            p if i % 2 else p.replace("<", "&lt;").replace(">", "&gt;") for i, p in enumerate(parts)
        )

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
            return f"`{number_text(value)}`"
        return f"`{value}`"

    def add(schema, path):
        schema = resolve(schema)
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            sub = resolve(sub)
            description = sub.get("description", "")
            here = path + (name,)
            rows.append(
                (
                    as_code(format_doc_path(here)),
                    schema_in_words(sub, as_code) if "properties" not in sub else "a mapping (keys below)",
                    default_of(sub, name in required),
                    description,
                )
            )
            items = resolve(sub.get("items")) if sub.get("type") == "array" else None
            if items and "properties" in items:
                add(items, here + (0,))
            elif "properties" in sub:
                add(sub, here)
            elif mapping_parts(sub):
                key_schema, value = mapping_parts(sub)
                key = schema_in_words(key_schema, as_code)
                rows.append(
                    (
                        as_code(
                            format_doc_path(here)
                            + (
                                ".<exercise id>"
                                if key_schema.get("pattern") == EXERCISE_ID_PATTERN
                                else ".<name>"
                            )
                        ),
                        f"key: {key}; value: {schema_in_words(value, as_code)}",
                        default_of(value, False),
                        value.get("description", ""),
                    )
                )

    add(root_schema(), ())
    lines = ["| Key | Type / allowed values | Default | Description |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
