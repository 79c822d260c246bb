"""Values the adapter's tests share."""

from __future__ import annotations

from datetime import UTC, datetime

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the fake clock's start
JANA_PHONE = "+420601234567"  # a known customer
OUR_NUMBER = "+420800123456"  # the helpdesk's own number
