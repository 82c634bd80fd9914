"""Text that cannot be kept: NUL (U+0000), which PostgreSQL's text, files and command lines on
a VPS cannot hold, and lone surrogates, which are not Unicode and cannot be encoded."""

from __future__ import annotations

UNSTORABLE_MESSAGE = "Text may not contain NUL characters (U+0000) or unpaired surrogates."


def storable(text: str) -> bool:
    """Whether `text` can be kept as it is: no NUL, and valid once encoded as UTF-8."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_fields(value, path: str = "") -> list[str]:
    """The dotted paths ("sites.0.domain") in decoded JSON whose key or text is not storable;
    a path names the key itself when the key is the culprit."""
    if isinstance(value, str):
        return [] if storable(value) else [path or "body"]
    if isinstance(value, dict):
        items = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    else:
        return []
    found = []
    for key, item in items:
        where = f"{path}.{key}" if path else key
        found += unstorable_fields(item, where) if storable(key) else [where]
    return found
