"""Secrets (remote model API keys, task-file secrets) in the OS keyring.

A thin wrapper over the `keyring` library so that the rest of deskhand sees one error
type, `SecretStoreError`, with a message a user can act on. Secrets never go to files,
logs or exception messages from here; every entry lives under the service
`KEYRING_SERVICE`. Which backend `keyring` uses is its own choice (the OS keyring, or the
one PYTHON_KEYRING_BACKEND names); this module reads no environment itself.
"""

from __future__ import annotations

import logging
from typing import Final

import keyring
import keyring.errors

log = logging.getLogger(__name__)

KEYRING_SERVICE: Final = "deskhand"

_NO_BACKEND: Final = (
    "no usable keyring backend: install one (e.g. gnome-keyring / KWallet) "
    "or set PYTHON_KEYRING_BACKEND"
)


class SecretStoreError(Exception):
    """The keyring cannot be used, or refused to read, store or delete a secret."""


def get_secret(name: str) -> str | None:
    """The secret stored under `name`, or None when there is none."""
    _check_name(name)
    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise _store_error("read", name, exc) from exc


def set_secret(name: str, value: str) -> None:
    _check_name(name)
    if not value:
        raise ValueError("a secret cannot be empty")
    try:
        keyring.set_password(KEYRING_SERVICE, name, value)
    except keyring.errors.KeyringError as exc:
        # The backend's own message is left out: it might quote what it was given.
        raise _store_error("store", name, exc, quote=False) from exc
    log.debug("stored secret %r", name)


def delete_secret(name: str) -> None:
    """Remove the secret stored under `name`; nothing happens when there is none."""
    _check_name(name)
    try:
        if keyring.get_password(KEYRING_SERVICE, name) is None:
            return
        keyring.delete_password(KEYRING_SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise _store_error("delete", name, exc) from exc
    log.debug("deleted secret %r", name)


def _check_name(name: str) -> None:
    if not name or name != name.strip():
        raise ValueError(f"not a usable secret name: {name!r}")


def _store_error(
    verb: str, name: str, exc: keyring.errors.KeyringError, *, quote: bool = True
) -> SecretStoreError:
    if isinstance(exc, keyring.errors.NoKeyringError):
        return SecretStoreError(_NO_BACKEND)
    why = f": {exc}" if quote and str(exc) else ""
    return SecretStoreError(
        f"the keyring could not {verb} secret {name!r} ({type(exc).__name__}{why})"
    )


__all__ = ["KEYRING_SERVICE", "SecretStoreError", "delete_secret", "get_secret", "set_secret"]
