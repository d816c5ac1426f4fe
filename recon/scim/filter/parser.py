"""A recursive-descent parser for SCIM filters (RFC 7644 §3.4.2.2, with its errata).

Grammar (precedence: ``not`` binds tighter than ``and``, which binds tighter than ``or``;
operators, keywords and attribute names are case-insensitive)::

    filter     = or_expr EOF
    or_expr    = and_expr *("or" and_expr)
    and_expr   = unary *("and" unary)
    unary      = "not" "(" or_expr ")" / "(" or_expr ")" / attr_expr
    attr_expr  = attrPath "pr"
               / attrPath compareOp compValue
               / attrPath "[" val_filter "]" ["." subAttr ("pr" / compareOp compValue)]
    val_filter = the same as or_expr, without nested "[...]"
    attrPath   = [URN ":"] ATTRNAME ["." ATTRNAME]
    ATTRNAME   = (ALPHA / "$") *(ALPHA / DIGIT / "-" / "_" / "$")
    compValue  = JSON string / JSON number / true / false / null

The trailing ``.subAttr`` after brackets is not in the RFC's filter ABNF but is sent by
Microsoft Entra (``emails[type eq "work"].value eq "x"``); it reads as
``emails[type eq "work" and value eq "x"]``.

Any text that does not parse raises :class:`recon.errors.FilterSyntaxError` with the
0-based offset of the offending token; nothing else escapes :func:`parse`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from recon.errors import FilterSyntaxError
from recon.scim.filter.ast import (
    OPERATORS,
    And,
    AttrPath,
    Compare,
    Filter,
    Literal,
    Node,
    Not,
    Or,
    Present,
    ValuePath,
)

__all__ = ["MAX_DEPTH", "parse"]

MAX_DEPTH = 48
"""How deep parentheses, ``not`` and brackets may nest (deeper filters are refused, not crashed on)."""

_WORD = re.compile(r"[A-Za-z$_][A-Za-z0-9_$:.\-]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4})*"')
_NAME = re.compile(r"[A-Za-z$][A-Za-z0-9_$\-]*")
_URN = re.compile(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+", re.IGNORECASE)
_WORD_CHAR = re.compile(r"[A-Za-z0-9_$]")
_SPACE = " \t\r\n\f"
_KEYWORDS = {"and", "or", "not", "pr", "true", "false", "null", *OPERATORS}


@dataclass(frozen=True)
class _Token:
    kind: str  # "(" ")" "[" "]" "." "word" "string" "number" "end"
    text: str
    position: int
    value: Literal = None

    def keyword(self) -> str | None:
        """The lower-cased keyword this word spells, if any."""
        if self.kind != "word":
            return None
        lowered = self.text.lower()
        return lowered if lowered in _KEYWORDS else None

    def describe(self) -> str:
        return "end of filter" if self.kind == "end" else repr(self.text)


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char in _SPACE:
            position += 1
            continue
        if char in "()[].":
            tokens.append(_Token(char, char, position))
            position += 1
            continue
        if char == '"':
            match = _STRING.match(text, position)
            if match is None:
                raise _bad_string(text, position)
            value = json.loads(match.group())
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise FilterSyntaxError(
                    "string holds an unpaired \\u surrogate escape", text, position
                ) from None
            tokens.append(_Token("string", match.group(), position, value))
            position = match.end()
            continue
        if char == "-" or char.isdigit():
            match = _NUMBER.match(text, position)
            if match is None or (match.end() < length and _WORD_CHAR.match(text, match.end())):
                raise FilterSyntaxError("invalid number", text, position)
            raw = match.group()
            number: int | float
            if any(c in raw for c in ".eE"):
                number = float(raw)
                if not math.isfinite(number):
                    raise FilterSyntaxError("number out of range", text, position)
            else:
                number = int(raw)
            tokens.append(_Token("number", raw, position, number))
            position = match.end()
            continue
        match = _WORD.match(text, position)
        if match is None:
            raise FilterSyntaxError(f"unexpected character {char!r}", text, position)
        tokens.append(_Token("word", match.group(), position))
        position = match.end()
    tokens.append(_Token("end", "", length))
    return tokens


def _bad_string(text: str, start: int) -> FilterSyntaxError:
    """Say what is wrong with the string literal that starts at ``start``."""
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == '"':
            break
        if char == "\\":
            if re.match(r'\\(["\\/bfnrt]|u[0-9A-Fa-f]{4})', text[position : position + 6]) is None:
                return FilterSyntaxError("invalid escape in string", text, position)
            position += 6 if text[position + 1] == "u" else 2
            continue
        if ord(char) < 0x20:
            return FilterSyntaxError("control character in string (escape it)", text, position)
        position += 1
    return FilterSyntaxError("unterminated string", text, start)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0
        self.depth = 0

    # -- helpers ----------------------------------------------------------------------
    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> FilterSyntaxError:
        token = token or self.current
        return FilterSyntaxError(f"{message}, found {token.describe()}", self.text, token.position)

    def expect(self, kind: str, what: str) -> _Token:
        if self.current.kind != kind:
            raise self.error(f"expected {what}")
        return self.advance()

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterSyntaxError(f"filter nests deeper than {MAX_DEPTH} levels", self.text, token.position)

    # -- grammar ----------------------------------------------------------------------
    def parse(self) -> Node:
        if self.current.kind == "end":
            raise FilterSyntaxError("empty filter", self.text, 0)
        from recon.limits import limits  # the one place the bound is declared

        most = limits().max_filter_terms
        joins = [t for t in self.tokens if t.keyword() in ("and", "or")]
        if len(joins) >= most:
            raise FilterSyntaxError(
                f"filter has more than {most} terms (RECON_MAX_FILTER_TERMS)",
                self.text,
                joins[most - 1].position,
            )
        node = self.or_expr(in_brackets=False)
        if self.current.kind != "end":
            raise self.error("expected 'and', 'or' or the end of the filter")
        return node

    def or_expr(self, *, in_brackets: bool) -> Node:
        terms = [self.and_expr(in_brackets=in_brackets)]
        while self.current.keyword() == "or":
            self.advance()
            terms.append(self.and_expr(in_brackets=in_brackets))
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def and_expr(self, *, in_brackets: bool) -> Node:
        terms = [self.unary(in_brackets=in_brackets)]
        while self.current.keyword() == "and":
            self.advance()
            terms.append(self.unary(in_brackets=in_brackets))
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def unary(self, *, in_brackets: bool) -> Node:
        token = self.current
        if token.keyword() == "not" and self.tokens[self.index + 1].kind == "(":
            self.advance()
            self.enter(token)
            self.advance()
            inner = self.or_expr(in_brackets=in_brackets)
            self.expect(")", "')' to close 'not ('")
            self.depth -= 1
            return Not(inner, token.position)
        if token.kind == "(":
            self.enter(token)
            self.advance()
            inner = self.or_expr(in_brackets=in_brackets)
            self.expect(")", "')'")
            self.depth -= 1
            return inner
        return self.attr_expr(in_brackets=in_brackets)

    def attr_expr(self, *, in_brackets: bool) -> Node:
        token = self.current
        if token.kind != "word" or token.keyword() in ("and", "or"):
            raise self.error("expected an attribute path, '(' or 'not ('")
        self.advance()
        path = self.attr_path(token)
        if self.current.kind == "[":
            bracket = self.current
            if in_brackets:
                raise self.error("a value filter cannot contain another '[...]'")
            if path.sub_attr is not None:
                raise FilterSyntaxError(
                    f"'[...]' applies to an attribute, not to the sub-attribute {path.text()!r}",
                    self.text,
                    path.position,
                )
            self.enter(bracket)
            self.advance()
            inner = self.or_expr(in_brackets=True)
            self.expect("]", "']' to close the value filter")
            self.depth -= 1
            if self.current.kind == ".":
                self.advance()
                sub_token = self.expect("word", "a sub-attribute name after ']'")
                if not _NAME.fullmatch(sub_token.text):
                    raise FilterSyntaxError(
                        f"invalid sub-attribute name {sub_token.text!r}", self.text, sub_token.position
                    )
                sub_path = AttrPath(None, sub_token.text, None, sub_token.position)
                extra = self.operation(sub_path)
                inner = And((*inner.terms, extra)) if isinstance(inner, And) else And((inner, extra))
            return ValuePath(path, inner)
        return self.operation(path)

    def operation(self, path: AttrPath) -> Node:
        op_token = self.current
        op = op_token.keyword()
        if op == "pr":
            self.advance()
            return Present(path, op_token.position)
        if op not in OPERATORS:
            raise self.error(f"expected an operator (eq ne co sw ew gt ge lt le pr) after {path.text()!r}")
        self.advance()
        value_token = self.current
        value: Literal
        if value_token.kind in ("string", "number"):
            value = value_token.value
        elif value_token.keyword() in ("true", "false", "null"):
            value = {"true": True, "false": False, "null": None}[value_token.text.lower()]
        else:
            raise self.error("expected a value (a quoted string, a number, true, false or null)")
        self.advance()
        return Compare(path, op, value, op_token.position, value_token.position)

    def attr_path(self, token: _Token) -> AttrPath:
        raw = token.text
        uri: str | None = None
        name = raw
        offset = 0
        if raw.lower().startswith("urn:"):
            uri, _, name = raw.rpartition(":")
            offset = len(uri) + 1
            if not _URN.fullmatch(uri):
                raise FilterSyntaxError(f"invalid schema URN {uri!r}", self.text, token.position)
        elif ":" in raw:
            raise FilterSyntaxError(
                f"invalid attribute path {raw!r} (a schema prefix starts with 'urn:')",
                self.text,
                token.position,
            )
        parts = name.split(".")
        if len(parts) > 2:
            raise FilterSyntaxError(
                f"invalid attribute path {raw!r}: at most one sub-attribute",
                self.text,
                token.position + offset,
            )
        for part in parts:
            if not _NAME.fullmatch(part):
                shown = part or "(empty)"
                raise FilterSyntaxError(
                    f"invalid attribute name {shown!r} in {raw!r}", self.text, token.position + offset
                )
        return AttrPath(uri, parts[0], parts[1] if len(parts) == 2 else None, token.position)


def parse(text: str) -> Filter:
    """Parse a SCIM filter; raises :class:`FilterSyntaxError` with the offending position."""
    if not isinstance(text, str):
        raise TypeError(f"filter must be a string, not {type(text).__name__}")
    return Filter(text, _Parser(text).parse())
