"""helpdesk_core quickstart: a small e-shop embeds a customer helpdesk.

Run it with ``python examples/quickstart/demo.py`` (a fresh SQLite file in a temporary
directory) or point it at another database with ``--database-url``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shop import ShopDirectory, seed  # the host's own module, next to this file

from helpdesk_core import (
    Actor,
    Channel,
    Direction,
    Helpdesk,
    IncidentType,
    KeywordRule,
    OrderNotOwned,
    Priority,
    Settings,
    StaffVia,
    Status,
    StatusCategory,
    StorageDirectory,
    Ticket,
    Workflow,
    bootstrap,
)
from helpdesk_core.inmemory import FakeClock
from helpdesk_core.mail.policy import MailChannel, MailPolicy
from helpdesk_core.ports.messaging import OutgoingMail
from helpdesk_core.sla import (
    BusinessCalendar,
    EscalationLevel,
    PolicySelector,
    SlaConfig,
    SlaPolicy,
    SlaTarget,
    TargetKind,
)

# -- the shop's helpdesk configuration --------------------------------------------------------

INCIDENT_TYPES = [
    IncidentType("complaint", "Complaint", team="returns"),
    IncidentType("complaint/damaged", "Damaged in transit", responsible="petra"),
    IncidentType("question", "Question", team="front-desk"),
]

# Checked in order; on a tie the earlier rule wins, so the most specific comes first.
RULES = (
    KeywordRule(keywords=("poškozen", "rozbit", "beschädigt", "kaputt", "poškoden", "damaged"),
                incident_type="complaint/damaged", priority=Priority.HIGH, tags=("damaged",)),
    KeywordRule(keywords=("reklamac", "reklamác", "reklamation", "vrácení", "vrátenie"),
                incident_type="complaint"),
    KeywordRule(keywords=("wann", "kdy ", "kedy", "liefertermin"),
                incident_type="question", priority=Priority.LOW),
)

# A custom status, mapped onto the "waiting on third party" step of the fixed spine.
WORKFLOW = Workflow.with_custom(
    [Status("with_carrier", StatusCategory.WAITING_ON_THIRD_PARTY, "with carrier")]
)

EVA = Actor.agent("eva", "Eva Horváthová")  # front desk, takes calls
# Mail arrives at support@; the helpdesk answers from there and marks its own Message-IDs.
SUPPORT_MAILBOX = MailChannel(name="support", addresses=["support@shop.example"],
                              owner="eva", language="de")
MAIL_POLICY = MailPolicy(message_id_domain="helpdesk.shop.example")
# Service levels: first answer within 2 business hours, resolution within 2 business days
# (4 hours when urgent), in Prague office hours with Czech public holidays.
OFFICE = BusinessCalendar.weekly("Europe/Prague", {"mon-fri": "08:00-16:00"}, country="CZ")
SLA = SlaConfig(selector=PolicySelector.standard(default=SlaPolicy(
    "standard", OFFICE,
    targets=[SlaTarget.uniform(TargetKind.FIRST_RESPONSE, timedelta(hours=2)),
             SlaTarget(TargetKind.RESOLUTION, {**dict.fromkeys(Priority, timedelta(hours=16)),
                                              Priority.URGENT: timedelta(hours=4)})],
    escalation=[EscalationLevel(0.75, ["assignee"]), EscalationLevel(1.0, ["team_lead"])])))
PETRA = Actor.agent("petra", "Petra Malá")  # returns team


# -- wiring -----------------------------------------------------------------------------------


def build(database_url: str, clock: FakeClock) -> tuple[Helpdesk, ShopDirectory]:
    """The host's composition: storage, the shop's Directory, then ``bootstrap``."""
    settings = Settings(database_url=database_url, workflow=WORKFLOW,
                        classification_rules=RULES, mail_policy=MAIL_POLICY,
                        mail_channels=(SUPPORT_MAILBOX,), sla=SLA)
    # The shop's Directory keeps customers in the helpdesk's own store: bootstrap() hands the
    # storage it built to the factory.
    helpdesk = bootstrap(
        settings,
        directory_factory=lambda storage: ShopDirectory(customers=StorageDirectory(storage)),
        clock=clock,
    )
    shop = helpdesk.directory
    assert isinstance(shop, ShopDirectory)
    return helpdesk, shop


# -- output helpers ---------------------------------------------------------------------------


def heading(text: str) -> None:
    print(f"\n{text}\n{'─' * len(text)}")


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def customer_label(shop: ShopDirectory, ticket: Ticket) -> str:
    contact = shop.customer(ticket.customer_id) if ticket.customer_id else None
    if contact is None:
        return "—"
    return contact.name or contact.email or contact.id


def opened(helpdesk: Helpdesk, shop: ShopDirectory, ticket: Ticket, how: str) -> None:
    links = ", ".join(str(ref) for ref in sorted(ticket.links)) or "no link"
    print(f"  {ticket.number}  {how}: {ticket.subject}")
    print(f"  {'':14}  customer {customer_label(shop, ticket)}; {links}")
    details = [f"priority {ticket.priority.value}"]
    if ticket.incident_type:
        details.insert(0, f"type {ticket.incident_type}")
    if ticket.tags:
        details.append("tags " + ", ".join(sorted(ticket.tags)))
    if ticket.assignee:
        details.append(f"assigned to {ticket.assignee}")
    elif ticket.team:
        details.append(f"queued for team {ticket.team}")
    print(f"  {'':14}  {'; '.join(details)}")


def print_queue(helpdesk: Helpdesk, shop: ShopDirectory) -> None:
    columns = [("Number", 14), ("Prio", 6), ("Status", 19), ("Subject", 28),
               ("Customer", 19), ("Assignee", 12), ("Due", 11)]
    print("  " + "  ".join(title.ljust(width) for title, width in columns).rstrip())
    print("  " + "  ".join("─" * width for _, width in columns))
    page = helpdesk.tickets.queue()  # active tickets, most urgent first, one page
    for ticket in page.items:
        status = helpdesk.settings.workflow.status(ticket.status).label or ticket.status
        assignee = ticket.assignee or (f"({ticket.team})" if ticket.team else "—")
        due = ticket.due_at.strftime("%d %b %H:%M") if ticket.due_at else "—"
        cells = [ticket.number, ticket.priority.value, status, ticket.subject,
                 customer_label(shop, ticket), assignee, due]
        print("  " + "  ".join(cut(cell, width).ljust(width)
                               for cell, (_, width) in zip(cells, columns, strict=True)).rstrip())
    if page.next_cursor:
        print("  … more on the next page (TicketQuery(after=page.next_cursor))")
    print("  Due: from the SLA policy (business hours, Czech holidays; paused while waiting on "
          "the customer),\n  except for the first ticket: its due time was set by hand.")


def print_history(helpdesk: Helpdesk, number: str) -> None:
    for event in helpdesk.tickets.history(number):
        print(f"  {event.at:%H:%M}  {event.describe()}")


def print_articles(helpdesk: Helpdesk, number: str) -> None:
    for article in helpdesk.tickets.articles(number):
        who = article.author.name or article.author.id or article.author.kind.value
        visibility = "public" if article.public else "internal"
        print(f"  {article.created_at:%H:%M}  {article.direction.value} · "
              f"{article.channel.value} · {visibility} · {who}")
        for line in article.body_text.splitlines():
            for part in textwrap.wrap(line, 84) or [""]:
                print(f"         │ {part}")


# -- the story --------------------------------------------------------------------------------


def run(helpdesk: Helpdesk, shop: ShopDirectory, clock: FakeClock) -> None:
    heading("1. Configuration: incident types and classification rules")
    for incident_type in INCIDENT_TYPES:
        helpdesk.configuration.define_incident_type(incident_type)
    for t in helpdesk.configuration.incident_types():
        owner = f"responsible {t.responsible}" if t.responsible else f"team {t.team}"
        print(f"  {t.key:<20} {t.name:<22} {owner}")
    print(f"  {len(RULES)} keyword rules suggest type, priority and tags for new tickets")
    people = seed(shop)
    print(f"  customers in the helpdesk's store: {people['jana'].name}, {people['klaus'].name}")
    for order in shop.orders.values():
        owner = people["jana"] if order.customer_id == people["jana"].id else people["klaus"]
        whose = owner.name if order.customer_id else f"guest checkout, {order.customer_email}"
        print(f"  shop order {order.number}: {order.summary} ({whose})")

    heading("2. Customers write in through the web form")
    clock.advance(minutes=2)
    complaint = helpdesk.tickets.open_from_web_form({
        "email": "jana.novakova@example.cz",
        "name": "Jana Nováková",
        "order_number": "2026-1001",
        "language": "cs",
        "subject": "Rozbité šálky v zásilce",
        "message": "Dobrý den,\nzásilka k objednávce 2026-1001 dorazila včera a dva šálky "
                   "jsou rozbité. Krabice byla zvenku poškozená.\nMůžete mi poslat náhradu?\n"
                   "Děkuji, Jana Nováková",
    })
    opened(helpdesk, shop, complaint, "web form, own order")

    clock.advance(minutes=3)
    print("\n  Jana submits the form again, naming order 2026-1002 (Klaus Becker's):")
    try:
        helpdesk.tickets.open_from_web_form({
            "email": "jana.novakova@example.cz",
            "name": "Jana Nováková",
            "order_number": "2026-1002",
            "message": "Kdy dorazí moje objednávka 2026-1002?",
        })
    except OrderNotOwned as refusal:
        print(f"  REFUSED: {refusal}")
        print("           (OrderNotOwned, also a PermissionError; no ticket, nothing stored)")

    heading("3. Staff enter what reached them by phone, in the store and in a returned parcel")
    clock.advance(minutes=20)
    call = helpdesk.tickets.open_by_staff(
        agent=EVA, via=StaffVia.PHONE, customer_phone="+49 151 23456789",
        order_number="2026-1002", subject="Liefertermin Espressomaschine",
        message="Herr Becker fragt: Wann wird die Espressomaschine geliefert? "
                "Ab Freitag ist er im Urlaub.",
    )
    opened(helpdesk, shop, call, "phone call")

    clock.advance(minutes=25)
    walk_in = helpdesk.tickets.open_by_staff(
        agent=EVA, via=StaffVia.IN_STORE, customer_name="Tomáš Dvořák",
        customer_email="tomas.dvorak@example.cz", language="cs",
        subject="Mlýnek na kávu drhne",
        message="Zákazník přinesl mlýnek koupený na prodejně: při mletí drhne a je hlučný. "
                "Žádá reklamaci.",
    )
    opened(helpdesk, shop, walk_in, "in store")

    clock.advance(minutes=10)
    parcel = helpdesk.tickets.open_by_staff(
        agent=PETRA, via=StaffVia.RETURN, order_number="2026-1003", language="sk",
        subject="Vrátená zásielka: napeňovač mlieka",
        message="Lístok v balíku: Dobrý deň, napeňovač nefunguje, po zapnutí sa hneď vypne. "
                "Prosím o vrátenie peňazí. Martina Kováčová",
    )
    opened(helpdesk, shop, parcel, "returned parcel (guest order)")

    heading("4. An agent opens a ticket straight from an order")
    clock.advance(minutes=5)
    missing = helpdesk.tickets.open_from_order(
        agent=EVA, order_number="2026-1002", subject="Beans missing from the parcel",
        message="Warehouse reports the 2 kg of beans were not packed. Send them separately.",
        incident_type="complaint", priority=Priority.HIGH,
    )
    opened(helpdesk, shop, missing, "from order")

    heading(f"5. Working on {complaint.number}")
    number = complaint.number
    clock.advance(minutes=12)
    helpdesk.tickets.transition(number, "open", actor=PETRA)
    clock.advance(minutes=3)
    helpdesk.tickets.add_note(number,
                              "The carrier's photos show a crushed box. Replacement cups are "
                              "in stock; claim filed with the carrier.", agent=PETRA)
    clock.advance(minutes=2)
    helpdesk.tickets.add_article(
        number, direction=Direction.OUTBOUND, channel=Channel.EMAIL, author=PETRA,
        body_text="Dobrý den, paní Nováková,\nomlouváme se za poškozenou zásilku. Náhradní "
                  "šálky odešleme zítra.\nS pozdravem Petra Malá",
    )
    clock.advance(minutes=1)
    helpdesk.tickets.transition(number, "with_carrier", actor=PETRA)
    clock.advance(minutes=30)
    helpdesk.tickets.set_priority(number, Priority.URGENT, actor=EVA)
    helpdesk.staff.assign(number, "radek", actor=EVA)
    helpdesk.tickets.set_due(number, clock.now() + timedelta(hours=4), actor=EVA,
                     reason="promised the customer an answer today")
    print(f"  {number}: opened, internal note, reply to the customer, status 'with carrier',")
    print("  priority raised to urgent, reassigned to radek (returns) and due in 4 hours")

    clock.advance(minutes=4)
    helpdesk.tickets.transition(call.number, "waiting_on_customer", actor=EVA)
    helpdesk.staff.assign(call.number, "eva", actor=EVA)
    print(f"  {call.number}: Eva took it and is waiting for Mr Becker's answer")

    heading("6. The agent queue (active tickets, most urgent first)")
    print_queue(helpdesk, shop)

    heading(f"7. History of {number} (times in UTC)")
    print_history(helpdesk, number)

    heading(f"8. Articles of {number}")
    print_articles(helpdesk, number)

    heading("9. E-mail: threading, repeats, strangers and autoresponders")
    mail_number = receive_mails(helpdesk, clock)

    heading(f"10. Answering {mail_number}, sending, and its service level")
    answer_and_send(helpdesk, clock, mail_number)

    heading(f"11. One matter, one ticket: merging {missing.number} into {call.number}, "
            "and undoing it")
    merge_and_undo(helpdesk, clock, call.number, missing.number)


def mail(sender: str, subject: str, body: str, *, message_id: str, extra: str = "") -> bytes:
    """A raw mail as it arrives from the mailbox (the demo builds it by hand)."""
    return (f"{extra}From: {sender}\r\nTo: support@shop.example\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\nDate: Mon, 2 Mar 2026 08:30:00 +0000\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" + body).encode()


def receive_mails(helpdesk: Helpdesk, clock: FakeClock) -> str:
    # New Message-IDs on every run: a second run on the same database is new mail, not the
    # first run's mail delivered again (which the helpdesk would rightly store once).
    run = uuid.uuid4().hex[:8]
    first = mail("Klaus Becker <klaus.becker@example.de>", "Rechnung fehlt",
                 "Guten Tag,\nzu meiner Bestellung 2026-1002 fehlt die Rechnung.\nKlaus Becker",
                 message_id=f"<kb-1-{run}@example.de>")
    outcome = helpdesk.mail.receive(first, channel="support")
    number = outcome.ticket_number or ""
    print(f"  new mail from Klaus         → {outcome.outcome} {number}, "
          f"linked {sorted(str(r) for r in helpdesk.tickets.get(number).links)}")
    for ack in helpdesk.outbox.for_ticket(number):
        print(f"  acknowledgement queued      → to {ack.recipients[0]}: {ack.subject!r}")
        print(f"  {'':28}  headers: Auto-Submitted: "
              f"{ack.headers['Auto-Submitted']}, In-Reply-To: {ack.headers['In-Reply-To']}")
    if outcome.acknowledgement is None:  # one per sender and hour; none to an autoresponder
        print(f"  no acknowledgement          → {outcome.reason}")
    clock.advance(minutes=1)
    again = helpdesk.mail.receive(b"Delivered-To: info@shop.example\r\n" + first,
                                  channel="support")
    print(f"  the same mail via info@     → {again.outcome} (still one article)")
    clock.advance(minutes=5)
    reply = helpdesk.mail.receive(mail(
        "klaus.becker@example.de", f"AW: [{number}] Rechnung fehlt",
        "Danke! Bitte an die Firmenadresse.\n\nAm 02.03.2026 schrieb support@shop.example:\n"
        "> Vielen Dank für Ihre Nachricht.", message_id=f"<kb-2-{run}@example.de>"),
        channel="support")
    print(f"  Klaus replies (AW: [...])   → {reply.outcome} on {reply.ticket_number}")
    stranger = helpdesk.mail.receive(mail(
        "mallory@example.net", f"Re: [{number}]", "Please send the invoice to me instead.",
        message_id=f"<m-1-{run}@example.net>"), channel="support")
    print(f"  a stranger names the ticket → {stranger.outcome} {stranger.ticket_number} of their "
          f"own (kept on {stranger.held_on} as an internal note)")
    away = helpdesk.mail.receive(mail(
        "klaus.becker@example.de", f"Abwesenheitsnotiz: [{number}]", "Ich bin bis Montag weg.",
        message_id=f"<kb-3-{run}@example.de>", extra="Auto-Submitted: auto-replied\r\n"),
        channel="support")
    print(f"  Klaus's out-of-office       → {away.outcome} (nothing reopened, no answer)")
    for article in helpdesk.tickets.articles(number):
        visibility = "public" if article.public else "internal"
        print(f"    {article.direction.value:<8} {visibility:<8} "
              f"{cut(article.body_text.splitlines()[0] if article.body_text else '', 60)}")
    return number


class PrintingSender:
    """Stands in for the SMTP sender (helpdesk_mail.smtp.SmtpSender) so the demo needs no
    mail server: it prints what would go out."""

    def send(self, mail: OutgoingMail, *,
             before_data: Callable[[], None] | None = None) -> dict[str, str]:
        if before_data is not None:
            before_data()
        print(f"    → {', '.join(mail.recipients)}: {mail.subject!r}  {mail.message_id}")
        return {recipient: "sent" for recipient in mail.recipients}


def answer_and_send(helpdesk: Helpdesk, clock: FakeClock, number: str) -> None:
    clock.advance(minutes=20)
    _article, queued = helpdesk.tickets.reply(
        number, "Guten Tag Herr Becker,\ndie Rechnung schicken wir heute an die "
                "Firmenadresse.\nEva", agent=EVA)
    print(f"  Eva's reply is queued ({queued.state.value}) with the acknowledgements of the "
          "mails and the web-form ticket; the dispatcher sends them all:")
    report = helpdesk.outbox.dispatch(mail_sender=PrintingSender())
    print(f"  dispatch: {report.sent} sent, {report.retried} to retry, {report.failed} failed")
    clocks = helpdesk.sla.clocks(number)
    if clocks is None:
        return
    for clock_ in clocks.clocks:
        due = f"due {clock_.due:%a %d %b %H:%M} UTC" if clock_.due else "no due time"
        print(f"  SLA {clock_.kind.label:<15} {clock_.state.value:<8} {due}")
    for change in clocks.changes:
        print(f"    {change.at:%H:%M} {change.target.label}: {change.reason}")


def merge_and_undo(helpdesk: Helpdesk, clock: FakeClock, target: str, source: str) -> None:
    clock.advance(minutes=5)
    for suggestion in helpdesk.tickets.duplicates(source, actor=EVA)[:2]:
        print(f"  may duplicate {suggestion.number} (score {suggestion.score:.2f}: "
              f"{', '.join(suggestion.reasons)})")
    merged = helpdesk.tickets.merge(target, [source], actor=EVA, notify=True,
                                    reason="both about order 2026-1002")
    gone = helpdesk.tickets.get(source)
    print(f"  merged: {source} is now '{gone.status}' and continues as {merged.target.number}; "
          f"{len(helpdesk.tickets.articles(target))} articles on {target}, "
          f"{len(helpdesk.tickets.articles(source))} left on {source}")
    notice = [m for m in helpdesk.outbox.for_ticket(target) if m.kind == "merge_notice"]
    for message in notice:
        print(f"  merge notice queued → to {message.recipients[0]}: {message.subject!r}")
    if not notice:
        print("  no merge notice: Klaus's out-of-office (section 9) marks his address as "
              "answering automatically, and automatic mail is not sent there")
    clock.advance(minutes=3)
    late = helpdesk.tickets.add_note(source, "Warehouse: beans packed today.", agent=PETRA)
    print(f"  a note written on {source} lands on "
          f"{helpdesk.tickets.get(late.ticket_id).number}")
    clock.advance(minutes=3)
    helpdesk.tickets.unmerge(source, actor=EVA)
    back = helpdesk.tickets.get(source)
    print(f"  undone: {source} is '{back.status}' again with "
          f"{len(helpdesk.tickets.articles(source))} article(s); the note written after the "
          f"merge stays on {target}")
    for event in helpdesk.tickets.history(source)[-3:]:
        print(f"    {event.at:%H:%M}  {event.describe()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://"
                        "user@host/db (default: a new SQLite file in a temporary directory)")
    args = parser.parse_args(argv)
    database_url = args.database_url
    if not database_url:
        folder = Path(tempfile.mkdtemp(prefix="helpdesk-demo-"))
        database_url = f"sqlite:///{folder / 'helpdesk.sqlite3'}"

    print("helpdesk_core quickstart: a small e-shop with its own orders")
    print(f"database: {database_url}")
    # The demo moves this clock forward between steps so the history reads like a working
    # morning. A real host leaves ``clock=`` out and gets the system clock.
    today = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    clock = FakeClock(today - timedelta(minutes=1))
    helpdesk, shop = build(database_url, clock)
    with helpdesk:
        run(helpdesk, shop, clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
