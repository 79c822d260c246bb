"""Telephony without I/O: caller numbers in E.164 and calls rebuilt from their events.

As pure as :mod:`helpdesk_core.mail`: values in, values out. The webhook adapters turn a
provider's requests into :class:`~helpdesk_core.ports.messaging.CallEvent` values, this package
folds the events of one call into a :class:`Call`, and
:mod:`helpdesk_core.services.calls` records calls on tickets.
"""

from helpdesk_core.telephony.calls import Call, CallOutcome, CallState, call_key
from helpdesk_core.telephony.numbers import caller_number

__all__ = ["Call", "CallOutcome", "CallState", "call_key", "caller_number"]
