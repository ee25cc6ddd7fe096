"""Fabric CA errors a caller handles specifically."""

from __future__ import annotations

from ..errors import CAError

__all__ = ["AlreadyRegisteredError"]


class AlreadyRegisteredError(CAError):
    """The identity to register already exists at the CA (error code 74).

    Registration is not idempotent; a tool that re-runs should catch this and enroll with the secret it
    registered before.
    """

    def __init__(self, message: str, *, enrollment_id: str, messages: tuple[str, ...] = ()) -> None:
        self.enrollment_id = enrollment_id
        super().__init__(message, messages=messages)
