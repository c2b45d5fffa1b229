"""Secrets in a real keyring backend (keyrings.alt's file keyring under the test's home).

The fail backend and a refusing backend check the error messages: one line a user can act
on, never the secret itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest
from keyrings.alt.file import PlaintextKeyring

from models.secrets import SecretStoreError, delete_secret, get_secret, set_secret


@pytest.fixture
def file_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_a_secret_round_trips_through_the_keyring(file_keyring: PlaintextKeyring) -> None:
    assert get_secret("lab") is None
    set_secret("lab", "sk-test-123")
    assert get_secret("lab") == "sk-test-123"
    assert Path(file_keyring.file_path).is_file()
    # A fresh backend object reads the same file: the secret is really stored.
    again = PlaintextKeyring()
    again.file_path = file_keyring.file_path
    assert again.get_password("deskhand", "lab") == "sk-test-123"
    delete_secret("lab")
    assert get_secret("lab") is None
    delete_secret("lab")  # deleting what is not there is not an error


@pytest.mark.parametrize("name", ["", " lab", "lab\n"])
def test_unusable_names_are_refused(file_keyring: PlaintextKeyring, name: str) -> None:
    with pytest.raises(ValueError, match="secret name"):
        get_secret(name)


def test_an_empty_secret_is_refused(file_keyring: PlaintextKeyring) -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        set_secret("lab", "")


def test_no_backend_gives_one_actionable_line() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        with pytest.raises(SecretStoreError, match="no usable keyring backend") as info:
            get_secret("lab")
    finally:
        keyring.set_keyring(previous)
    assert "\n" not in str(info.value)


class _Refusing(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError(f"cannot store {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("locked")


def test_a_refused_store_never_quotes_the_secret() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(_Refusing())
    try:
        with pytest.raises(SecretStoreError) as info:
            set_secret("lab", "sk-very-secret")
    finally:
        keyring.set_keyring(previous)
    assert "sk-very-secret" not in str(info.value)
    assert "'lab'" in str(info.value)
