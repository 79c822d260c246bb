"""The facade sections a host calls: ``helpdesk.tickets``, ``.mail``, ``.sms`` …

Each section is built in :func:`helpdesk_core.bootstrap.bootstrap` with only what it needs,
checks the actor with :mod:`helpdesk_core.domain.access`, then calls a handler of
:mod:`helpdesk_core.services`. No rules live here.
"""
