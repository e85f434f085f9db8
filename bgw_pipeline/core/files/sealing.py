"""Archives encrypted at rest with age (X25519, ChaCha20-Poly1305 in 64 KiB chunks).

Stored archives hold every row of the database. With a key file (BGW_ARCHIVE_KEY_FILE,
an age identity as `age-keygen` or `bgw keygen` writes it) every archive is sealed before
it is stored, locally or in S3, and opened again wherever it is read: imports, the
restore drill, downloads. age authenticates every chunk, and an archive is decrypted
whole into a private work file before anything opens it, so a flipped byte is caught
before a single row is read. A sealed file keeps its archive name and is recognised by
age's header; `age -d -i KEYFILE` opens it too, without bgw.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pyrage
from pyrage import x25519

from bgw_pipeline.core.files.work_folders import work_folder
from bgw_pipeline.core.model.errors import ArchiveError, ConfigError

AGE_HEADER = b"age-encryption.org/v1\n"
KEY_PREFIX = "AGE-SECRET-KEY-"


@dataclass(frozen=True)
class ArchiveKey:
    """The identity that seals and opens archives; `public` names it in messages."""

    path: Path
    identity: x25519.Identity = field(repr=False, compare=False)

    @property
    def public(self) -> str:
        return str(self.identity.to_public())

    @classmethod
    def load(cls, path: Path) -> ArchiveKey:
        """Read an age identity file; ConfigError names the file and what is wrong."""
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"BGW_ARCHIVE_KEY_FILE: cannot read {path} ({type(exc).__name__})"
            ) from None
        lines = [line.strip() for line in text.splitlines()]
        secrets = [line for line in lines if line.startswith(KEY_PREFIX)]
        if len(secrets) != 1:
            raise ConfigError(
                f"BGW_ARCHIVE_KEY_FILE: {path} must hold exactly one age identity "
                f"(a line starting {KEY_PREFIX}); `bgw keygen` writes one"
            )
        try:
            identity = x25519.Identity.from_str(secrets[0])
        except Exception:  # noqa: BLE001 - pyrage's IdentityError; the key never goes in a message
            raise ConfigError(f"BGW_ARCHIVE_KEY_FILE: {path} holds no valid age identity") from None
        return cls(path, identity)


def write_key_file(path: Path) -> ArchiveKey:
    """A new identity in a new file readable by its owner only (refuses to overwrite)."""
    identity = x25519.Identity.generate()
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = f"# created: {created} by bgw keygen\n# public key: {identity.to_public()}\n{identity}\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return ArchiveKey(path, identity)


def is_sealed(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(AGE_HEADER)) == AGE_HEADER


def seal(plain: Path, sealed: BinaryIO, key: ArchiveKey) -> None:
    """Encrypt the file `plain` into the open file `sealed` for `key`."""
    with open(plain, "rb") as source:
        pyrage.encrypt_io(source, sealed, [key.identity.to_public()])


@contextmanager
def opened(path: Path, key: ArchiveKey | None) -> Iterator[Path]:
    """The archive's plain bytes as a file for as long as the block runs: `path` itself
    when it is not sealed, else a private decrypted copy, removed afterwards.

    Raises:
        ArchiveError: sealed but no key is set, sealed for another key, or changed since
            it was sealed (nothing of it has been read then).
    """
    if not is_sealed(path):
        yield path
        return
    if key is None:
        raise ArchiveError(
            f"{path.name} is encrypted (age); set BGW_ARCHIVE_KEY_FILE to the key file it "
            "was encrypted for"
        )
    with work_folder("bgw-open-") as folder:
        plain = folder / path.name
        try:
            pyrage.decrypt_file(str(path), str(plain), [key.identity])
        except pyrage.DecryptError:
            raise ArchiveError(
                f"{path.name} is encrypted for another key, not the one in {key.path} "
                f"({key.public}); nothing was read from it"
            ) from None
        except OSError as exc:  # age's authentication failed on a chunk, or a short file
            raise ArchiveError(
                f"{path.name} fails its encryption's authentication ({exc}): it was changed "
                "or damaged after it was encrypted; nothing was read from it"
            ) from None
        yield plain
