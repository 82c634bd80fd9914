"""Form fields generated from a site type's JSON options schema, and the form read back.

Only the schema's top-level properties become fields; the service validates the whole object
against the schema again (`chom.services.sites`), so this module decides presentation only.
"""

from __future__ import annotations

from dataclasses import dataclass

# Strings longer than this get a text area rather than a one-line input.
TEXTAREA_FROM = 1000


@dataclass(frozen=True)
class OptionField:
    name: str  # the option's key in the schema
    input_name: str  # the form field's name: options.<type>.<key>
    label: str
    widget: str  # text | email | password | url | number | textarea | checkbox
    help: str
    required: bool
    max_length: int | None


def _widget(key: str, spec: dict) -> str:
    kind = spec.get("type")
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if "password" in key:
        return "password"
    if spec.get("format") == "email":
        return "email"
    if spec.get("maxLength", 0) > TEXTAREA_FROM:
        return "textarea"
    return "text"


def _help(key: str, spec: dict, schema: dict) -> str:
    parts = [spec["description"]] if spec.get("description") else []
    needs = schema.get("dependentRequired", {}).get(key)
    if needs:
        parts.append("Needs " + ", ".join(n.replace("_", " ") for n in needs) + " too.")
    if "minLength" in spec:
        parts.append(f"At least {spec['minLength']} characters.")
    return " ".join(parts)


def option_fields(type_name: str, schema: dict) -> list[OptionField]:
    """The fields for one site type's options, in the schema's order."""
    required = set(schema.get("required", ()))
    return [
        OptionField(
            name=key,
            input_name=f"options.{type_name}.{key}",
            label=spec.get("title") or key.replace("_", " ").capitalize(),
            widget=_widget(key, spec),
            help=_help(key, spec, schema),
            required=key in required,
            # No HTML `pattern`: JSON Schema's regexes are not always valid in the browser's
            # v-flag syntax; the server checks them and answers inline.
            max_length=spec.get("maxLength"),
        )
        for key, spec in schema.get("properties", {}).items()
    ]


def read_options(type_name: str, schema: dict, form) -> dict:
    """The options the form gives for `type_name`: empty fields are left out (the schema's
    defaults apply); numbers and checkboxes are converted, anything unparsable is passed on
    as typed for the schema to reject."""
    options: dict = {}
    for field in option_fields(type_name, schema):
        raw = form.get(field.input_name, "")
        spec = schema["properties"][field.name]
        if field.widget == "checkbox":
            if raw:
                options[field.name] = True
            continue
        if raw == "":
            continue
        if field.widget == "number":
            try:
                options[field.name] = int(raw) if spec.get("type") == "integer" else float(raw)
            except ValueError:
                options[field.name] = raw
            continue
        options[field.name] = raw
    return options
