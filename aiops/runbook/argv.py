"""Checks on a rendered command line: a label value must never become an option. Pure.

A templated argv element (one with ``{{ }}`` or ``{% %}``) whose rendering starts with
``-`` would reach the program as an option (``--help``, ``--kubeconfig=/evil``), so it
fails the plan unless the element itself starts with a literal ``-`` (the author wrote
the option) or the step sets ``allow_leading_dash``. A NUL byte fails every element.

>>> check_argv(["restart", "{{ labels.unit }}"], ["restart", "web"], allow_leading_dash=False)
>>> check_argv(["restart", "{{ labels.unit }}"], ["restart", "--help"], allow_leading_dash=False)
Traceback (most recent call last):
...
aiops.runbook.templating.TemplateError: argv[1] '{{ labels.unit }}' rendered '--help', ...
"""

from __future__ import annotations

from collections.abc import Sequence

from aiops.runbook.templating import TemplateError


def templated(text: str) -> bool:
    """Whether ``text`` contains template syntax."""
    return "{{" in text or "{%" in text


def check_argv(templates: Sequence[str], rendered: Sequence[str], *,
               allow_leading_dash: bool) -> None:
    """Raise :class:`TemplateError` for an element a label turned into an option, or a NUL."""
    for i, (template, value) in enumerate(zip(templates, rendered, strict=True)):
        if "\x00" in value:
            raise TemplateError(f"argv[{i}] {template[:60]!r} rendered a NUL byte")
        if allow_leading_dash or not templated(template) or template.lstrip().startswith("-"):
            continue
        if value.startswith("-"):
            raise TemplateError(
                f"argv[{i}] {template[:60]!r} rendered {value[:60]!r}, which starts with '-' "
                "(set allow_leading_dash on the step to allow it)"
            )
