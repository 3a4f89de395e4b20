"""Encryption at rest of personal data (conversations, behaviour events, user profiles) with Fernet keys from
configuration, and key rotation.

Columns declared as `EncryptedText` store `enc1:` + a Fernet token when a cipher is in use and plain text
otherwise; reads accept both, so a store encrypts from the moment a key is configured and `rotate_column`
re-encrypts older rows (plain or under a retired key) under the newest key. The schema stays a portable TEXT.

The cipher is process-wide (`use_cipher`), set once by the composition root from the configured keys: the
tables are module-level SQLAlchemy objects shared by every engine of the process. With no key configured the
composition root uses one generated into the data dir (`generated_key`), so nothing personal is stored in clear.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, Connection, Table, Text, bindparam, select, type_coerce, update
from sqlalchemy.types import TypeDecorator

PREFIX = "enc1:"


class EncryptionKeyError(ValueError):
    """A configured key is malformed, or stored data cannot be decrypted with the configured keys."""


class Cipher:
    """Encrypts with the first key; decrypts with any (newest first), so retired keys still read old rows."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise EncryptionKeyError("no encryption key given")
        self.keys = [k.strip() for k in keys]
        try:
            self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise EncryptionKeyError("an encryption key is not a valid Fernet key (32 url-safe base64 bytes)") from exc

    def encrypt(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption was configured
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise EncryptionKeyError("stored data was encrypted with a key that is not configured") from exc

    def reencrypt(self, stored: str) -> str:
        """The value under the newest key (plain text is encrypted, tokens of older keys re-encrypted)."""
        return self.encrypt(self.decrypt(stored))


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def load_keys(keys: Sequence[str], key_file: Path | None) -> list[str]:
    """The configured keys, newest first: those given directly, then one per line of KEY_FILE (`#` comments)."""
    found = [k.strip() for k in keys if k.strip()]
    if key_file is not None:
        try:
            lines = key_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise EncryptionKeyError(f"cannot read the key file {key_file}: {exc.strerror}") from exc
        found += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return found


def generated_key(path: Path) -> str:
    """The key in PATH, first generating it there (mode 0600) when the file does not exist yet."""
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(generate_key() + "\n")
        try:
            os.link(draft, path)  # atomic, and never replaces a key another process generated first
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    keys = load_keys([], path)
    if not keys:
        raise EncryptionKeyError(f"the key file {path} holds no key")
    return keys[0]


_lock = threading.Lock()
_cipher: Cipher | None = None
_seen_keys: list[str] = []


def use_cipher(cipher: Cipher | None) -> None:
    """Sets the process's cipher (None: store plain text; encrypted rows then fail to read with a clear error).

    Keys of ciphers set earlier in the process still decrypt (never encrypt): a process that opens a second data
    dir, with its own generated key, still reads the first."""
    global _cipher
    with _lock:
        if cipher is None:
            _cipher = None
            return
        _seen_keys[:] = [*cipher.keys, *(k for k in _seen_keys if k not in cipher.keys)]
        _cipher = Cipher(_seen_keys)


def current_cipher() -> Cipher | None:
    return _cipher


class EncryptedText(TypeDecorator[str]):
    """A TEXT column whose values are encrypted with the process's cipher (when one is set)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: object) -> str | None:
        cipher = _cipher
        if value is None or cipher is None:
            return value
        return cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: object) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value
        cipher = _cipher
        if cipher is None:
            raise EncryptionKeyError("stored data is encrypted but no encryption key is configured")
        return cipher.decrypt(value)


def encrypted_columns(tables: Sequence[Table]) -> list[tuple[Table, Column]]:
    return [(t, c) for t in tables for c in t.columns if isinstance(c.type, EncryptedText)]


def rotate_column(conn: Connection, table: Table, column: Column, cipher: Cipher, batch: int = 500) -> int:
    """Re-encrypts every value of COLUMN under the cipher's newest key, in one transaction with the caller's
    other columns; returns how many rows changed. Rows are walked by primary key, so memory stays flat."""
    (pk,) = table.primary_key.columns
    raw = type_coerce(column, Text)  # the stored token, not the decrypted value
    changed = 0
    after = None
    stmt = update(table).where(pk == bindparam("_pk")).values({column.name: bindparam("_value", type_=Text)})
    while True:
        query = select(pk, raw).where(column.is_not(None)).order_by(pk).limit(batch)
        if after is not None:
            query = query.where(pk > after)
        rows = conn.execute(query).all()
        if not rows:
            return changed
        updates = [{"_pk": key, "_value": cipher.reencrypt(value)} for key, value in rows]
        conn.execute(stmt, updates)
        changed += len(updates)
        after = rows[-1][0]
