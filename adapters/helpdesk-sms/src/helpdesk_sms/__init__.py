"""SMS for helpdesk_core: Kannel and Twilio senders, their callbacks, a WSGI app to mount."""

from __future__ import annotations

from helpdesk_sms.callbacks import (
    DeliveryReport,
    InboundSms,
    SmsCallbackApp,
    parse_kannel_dlr,
    parse_kannel_inbound,
    parse_twilio_inbound,
    parse_twilio_status,
)
from helpdesk_sms.kannel import KannelConfig, KannelSender
from helpdesk_sms.twilio import TwilioConfig, TwilioSender, signature, verify_signature

__all__ = [
    "DeliveryReport",
    "InboundSms",
    "KannelConfig",
    "KannelSender",
    "SmsCallbackApp",
    "TwilioConfig",
    "TwilioSender",
    "parse_kannel_dlr",
    "parse_kannel_inbound",
    "parse_twilio_inbound",
    "parse_twilio_status",
    "signature",
    "verify_signature",
]
