"""Where inside a template or expression its syntax error is: a character offset.

jinja2 reports a syntax error's line only; a person fixing ``'{{ labels.namespace }'``
needs the character. The template is lexed with the token positions recorded, parsed from
that token stream, and the offset of the token the parser stopped at is the answer (the
end of the text for "unexpected end of template"; the first unlexable character for a
lexer error). The loaders turn the offset into the file's line and column.

>>> error_offset("{{ labels.namespace }")
20
>>> error_offset("shop-{{ labels.x | }}")
19
>>> error_offset('labels.env == "prod" and', expression=True)
24
>>> error_offset("{{ labels['ns }}")
10
>>> error_offset("{{ labels.workload }}") is None
True
"""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import TemplateSyntaxError
from jinja2.lexer import Token, TokenStream
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

from aiops.runbook.templating import TemplateError

_ENV = SandboxedEnvironment()  # the same default syntax as aiops.runbook.templating


class LocatedTemplateError(TemplateError):
    """A :class:`TemplateError` that knows the offset of the offending character."""

    def __init__(self, message: str, *, offset: int | None) -> None:
        super().__init__(message)
        self.offset = offset


def error_offset(text: str, *, expression: bool = False) -> int | None:
    """Offset of the character where ``text`` stops being valid; None when it is valid."""
    state = "variable" if expression else None
    where = {"end": 0}
    positions: dict[int, int] = {}

    def raw() -> Iterator[tuple[int, str, str]]:
        offset = 0
        try:
            for lineno, kind, value in _ENV.lexer.tokeniter(text, None, None, state):
                where["start"], where["end"] = offset, offset + len(value)
                yield lineno, kind, value
                offset += len(value)
        except TemplateSyntaxError:
            where["unlexable"] = offset  # the lexer stopped at the first bad character
            raise

    def tokens() -> Iterator[Token]:
        for token in _ENV.lexer.wrap(raw(), None, None):
            positions[id(token)] = where["start"]
            yield token

    parser = Parser(_ENV, "")
    try:
        parser.stream = TokenStream(tokens(), None, None)
        if expression:
            parser.parse_expression()
            if not parser.stream.eos:
                parser.fail(f"unexpected {parser.stream.current.type!r}")
        else:
            parser.subparse()
    except TemplateSyntaxError:
        if "unlexable" in where:
            return where["unlexable"]
        current = parser.stream.current
        if current.type == "eof":
            return len(text)
        return positions.get(id(current), where["end"])
    return None


def locate(exc: TemplateError, text: str, *, expression: bool = False) -> LocatedTemplateError:
    """``exc`` with the offset of its offending character in ``text``."""
    return LocatedTemplateError(str(exc), offset=error_offset(text, expression=expression))
