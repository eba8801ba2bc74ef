"""Every example in the docs, found and classified, so a test can check each one.

Sources: ``README.md``, ``docs/*.md`` and ``runbooks/README.md``. An example is a fenced
code block, or an inline code span that starts with ``aiops `` or ``make `` (commands
quoted in prose and tables). What a block is comes from an HTML comment on the line
right above its fence, or is inferred when unambiguous:

- ``<!-- check: config -->``, ``runbook``, ``fixture``, ``prometheus``, ``alertmanager``,
  ``commands``, ``python``: check it as that;
- ``<!-- not-checked: why -->``: deliberately not checked (a diagram, a listing), said
  out loud instead of skipped in silence.

Inferred: YAML with ``kind: Runbook`` is a runbook, with ``scrape_configs`` a Prometheus
config, with ``route`` and ``receivers`` an Alertmanager config, with ``events`` a
fixture, and otherwise a configuration; ``sh`` (or unlabelled) blocks are commands;
``python`` blocks are Python.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.paths import ROOT

KINDS = ("config", "runbook", "fixture", "prometheus", "alertmanager", "commands", "python")
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARK = re.compile(r"^<!--\s*(check|not-checked):\s*(.*?)\s*-->\s*$")
_INLINE = re.compile(r"`((?:aiops|make) [^`]+)`")


@dataclass(frozen=True, kw_only=True)
class Example:
    """One example: where it is, what it is, its text (and why it is not checked)."""

    file: str
    line: int
    kind: str  # one of KINDS, or "not-checked"
    text: str
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def doc_files() -> list[Path]:
    """The documents whose examples must stay true."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
            ROOT / "runbooks" / "README.md"]


def _infer(lang: str, text: str) -> str:
    if lang == "python":
        return "python"
    if lang in ("sh", "bash", "shell", "console", ""):
        return "commands"
    if lang in ("yaml", "yml"):
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            return "config"  # the config check reports the YAML error with its line
        if isinstance(doc, dict):
            if doc.get("kind") == "Runbook":
                return "runbook"
            if "scrape_configs" in doc:
                return "prometheus"
            if "route" in doc and "receivers" in doc:
                return "alertmanager"
            if "events" in doc:
                return "fixture"
        return "config"
    return f"unknown language {lang!r}"


def examples(path: Path) -> list[Example]:
    """The fenced blocks and inline commands of one Markdown file."""
    rel = str(path.relative_to(ROOT))
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Example] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            for cmd in _INLINE.findall(lines[i]):
                out.append(Example(file=rel, line=i + 1, kind="commands", text=cmd))
            i += 1
            continue
        start, lang = i, m[1]
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        text = "\n".join(body) + "\n"
        above = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mark = _MARK.match(above.strip())
        if mark and mark[1] == "not-checked":
            out.append(Example(file=rel, line=start + 2, kind="not-checked", text=text,
                               reason=mark[2]))
        else:
            kind = mark[2] if mark else _infer(lang, text)
            out.append(Example(file=rel, line=start + 2, kind=kind, text=text))
    return out


def all_examples() -> list[Example]:
    """Every example of every document."""
    return [e for f in doc_files() for e in examples(f)]


def commands(text: str) -> list[list[str]]:
    """The command lines of a shell block: continuations joined, comments and ``&&`` split.

    In a transcript (some lines start with ``$ ``) only those lines are commands; the
    others are their output.
    """
    joined = re.sub(r"\\\n\s*", " ", text)
    lines = joined.splitlines()
    if any(line.startswith("$ ") for line in lines):
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    out = []
    for line in lines:
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split()
        cmd: list[str] = []
        for w in words:
            if w in ("&&", "||", ";", "|"):
                if cmd:
                    out.append(cmd)
                cmd = []
            else:
                cmd.append(w)
        if cmd:
            out.append(cmd)
    return out
