"""Typed configuration loaded from YAML, with errors located by file, line and field."""

from aiops.config.durations import Duration, format_duration, parse_duration
from aiops.config.settings import Config, load_config
from aiops.config.yamlsource import Located, parse_yaml, parse_yaml_documents, read_yaml, validate

__all__ = [
    "Config",
    "Duration",
    "Located",
    "format_duration",
    "load_config",
    "parse_duration",
    "parse_yaml",
    "parse_yaml_documents",
    "read_yaml",
    "validate",
]
