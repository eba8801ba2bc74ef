"""Principals and roles: who a request is, from the token it presents.

``http.tokens`` maps each token (read from a file or an environment variable when the
daemon starts) to a principal name and roles. A request authenticates with
``Authorization: Bearer <token>`` or HTTP basic auth whose password is the token
(Alertmanager's ``basic_auth``); every configured token is compared in constant time.
With no token configured (the loopback default) every request is the principal
``anonymous`` holding every role. Tokens are never logged or echoed.

>>> table = Principals([Principal(name="am", roles=frozenset({"alerts"}))], ["s3cret-am-token"])
>>> who = table.authenticate("Bearer s3cret-am-token")
>>> who.name, who.may("alerts"), who.may("approve")
('am', True, False)
>>> table.authenticate("Bearer guess") is None
True
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiops.config.server import HttpConfig, Role, TokenConfig
from aiops.errors import ConfigError

ROLES: tuple[Role, ...] = ("alerts", "approve", "read", "admin")
SHARED_ROLES: tuple[Role, ...] = ("alerts", "approve", "read")


@dataclass(frozen=True, kw_only=True, slots=True)
class Principal:
    """An authenticated caller: a name and the roles it holds (``admin`` implies all)."""

    name: str
    roles: frozenset[str]

    def may(self, role: str) -> bool:
        """Whether this principal holds ``role`` (directly or through ``admin``)."""
        return role in self.roles or "admin" in self.roles


ANONYMOUS = Principal(name="anonymous", roles=frozenset(ROLES))


class Principals:
    """The token table. Empty means authentication is off (loopback only)."""

    def __init__(self, principals: Sequence[Principal], tokens: Sequence[str]) -> None:
        if len(principals) != len(tokens):
            raise ValueError("one token per principal")
        self._entries = [(t.encode(), p) for p, t in zip(principals, tokens, strict=True)]

    @property
    def enabled(self) -> bool:
        """Whether any token is configured."""
        return bool(self._entries)

    @property
    def names(self) -> list[str]:
        return [p.name for _, p in self._entries]

    def authenticate(self, header: str | None) -> Principal | None:
        """The principal whose token ``header`` carries; ``ANONYMOUS`` when auth is off."""
        if not self._entries:
            return ANONYMOUS
        presented = _presented(header)
        if presented is None:
            return None
        found: Principal | None = None
        for token, principal in self._entries:  # no early exit: same work for every token
            if hmac.compare_digest(presented, token) and found is None:
                found = principal
        return found


def _presented(header: str | None) -> bytes | None:
    """The token an ``Authorization`` header presents (bearer, or basic password).

    >>> _presented("Basic " + base64.b64encode(b"am:pw").decode()), _presented("Token x")
    (b'pw', None)
    """
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value.encode("utf-8", "surrogateescape") if value else None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        _, sep, password = decoded.partition(b":")
        return password if sep and password else None
    return None


def load_principals(
    config: HttpConfig, base_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> Principals:
    """Read every configured token; a missing file, unset variable or duplicate is an error."""
    env = os.environ if environ is None else environ
    specs = list(config.tokens)
    if config.token_file is not None:
        specs.append(TokenConfig(name="shared", roles=list(SHARED_ROLES),
                                 token_file=config.token_file))
    principals: list[Principal] = []
    tokens: list[str] = []
    for i, spec in enumerate(specs):
        field = f"http.tokens[{i}]" if i < len(config.tokens) else "http.token_file"
        token = _read_token(spec, base_dir, env, field)
        if token in tokens:
            raise ConfigError(f"principal {spec.name!r} reuses another principal's token",
                              field=field)
        tokens.append(token)
        principals.append(Principal(name=spec.name, roles=frozenset(spec.roles)))
    return Principals(principals, tokens)


def _read_token(spec: TokenConfig, base_dir: Path | None, env: Mapping[str, str],
                field: str) -> str:
    if spec.token_env is not None:
        token = env.get(spec.token_env, "").strip()
        if not token:
            raise ConfigError(f"environment variable {spec.token_env} is unset or empty",
                              field=field)
        return token
    assert spec.token_file is not None
    path = Path(spec.token_file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(f"cannot read token file: {why}", file=str(path), field=field) from None
    if not token:
        raise ConfigError("token file is empty", file=str(path), field=field)
    return token
