"""People who sign in to the portal: a name, an Argon2id password hash, a role and a Fabric identity.

Kept like the applications (one JSON file, mode 0600). Passwords are hashed with Argon2id
(``argon2-cffi``'s defaults: memory-hard, per-hash salt); a hash made with older parameters is
re-hashed on the next successful sign-in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fabrx_pharma import Role

from ..applications import CredentialError, write_private

__all__ = ["MIN_PASSWORD_LENGTH", "Account", "AccountStore"]

MIN_PASSWORD_LENGTH = 12
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_HASHER = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = _HASHER.hash("fabrx: no such account")


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    identity: str
    """The member's Fabric identity the person acts through."""
    password_hash: str

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "role": self.role.value,
            "identity": self.identity,
            "password_hash": self.password_hash,
        }


class AccountStore:
    """The portal's accounts in ``path`` (JSON, mode 0600), re-read when the file changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cache: tuple[int, dict[str, Account]] | None = None

    def _load(self) -> dict[str, Account]:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        raw = json.loads(self.path.read_text(encoding="utf-8"))
        accounts = {
            a["name"]: Account(a["name"], Role(a["role"]), a["identity"], a["password_hash"])
            for a in raw.get("accounts", [])
        }
        self._cache = (stamp, accounts)
        return accounts

    def __iter__(self) -> Iterator[Account]:
        return iter(sorted(self._load().values(), key=lambda a: a.name))

    def get(self, name: str) -> Account | None:
        return self._load().get(name)

    def add(self, name: str, password: str, *, role: str, identity: str, replace: bool = False) -> Account:
        """Create (or with ``replace`` reset) an account; raises :class:`CredentialError` naming what is
        wrong: the name, the role, or a password shorter than :data:`MIN_PASSWORD_LENGTH`."""
        if not _NAME.fullmatch(name):
            raise CredentialError(f"account name {name!r}: use 1-64 of A-Z a-z 0-9 . _ @ -")
        if not _NAME.fullmatch(identity):
            raise CredentialError(f"identity {identity!r}: use a user folder name or wallet label")
        try:
            parsed = Role(role)
        except ValueError:
            raise CredentialError(f"role {role!r}: one of {', '.join(r.value for r in Role)}") from None
        if len(password) < MIN_PASSWORD_LENGTH:
            raise CredentialError(f"password: use at least {MIN_PASSWORD_LENGTH} characters")
        accounts = dict(self._load())
        if name in accounts and not replace:
            raise CredentialError(f"account {name} exists (use --replace to reset its password)")
        account = Account(name, parsed, identity, _HASHER.hash(password))
        accounts[name] = account
        self._save(accounts)
        return account

    def remove(self, name: str) -> None:
        accounts = dict(self._load())
        if accounts.pop(name, None) is None:
            raise CredentialError(f"no account {name}")
        self._save(accounts)

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account if ``password`` is its password, else ``None`` (same cost either way)."""
        account = self._load().get(name)
        try:
            _HASHER.verify(account.password_hash if account else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return None
        if account is None:
            return None
        if _HASHER.check_needs_rehash(account.password_hash):
            accounts = dict(self._load())
            account = Account(account.name, account.role, account.identity, _HASHER.hash(password))
            accounts[account.name] = account
            self._save(accounts)
        return account

    def _save(self, accounts: dict[str, Account]) -> None:
        data = {"accounts": [accounts[k].to_dict() for k in sorted(accounts)]}
        write_private(self.path, json.dumps(data, indent=2).encode("utf-8"))
        self._cache = None
