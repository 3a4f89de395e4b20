"""What a user id may be at the HTTP boundary: no longer than the columns that store it (`String(128)` in the
sessions, orders and review-queue tables), and free of control characters (PostgreSQL text cannot hold NUL; the
others only garble logs and the review console)."""

from __future__ import annotations

USER_ID_MAX_CHARS = 128
NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]+$"
