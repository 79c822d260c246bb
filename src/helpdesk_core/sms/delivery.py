"""Delivery report statuses, the same whichever gateway reported them."""

from __future__ import annotations

import enum

__all__ = ["DeliveryStatus"]


class DeliveryStatus(enum.Enum):
    """What a gateway reported about a sent SMS. Adapters map their own codes to these."""

    QUEUED = "queued"  # waiting at the gateway or the operator's SMSC
    ACCEPTED = "accepted"  # the SMSC took the message; the phone has not confirmed yet
    DELIVERED = "delivered"  # the phone received it
    FAILED = "failed"  # the operator could not deliver it to the phone
    REJECTED = "rejected"  # the SMSC refused the message
    EXPIRED = "expired"  # the phone stayed unreachable until the validity period ended

    @property
    def final(self) -> bool:
        """No later report can change it."""
        return self in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED,
                        DeliveryStatus.REJECTED, DeliveryStatus.EXPIRED)

    @property
    def success(self) -> bool:
        return self is DeliveryStatus.DELIVERED

    @property
    def failure(self) -> bool:
        return self in (DeliveryStatus.FAILED, DeliveryStatus.REJECTED, DeliveryStatus.EXPIRED)
