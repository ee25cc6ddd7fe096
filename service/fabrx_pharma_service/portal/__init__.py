"""The portal: server-rendered pages for people (sign-in, the hospital pharmacist's verification).

``create_app(..., portal=Portal(AccountStore(path), SessionStore(path)))`` adds it under ``/portal``.
"""

from .accounts import MIN_PASSWORD_LENGTH, Account, AccountStore
from .pages import LABELS, Portal, portal_router
from .sessions import Session, SessionStore

__all__ = [
    "LABELS",
    "MIN_PASSWORD_LENGTH",
    "Account",
    "AccountStore",
    "Portal",
    "Session",
    "SessionStore",
    "portal_router",
]
