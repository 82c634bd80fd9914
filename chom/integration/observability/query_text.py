"""Values quoted into PromQL and LogQL. Both take Go string literals; a JSON string (with
non-ASCII kept as UTF-8, which Go reads as is) is one: quotes, backslashes and control
characters come out escaped, so user text stays a literal and never becomes query syntax."""

from __future__ import annotations

import json


def quoted(value: str) -> str:
    """`value` as a double-quoted PromQL/LogQL string literal."""
    return json.dumps(value, ensure_ascii=False)
