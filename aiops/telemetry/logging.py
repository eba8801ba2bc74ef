"""structlog configuration: console rendering for humans, JSON lines for machines."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

_HANDLER = "aiops-structlog"


def configure_logging(fmt: Literal["console", "json"] = "console", level: str = "info") -> None:
    """Configure structlog once for the process; logs go to stderr.

    Console lines carry the wall-clock time, labelled ``wall`` (the daemon's own clock may
    be simulated: incident and fault times are printed on it, labelled ``sim``). Records of
    the standard ``logging`` module (APScheduler, uvicorn) are rendered the same way, so
    no raw library line leaks between ours.
    """
    stamper = (
        structlog.processors.TimeStamper(fmt="iso", utc=True)
        if fmt == "json"
        else structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S wall", utc=True)
    )
    shared: list[structlog.typing.Processor] = [structlog.processors.add_log_level, stamper]
    renderer: structlog.typing.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        tail: list[structlog.typing.Processor] = [structlog.processors.dict_tracebacks, renderer]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        tail = [renderer]
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, *shared, *tail],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER] + [handler]
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """A bound logger tagged with the component ``name``."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(component=name)
    return logger
