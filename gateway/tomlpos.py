"""Where things are in a TOML file, so configuration errors can say which line and which field.

``tomllib`` gives values without positions. :func:`locate` scans the text once, as a TOML
lexer would (strings, comments, multi-line values, inline tables, arrays, dotted keys, arrays
of tables), and records the line of every table header, key and array element under the same
path pydantic reports, as a tuple (``("buses", "rs485", "devices", 2, "unit")``): keys are
compared unquoted and unescaped, so a key holding a dot or a space is never confused with a
nested one.

Rules of this module:
- it never raises and always ends, whatever the text (it also runs on files tomllib refuses, to
  say which key or table a syntax error is in);
- it recurses nowhere: nesting is followed with an explicit stack, and its greatest depth is
  measured (:attr:`Located.depth`) so the loader can refuse a document too deeply nested for
  tomllib's recursive parser before handing it over;
- a missing field is located at its nearest located parent, and a document-level one at line 1.

Example::

    located = locate(text)
    located.line_of(("buses", "rs485", "devices", 1, "unit"))   # 13
    located.context_at(27)                                       # ("site", "timezone")
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: A field path as pydantic's ``loc``: table and key names, and array indexes.
Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPE = re.compile(r'\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))', re.DOTALL)
_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\", "e": "\x1b"}
_KEY_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\[^\n])*"|\'[^\'\n]*\')'
_DOTTED_KEY = re.compile(rf"[ \t]*{_KEY_PART}(?:[ \t]*\.[ \t]*{_KEY_PART})*[ \t]*")
_KEY_TOKEN = re.compile(r'([A-Za-z0-9_-]+)|"((?:[^"\\\n]|\\[^\n])*)"|\'([^\'\n]*)\'')
_BASIC = re.compile(r'"((?:[^"\\\n]|\\[^\n])*)"')
_LITERAL = re.compile(r"'([^'\n]*)'")
_SPACES = re.compile(r"[ \t]*")
_SIMPLE_LINE = re.compile(
    rf"({_KEY_PART}(?:[ \t]*\.[ \t]*{_KEY_PART})*)[ \t]*=[ \t]*"
    r"""(?:"(?:[^"\\\n]|\\[^\n])*"|'[^'\n]*'|[^\[{"'\n#,\]}]*)[ \t]*(?:#[^\n]*)?(?=\n|$)"""
)
_BLANK = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_SCALAR = re.compile(r"[^,\]}#\n]*")
#: Values nested deeper than this are scanned (for the depth) but not located one by one.
_LOCATE_DEPTH = 64


def format_path(path: Path) -> str:
    """A path as a person writes it in TOML: ``buildings.salle.zones."a b".schedule[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        key = part if _BARE_KEY.fullmatch(part) else _quote(part)
        out += f".{key}" if out else key
    return out or "(top level)"


def parse_path(text: str) -> Path:
    """``"buses.rs485.devices[2].unit"`` -> ``("buses", "rs485", "devices", 2, "unit")``.

    For the paths the cross-checks build (bare keys and indexes); a quoted key is unquoted.
    """
    parts: list[str | int] = []
    for match in re.finditer(r'\[(\d+)\]|"((?:[^"\\]|\\.)*)"|([^.\[\]"]+)', text):
        if match.group(1) is not None:
            parts.append(int(match.group(1)))
        elif match.group(2) is not None:
            parts.append(_unescape(match.group(2)))
        else:
            parts.append(match.group(3))
    return tuple(parts)


def _quote(key: str) -> str:
    out = []
    for char in key:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _unescape(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2)
        if code is not None:
            value = int(code, 16)
            return chr(value) if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else match.group(0)
        return _SIMPLE_ESCAPES.get(match.group(3), match.group(0))

    return _ESCAPE.sub(one, body)


@dataclass
class Located:
    """What :func:`locate` found: the line of each path, and what each line defines."""

    lines: dict[Path, int] = field(default_factory=dict)
    #: ``(line, path)`` of every header and key, in file order (for :meth:`context_at`)
    contexts: list[tuple[int, Path]] = field(default_factory=list)
    #: deepest nesting of arrays and inline tables, where it is first reached, and in which key
    depth: int = 0
    depth_line: int = 1
    depth_path: Path = ()
    line_count: int = 1

    def line_of(self, path: Path) -> int:
        """The line of ``path`` or of its nearest located parent (line 1 for the document)."""
        for cut in range(len(path), 0, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return 1

    def context_at(self, line: int) -> Path:
        """The key or table defined last at or before ``line`` (where a syntax error sits)."""
        found: Path = ()
        for at, path in self.contexts:
            if at > line:
                break
            found = path
        return found

    def _record(self, path: Path, line: int) -> None:
        """``path`` and every parent not yet located (a located parent's own parents are)."""
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                return
            self.lines[path[:cut]] = line


def _end_of(pattern: re.Pattern[str], text: str, start: int) -> int:
    """Where ``pattern`` (which may match nothing) ends when matched at ``start``."""
    match = pattern.match(text, start)
    return match.end() if match is not None else start


@dataclass
class _Frame:
    """An array (counting its elements) or an inline table being scanned."""

    array: bool
    path: Path
    index: int = 0


class _Scanner:
    """One pass over the text; every step moves forward, so it always ends."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.i = 0
        self.line = 1
        self.out = Located()
        self.table: Path = ()
        self.arrays: dict[Path, int] = {}  # array of tables (resolved path) -> its latest index
        self.value_root: Path = ()  # the key whose value is being scanned

    # ---- characters ------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.text[j] if j < self.n else ""

    def advance(self, count: int = 1) -> None:
        end = min(self.n, self.i + count)
        self.line += self.text.count("\n", self.i, end)
        self.i = end

    def skip_spaces(self) -> None:
        self.i = _end_of(_SPACES, self.text, self.i)

    def skip_to_line_end(self) -> None:
        end = self.text.find("\n", self.i)
        self.i = self.n if end < 0 else end

    def skip_blank(self) -> None:
        """Spaces, newlines and comments (inside arrays)."""
        end = _end_of(_BLANK, self.text, self.i)
        self.line += self.text.count("\n", self.i, end)
        self.i = end

    # ---- keys ------------------------------------------------------------------------------
    def key(self) -> list[str] | None:
        """A dotted key (bare or quoted parts); ``None`` if there is none here."""
        match = _DOTTED_KEY.match(self.text, self.i)
        if match is None:
            return None
        self.i = match.end()
        return self.parts(match.group(0))

    @staticmethod
    def parts(dotted: str) -> list[str]:
        out = []
        for token in _KEY_TOKEN.finditer(dotted):
            bare, basic, literal = token.groups()
            out.append(bare if bare is not None else _unescape(basic) if basic is not None else literal)
        return out

    def quoted(self, quote: str) -> str | None:
        """A one-line quoted string starting here (the cursor is on the quote); ``None`` if unclosed."""
        match = (_BASIC if quote == '"' else _LITERAL).match(self.text, self.i)
        if match is None:
            self.skip_to_line_end()
            return None
        self.i = match.end()
        return _unescape(match.group(1)) if quote == '"' else match.group(1)

    # ---- document --------------------------------------------------------------------------
    def scan(self, until_line: int | None = None) -> Located:
        while self.i < self.n and (until_line is None or self.line <= until_line):
            self.skip_spaces()
            char = self.peek()
            if char in ("\n", "\r"):
                self.advance()
                continue
            if char == "#":
                self.skip_to_line_end()
                continue
            if char == "[":
                self.header()
            elif not self.simple_assignment():
                self.assignment(self.table)
            self.skip_to_line_end()
        self.out.line_count = self.line
        return self.out

    def header(self) -> None:
        line = self.line
        double = self.peek(1) == "["
        self.advance(2 if double else 1)
        keys = self.key()
        if not keys:
            return
        if double:
            base = (*self.resolve(keys[:-1]), keys[-1])
            index = self.arrays.get(base, -1) + 1
            self.arrays[base] = index
            self.table = (*base, index)
        else:
            self.table = self.resolve(keys)
        self.out._record(self.table, line)
        self.out.contexts.append((line, self.table))

    def resolve(self, keys: list[str]) -> Path:
        """Insert the current index after every prefix that is an array of tables."""
        out: list[str | int] = []
        for key in keys:
            out.append(key)
            index = self.arrays.get(tuple(out))
            if index is not None:
                out.append(index)
        return tuple(out)

    def simple_assignment(self) -> bool:
        """The common line ``key = scalar  # comment`` in one regular expression (most of a file)."""
        match = _SIMPLE_LINE.match(self.text, self.i)
        if match is None:
            return False
        path = (*self.table, *self.parts(match.group(1)))
        self.out._record(path, self.line)
        self.out.contexts.append((self.line, path))
        self.i = match.end()
        return True

    def assignment(self, table: Path) -> None:
        line = self.line
        keys = self.key()
        if not keys:
            return
        path = (*table, *keys)
        self.out._record(path, line)
        self.out.contexts.append((line, path))
        self.skip_spaces()
        if self.peek() != "=":
            return
        self.i += 1
        self.value(path)

    # ---- values (an explicit stack: no recursion, whatever the nesting) --------------------
    def value(self, path: Path) -> None:
        """The value of ``path`` starting here, arrays and inline tables included."""
        stack: list[_Frame] = []
        self.value_root = path
        self.one_value(path, stack)
        while stack:
            before = self.i
            frame = stack[-1]
            done = self.array_step(frame, stack) if frame.array else self.table_step(frame, stack)
            if done or (self.i == before and stack and stack[-1] is frame):
                return  # the end of the text, or not TOML: tomllib will say why

    def array_step(self, frame: _Frame, stack: list[_Frame]) -> bool:
        self.skip_blank()
        char = self.peek()
        if char == "":
            return True
        if char == "]":
            self.i += 1
            stack.pop()
            return False
        if char == ",":
            self.i += 1
            frame.index += 1
            return False
        self.one_value((*frame.path, frame.index), stack)
        return False

    def table_step(self, frame: _Frame, stack: list[_Frame]) -> bool:
        self.skip_spaces()
        char = self.peek()
        if char in ("", "\n"):
            return True
        if char in ("}", ","):
            self.i += 1
            if char == "}":
                stack.pop()
            return False
        line = self.line
        keys = self.key()
        if not keys:
            return True
        here = (*frame.path, *keys)
        self.out._record(here, line)
        self.skip_spaces()
        if self.peek() != "=":
            return True
        self.i += 1
        self.one_value(here, stack)
        return False

    def one_value(self, path: Path, stack: list[_Frame]) -> None:
        """The value starting here: a scalar is skipped, an array or inline table pushes a frame."""
        self.skip_spaces()
        char = self.peek()
        line = self.line
        if len(stack) < _LOCATE_DEPTH:
            self.out._record(path, line)
        if char in ("[", "{"):
            self.i += 1
            stack.append(_Frame(array=char == "[", path=path))
            if len(stack) > self.out.depth:
                self.out.depth, self.out.depth_line, self.out.depth_path = len(stack), line, self.value_root
            return
        if self.text.startswith('"""', self.i) or self.text.startswith("'''", self.i):
            self.multiline_string(self.text[self.i : self.i + 3])
        elif char in ('"', "'"):
            self.quoted(char)
        else:
            self.i = _end_of(_SCALAR, self.text, self.i)

    def multiline_string(self, quote: str) -> None:
        j = self.i + 3
        while j < self.n:
            if quote == '"""' and self.text[j] == "\\":
                j += 2
                continue
            if self.text.startswith(quote, j):
                extra = 0
                while extra < 2 and self.text.startswith(quote[0], j + 3 + extra):
                    extra += 1  # up to two more quotes belong to the string ("""a"""")
                self.advance(j + 3 + extra - self.i)
                return
            j += 1
        self.advance(self.n - self.i)


class NotUtf8Error(ValueError):
    """A TOML file's bytes are not UTF-8: the ``line`` and the key or table (``where``) of the first bad byte."""

    def __init__(self, reason: str, line: int, where: Path) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.where = where


def decode_toml(data: bytes) -> str:
    """A TOML file's bytes as text (a UTF-8 byte order mark, as Windows Notepad writes, is accepted);
    :class:`NotUtf8Error` locating the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        where = locate(data.decode("utf-8", "replace")).context_at(line)
        reason = f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded (save the file as UTF-8)"
        raise NotUtf8Error(reason, line, where) from exc


def locate(text: str, *, until_line: int | None = None) -> Located:
    """Every header, key and array element of ``text`` with its 1-based line (never raises).

    ``until_line``: stop after that line (enough for :meth:`Located.context_at` of a syntax error).
    """
    return _Scanner(text).scan(until_line)


_STRINGS_AND_COMMENTS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*'
)
_BRACKETS = re.compile(r"[\[\]{}]")


def quick_depth(text: str) -> int:
    """The nesting of brackets outside strings and comments: a fast bound, before :func:`locate`.

    It counts table headers (``[[a]]`` is 2) and, on broken text, may count brackets of an unclosed
    string: it can only overstate the depth of values, never understate it.
    """
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRINGS_AND_COMMENTS.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest
