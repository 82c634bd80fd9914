"""Unstorable text (see `services.text`) is refused at the edge, once for every request: the
query string, form fields and JSON bodies are checked before any view parses them, and the
answer is a 422 naming the fields."""

from __future__ import annotations

from flask import request

from chom.services.errors import ValidationFailed
from chom.services.text import UNSTORABLE_MESSAGE, storable, unstorable_fields

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _unstorable_pairs(pairs) -> list[str]:
    return [key for key, value in pairs if not (storable(key) and storable(value))]


def _refuse_unstorable_text():
    fields = _unstorable_pairs(request.args.items(multi=True))
    if request.mimetype in FORM_TYPES:
        fields += _unstorable_pairs(request.form.items(multi=True))
    if request.is_json:
        fields += unstorable_fields(request.get_json(silent=True))
    if fields:
        raise ValidationFailed({field: [UNSTORABLE_MESSAGE] for field in fields})


def init_app(app) -> None:
    app.before_request(_refuse_unstorable_text)
