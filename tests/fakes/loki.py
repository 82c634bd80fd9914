"""A fake Loki: `POST /loki/api/v1/push` (JSON), `GET /loki/api/v1/query_range`, `GET /ready`.

Queries are parsed as LogQL log queries — a stream selector of `=`, `!=`, `=~`, `!~` matchers
and any line filters `|=`, `!=`, `|~`, `!~` — with Go string literals unquoted as Loki does, so
a query CHOM builds badly (an unescaped quote, a filter that became syntax) fails here with
400 as it would on Loki. Answers have Loki's documented `streams` shape.
"""

from __future__ import annotations

import re
import threading

from tests.fakes.server import FakeServer, Routes

_STRING = r'"(?:[^"\\]|\\.)*"|`[^`]*`'
_MATCHER = re.compile(rf'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*({_STRING})\s*(,|}})')
_FILTER = re.compile(rf"\s*(\|=|!=|\|~|!~)\s*({_STRING})")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", '"': '"', "'": "'"}


class LogQLError(ValueError):
    pass


def go_unquote(literal: str) -> str:
    """Go's strconv.Unquote for the literals LogQL takes."""
    if literal.startswith("`"):
        return literal[1:-1]
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\n":
            raise LogQLError("newline in string")
        if char != "\\":
            out.append(char)
            i += 1
            continue
        kind = body[i + 1] if i + 1 < len(body) else ""
        if kind in _ESCAPES:
            out.append(_ESCAPES[kind])
            i += 2
        elif kind in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[kind]
            digits = body[i + 2:i + 2 + width]
            if len(digits) != width or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise LogQLError(f"invalid escape \\{kind}{digits}")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif kind.isdigit():
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            raise LogQLError(f"invalid escape \\{kind}")
    return "".join(out)


def parse(query: str):
    """(matchers, line filters) of a LogQL log query."""
    text = query.strip()
    if not text.startswith("{"):
        raise LogQLError("parse error: expected a stream selector")
    position, matchers = 1, []
    while True:
        found = _MATCHER.match(text, position)
        if not found:
            raise LogQLError(f"parse error at {position}: {text[position:position + 20]!r}")
        name, op, literal, end = found.groups()
        matchers.append((name, op, go_unquote(literal)))
        position = found.end()
        if end == "}":
            break
    filters = []
    while position < len(text):
        found = _FILTER.match(text, position)
        if not found:
            raise LogQLError(f"parse error at {position}: {text[position:position + 20]!r}")
        filters.append((found.group(1), go_unquote(found.group(2))))
        position = found.end()
        if not text[position:].strip():
            break
    return matchers, filters


def _matches(labels: dict, matchers) -> bool:
    for name, op, value in matchers:
        have = labels.get(name, "")
        ok = {"=": have == value, "!=": have != value,
              "=~": re.fullmatch(value, have) is not None,
              "!~": re.fullmatch(value, have) is None}[op]
        if not ok:
            return False
    return True


def _keeps(line: str, filters) -> bool:
    tests = {"|=": lambda v: v in line, "!=": lambda v: v not in line,
             "|~": lambda v: re.search(v, line) is not None,
             "!~": lambda v: re.search(v, line) is None}
    return all(tests[op](value) for op, value in filters)


class FakeLoki:
    def __init__(self) -> None:
        self.streams: dict[tuple, list[tuple[int, str]]] = {}
        self.queries: list[str] = []
        self.lock = threading.Lock()
        routes = Routes()
        routes.add("GET", "/ready")(lambda request: (200, None))
        routes.add("POST", "/loki/api/v1/push")(self._push)
        routes.add("GET", "/loki/api/v1/query_range")(self._query_range)
        self.server = FakeServer(routes)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> FakeLoki:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def _push(self, request):
        body = request.json()
        with self.lock:
            for stream in body["streams"]:
                key = tuple(sorted(stream["stream"].items()))
                self.streams.setdefault(key, []).extend(
                    (int(ns), line) for ns, line in stream["values"])
        return 204, None

    def _query_range(self, request):
        query = request.args.get("query", "")
        self.queries.append(query)
        try:
            matchers, filters = parse(query)
        except LogQLError as error:
            return 400, {"message": str(error)}
        start, end = int(request.args["start"]), int(request.args["end"])
        limit = int(request.args.get("limit", 100))
        backward = request.args.get("direction", "backward") == "backward"
        result = []
        with self.lock:
            for key, entries in self.streams.items():
                labels = dict(key)
                if not _matches(labels, matchers):
                    continue
                values = sorted(((ns, line) for ns, line in entries
                                 if start <= ns < end and _keeps(line, filters)),
                                reverse=backward)[:limit]
                if values:
                    result.append({"stream": labels,
                                   "values": [[str(ns), line] for ns, line in values]})
        return 200, {"status": "success",
                     "data": {"resultType": "streams", "result": result, "stats": {}}}
