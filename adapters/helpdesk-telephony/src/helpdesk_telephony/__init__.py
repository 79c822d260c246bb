"""Telephony for helpdesk_core: sipgate.io and Twilio Voice webhooks, click-to-call.

Mount :class:`TelephonyApp` in the host's web server for the webhooks and the agent's screen
pop; the plugin registers the click-to-call adapters ``"sipgate"`` and ``"twilio"`` through the
``helpdesk_core`` entry-point group.
"""

from helpdesk_telephony.sipgate import SipgateClickToCall, SipgateWebhook, parse_push
from helpdesk_telephony.store import CallStore, InMemoryCallStore
from helpdesk_telephony.twilio_voice import (
    TwilioClickToCall,
    TwilioWebhook,
    parse_status,
    signature,
    verify_signature,
)
from helpdesk_telephony.wsgi import TelephonyApp

__all__ = [
    "CallStore",
    "InMemoryCallStore",
    "SipgateClickToCall",
    "SipgateWebhook",
    "TelephonyApp",
    "TwilioClickToCall",
    "TwilioWebhook",
    "parse_push",
    "parse_status",
    "signature",
    "verify_signature",
]
