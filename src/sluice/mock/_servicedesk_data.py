"""Records of the service desk mock (see `_servicedesk` for the API itself).

Lists are built in dependency order (locations, agents, requesters, vendors, products,
then the rest) so references point at real ids. Every resource draws from its own
`Fake`, so changing one count leaves the other resources unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ._api import Record
from ._fake import CITIES, Fake, iso_z

ID_BASES = {
    "tickets": 18_000_123_456, "problems": 18_000_301_000, "changes": 18_000_402_000,
    "releases": 18_000_503_000, "requesters": 18_001_000_000, "agents": 18_002_000_000,
    "locations": 18_000_010_000, "products": 18_000_020_000, "vendors": 18_000_030_000,
    "assets": 18_000_600_000, "applications": 18_000_040_000, "purchase_orders": 18_000_050_000,
    "csat_response": 18_003_000_000, "requested_items": 18_004_000_000,
}  # fmt: skip
CATEGORIES = ("Hardware", "Software", "Network", "Access", "Office Applications", "Other")
TAGS = ("vpn", "laptop", "onboarding", "urgent", "printer", "email", "sso", "wifi")
DEPARTMENTS = (18_000_000_101, 18_000_000_102, 18_000_000_103, 18_000_000_104)
GROUPS = (18_000_000_201, 18_000_000_202, 18_000_000_203)


class Ctx:
    """What generators share: seed, counts and the ids of already built resources."""

    def __init__(self, seed: int, counts: Mapping[str, int | None], options: Mapping[str, Any]) -> None:
        self.seed, self.counts, self.options = seed, counts, options
        self.ids: dict[str, list[int]] = {}

    def ref(self, fake: Fake, resource: str, p_null: float = 0.0) -> int | None:
        ids = self.ids.get(resource) or []
        return fake.maybe(fake.choice(ids), p_null) if ids else None


def build_lists(seed: int, counts: Mapping[str, int | None], options: Mapping[str, Any]) -> dict[str, list[Record]]:
    ctx = Ctx(seed, counts, options)
    lists: dict[str, list[Record]] = {}
    for name, make in GENERATORS.items():
        lists[name] = _generate(ctx, name, make)
        ctx.ids[name] = [record["id"] for record in lists[name]]
    lists["tickets"] = _tickets(ctx)
    return {name: lists[name] for name in ("tickets", *GENERATORS)}


def _generate(ctx: Ctx, name: str, make: Callable[[Ctx, Fake, int], Record]) -> list[Record]:
    fake = Fake(ctx.seed, name)
    count = ctx.counts[name] or 0
    return [make(ctx, fake, ID_BASES[name] + 3 * i + 1) for i in range(count)]


def _times(fake: Fake, days: int = 400) -> tuple[datetime, datetime]:
    created = fake.moment(days)
    return created, created + timedelta(minutes=fake.integer(0, 20_000))


def _stamps(fake: Fake) -> dict[str, str]:
    created, updated = _times(fake)
    return {"created_at": iso_z(created), "updated_at": iso_z(updated)}


def _person(fake: Fake) -> dict[str, Any]:
    first, last = fake.first_name(), fake.last_name()
    return {"first_name": first, "last_name": fake.maybe(last, 0.05), "email": fake.email(first, last)}


def _tickets(ctx: Ctx) -> list[Record]:
    fake = Fake(ctx.seed, "tickets")
    count = ctx.counts["tickets"] or 0
    n_requests = round(count * ctx.options["service_request_ratio"])
    requests = set(fake.rng.sample(range(count), n_requests))
    created = sorted((fake.moment(380) for _ in range(count)), reverse=True)
    return [_ticket(ctx, fake, count - i, created[i], i in requests) for i in range(count)]


def _ticket(ctx: Ctx, fake: Fake, ordinal: int, created: datetime, is_request: bool) -> Record:
    updated = created + timedelta(minutes=fake.integer(0, 30_000))
    due = created + timedelta(days=fake.integer(1, 10))
    person = _person(fake)
    subject = f"{fake.choice(('Cannot', 'Need', 'Request', 'Issue with'))} {fake.words(3)}"
    return {
        "id": ID_BASES["tickets"] + ordinal * 11,
        "subject": subject,
        "description": f"<div>{subject}</div>",
        "description_text": subject,
        "type": "Service Request" if is_request else "Incident",
        "status": fake.integer(2, 5),
        "priority": fake.integer(1, 4),
        "source": fake.integer(1, 10),
        "urgency": fake.integer(1, 3),
        "impact": fake.integer(1, 3),
        "requester_id": ctx.ref(fake, "requesters"),
        "requested_for_id": ctx.ref(fake, "requesters", 0.5),
        "responder_id": ctx.ref(fake, "agents", 0.3),
        "group_id": fake.maybe(fake.choice(GROUPS), 0.3),
        "department_id": fake.maybe(fake.choice(DEPARTMENTS), 0.4),
        "workspace_id": 2,
        "category": fake.maybe(fake.choice(CATEGORIES), 0.3),
        "sub_category": fake.maybe(fake.words(1).title(), 0.6),
        "item_category": None,
        "due_by": iso_z(due),
        "fr_due_by": iso_z(created + timedelta(hours=fake.integer(2, 48))),
        "is_escalated": fake.chance(0.1),
        "fr_escalated": fake.chance(0.1),
        "to_emails": None,
        "cc_emails": [_person(fake)["email"] for _ in range(fake.integer(0, 2))],
        "fwd_emails": [],
        "reply_cc_emails": [person["email"]] if fake.chance(0.3) else [],
        "tags": sorted({fake.choice(TAGS) for _ in range(fake.integer(0, 3))}),
        "spam": False,
        "deleted": False,
        "custom_fields": {
            "cf_region": fake.choice(("EMEA", "AMER", "APAC")),
            "cf_cost_centre": fake.maybe(fake.integer(1000, 9999), 0.5),
            "cf_vip_user": fake.chance(0.1),
        },
        "created_at": iso_z(created),
        "updated_at": iso_z(updated),
    }


def build_children(
    seed: int, tickets: list[Record], options: Mapping[str, Any]
) -> tuple[dict[int, Record], dict[int, list[Record]]]:
    """Surveys by ticket id (a `csat_ratio` share of the tickets) and the requested items
    of every service request."""
    fake = Fake(seed, "csat_response")
    chosen = sorted(fake.rng.sample(range(len(tickets)), round(len(tickets) * options["csat_ratio"])))
    surveys = {tickets[i]["id"]: _csat(fake, n, tickets[i]) for n, i in enumerate(chosen)}
    item_fake = Fake(seed, "requested_items")
    items: dict[int, list[Record]] = {}
    for ticket in tickets:
        if ticket["type"] == "Service Request":
            items[ticket["id"]] = [_item(item_fake, len(items) * 4 + k) for k in range(item_fake.integer(1, 3))]
    return surveys, items


def _csat(fake: Fake, n: int, ticket: Record) -> Record:
    rating = fake.choice((103, 102, 101, -101, -102, -103))
    at = datetime.fromisoformat(ticket["updated_at"]) + timedelta(hours=fake.integer(1, 72))
    answer = {103: "Extremely happy", 102: "Very happy", 101: "Happy", -101: "Unhappy"}.get(rating, "Very unhappy")
    return {
        "id": ID_BASES["csat_response"] + n,
        "overall_rating": rating,
        "overall_rating_text": answer,
        "primary_question": "How would you rate your overall satisfaction for the resolution provided by the agent?",
        "questionnaire_responses": [
            {
                "question": {"question_text": "How would you rate the agent's response time?"},
                "answers": [{"answer_text": answer, "answer_id": 18_000_000_900 + abs(rating)}],
            }
        ],
        "opinion_text": fake.maybe(fake.words(8).capitalize(), 0.6),
        "created_at": iso_z(at),
        "updated_at": iso_z(at),
    }


def _item(fake: Fake, n: int) -> Record:
    created, updated = _times(fake)
    return {
        "id": ID_BASES["requested_items"] + n,
        "quantity": fake.integer(1, 3),
        "stage": fake.integer(1, 5),
        "loaned": fake.chance(0.1),
        "cost_per_request": fake.money(0, 1500),
        "remarks": fake.maybe(fake.words(5), 0.7),
        "delivery_time": fake.maybe(fake.integer(1, 72), 0.3),
        "is_parent": True,
        "service_item_id": fake.integer(1, 40),
        "service_item_name": fake.choice(("Laptop", "Monitor", "VPN access", "Software licence", "Headset")),
        "custom_fields": {
            "justification": fake.maybe(fake.words(4), 0.4),
            "cost_centre": fake.maybe(fake.integer(1000, 9999), 0.5),
        },
        "created_at": iso_z(created),
        "updated_at": iso_z(updated),
    }


def _location(ctx: Ctx, fake: Fake, id_: int) -> Record:
    city, country, _, _ = fake.choice(CITIES)
    return {
        "id": id_,
        "name": f"{city} {fake.choice(('HQ', 'Office', 'Warehouse', 'Lab'))}",
        "parent_location_id": ctx.ref(fake, "locations", 0.7),
        "primary_contact_id": None,
        "address": {"line1": f"{fake.integer(1, 200)} {fake.title(1)} Road", "line2": None, "city": city,
                    "state": None, "country": country, "zipcode": f"{fake.integer(1000, 99999)}"},
        **_stamps(fake),
    }  # fmt: skip


def _agent(ctx: Ctx, fake: Fake, id_: int) -> Record:
    person = _person(fake)
    return {
        "id": id_,
        **person,
        "occasional": fake.chance(0.1),
        "active": fake.chance(0.9),
        "job_title": fake.maybe(fake.choice(("Support Engineer", "Team Lead", "Service Manager")), 0.2),
        "work_phone_number": fake.maybe(fake.phone(), 0.5),
        "mobile_phone_number": fake.maybe(fake.phone(), 0.7),
        "department_ids": [fake.choice(DEPARTMENTS)],
        "reporting_manager_id": None,
        "time_zone": fake.choice(("Lisbon", "Berlin", "Eastern Time (US & Canada)")),
        "language": fake.choice(("en", "de", "pt-PT")),
        "location_id": ctx.ref(fake, "locations", 0.3),
        "scoreboard_level_id": fake.integer(1, 6),
        "roles": [
            {"role_id": 18_000_000_300 + fake.integer(1, 5), "assignment_scope": "entire_helpdesk", "groups": []}
        ],
        "last_login_at": fake.maybe(iso_z(fake.moment(400)), 0.1),
        "has_logged_in": True,
        "custom_fields": {},
        **_stamps(fake),
    }


def _requester(ctx: Ctx, fake: Fake, id_: int) -> Record:
    person = _person(fake)
    return {
        "id": id_,
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "primary_email": person["email"],
        "secondary_emails": [_person(fake)["email"]] if fake.chance(0.2) else [],
        "job_title": fake.maybe(fake.choice(("Analyst", "Designer", "Accountant", "Engineer")), 0.3),
        "work_phone_number": fake.maybe(fake.phone(), 0.5),
        "mobile_phone_number": fake.maybe(fake.phone(), 0.6),
        "department_ids": [fake.choice(DEPARTMENTS)] if fake.chance(0.8) else [],
        "can_see_all_tickets_from_associated_departments": fake.chance(0.1),
        "reporting_manager_id": ctx.ref(fake, "requesters", 0.6),
        "address": fake.maybe(f"{fake.integer(1, 99)} {fake.title(1)} Lane", 0.7),
        "time_zone": fake.choice(("Lisbon", "Berlin", "Pacific Time (US & Canada)")),
        "language": "en",
        "location_id": ctx.ref(fake, "locations", 0.4),
        "background_information": None,
        "active": fake.chance(0.92),
        "has_logged_in": fake.chance(0.7),
        "custom_fields": {"employee_id": fake.maybe(f"E{fake.integer(10000, 99999)}", 0.2)},
        **_stamps(fake),
    }


def _vendor(ctx: Ctx, fake: Fake, id_: int) -> Record:
    city, country, _, _ = fake.choice(CITIES)
    index = (id_ - ID_BASES["vendors"]) // 3
    digits = fake.integer(2_000_000_000, 9_999_999_999)
    phone_is_int = index < 2 or (index >= 3 and fake.chance(0.5))
    return {
        "id": id_,
        "name": f"{fake.title(1)} {fake.choice(('Systems', 'Supplies', 'Networks', 'Solutions'))}",
        "description": fake.maybe(fake.words(6).capitalize(), 0.5),
        "primary_contact_id": ctx.ref(fake, "requesters", 0.5),
        "address": {"line1": f"{fake.integer(1, 500)} {fake.title(1)} Ave", "city": city, "state": None,
                    "country": country, "zipcode": f"{fake.integer(1000, 99999)}"},
        "phone": digits if phone_is_int else f"+1 ({str(digits)[:3]}) {str(digits)[3:6]}-{str(digits)[6:]}",
        "mobile": fake.maybe(fake.phone(), 0.6),
        "email": f"sales@{fake.words(1)}{fake.integer(1, 99)}.example.com",
        "contact_name": fake.maybe(f"{fake.first_name()} {fake.last_name()}", 0.3),
        **_stamps(fake),
    }  # fmt: skip


def _product(ctx: Ctx, fake: Fake, id_: int) -> Record:
    name = f"{fake.choice(('ThinkBook', 'ProDesk', 'UltraView', 'NetSwitch'))} {fake.integer(100, 999)}"
    return {
        "id": id_,
        "name": name,
        "asset_type_id": 18_000_000_400 + fake.integer(1, 8),
        "manufacturer": fake.choice(("Acme", "Globex", "Initech", "Umbrella")),
        "status": fake.choice(("In Production", "In Pipeline", "Retired")),
        "mode_of_procurement": fake.choice(("Buy", "Lease", "Both")),
        "depreciation_type_id": fake.maybe(fake.integer(1, 3), 0.5),
        "description": fake.maybe(f"<p>{name}</p>", 0.5),
        "description_text": fake.maybe(name, 0.5),
        **_stamps(fake),
    }


def _asset(ctx: Ctx, fake: Fake, id_: int) -> Record:
    display = (id_ - ID_BASES["assets"]) // 3 + 1
    created, updated = _times(fake)
    return {
        "id": id_,
        "display_id": display,
        "name": f"{fake.choice(('LAP', 'MON', 'SRV', 'PHN'))}-{display:05d}",
        "description": None,
        "asset_type_id": 18_000_000_400 + fake.integer(1, 8),
        "impact": fake.choice(("low", "medium", "high")),
        "author_type": "User",
        "usage_type": fake.choice(("permanent", "loaner")),
        "asset_tag": f"ASSET-{display}",
        "user_id": ctx.ref(fake, "requesters", 0.3),
        "location_id": ctx.ref(fake, "locations", 0.2),
        "department_id": fake.maybe(fake.choice(DEPARTMENTS), 0.3),
        "agent_id": ctx.ref(fake, "agents", 0.6),
        "group_id": fake.maybe(fake.choice(GROUPS), 0.6),
        "assigned_on": fake.maybe(iso_z(created + timedelta(days=fake.integer(0, 30))), 0.3),
        "type_fields": {
            "product_id": ctx.ref(fake, "products", 0.2),
            "vendor_id": ctx.ref(fake, "vendors", 0.3),
            "cost": fake.maybe(fake.money(50, 4000), 0.2),
            "warranty_expiry_date": fake.maybe(iso_z(created + timedelta(days=fake.integer(300, 1100))), 0.4),
            "serial_number": fake.hex(10).upper(),
        },
        "created_at": iso_z(created),
        "updated_at": iso_z(updated),
    }


def _application(ctx: Ctx, fake: Fake, id_: int) -> Record:
    return {
        "id": id_,
        "name": f"{fake.title(1)}{fake.choice(('Desk', 'Sync', 'Mail', 'Board', 'Chat'))}",
        "description": fake.maybe(fake.words(6).capitalize(), 0.4),
        "notes": None,
        "application_type": fake.choice(("desktop", "saas", "mobile")),
        "status": fake.choice(("managed", "ignored", "restricted", "disabled")),
        "publisher_id": ctx.ref(fake, "vendors", 0.3),
        "managed_by_id": ctx.ref(fake, "agents", 0.5),
        "category": fake.choice(("Productivity", "Security", "Development", "Communication")),
        "sources": sorted(
            {fake.choice(("Discovery Agent", "Manual", "SSO", "Probe")) for _ in range(fake.integer(1, 2))}
        ),
        "user_count": fake.integer(0, 400),
        "installation_count": fake.integer(0, 500),
        **_stamps(fake),
    }


def _purchase_order(ctx: Ctx, fake: Fake, id_: int) -> Record:
    created, updated = _times(fake)
    items = [
        {"item_type": fake.integer(1, 3), "item_name": fake.title(2), "quantity": fake.integer(1, 20),
         "cost": fake.money(10, 900), "tax_percentage": fake.choice((0, 6, 20, 23)), "received": fake.integer(0, 5)}
        for _ in range(fake.integer(1, 4))
    ]  # fmt: skip
    return {
        "id": id_,
        "vendor_id": ctx.ref(fake, "vendors"),
        "name": f"{fake.title(2)} order",
        "po_number": f"PO-{(id_ - ID_BASES['purchase_orders']) // 3 + 1}",
        "vendor_details": None,
        "expected_delivery_date": iso_z(created + timedelta(days=fake.integer(5, 40))),
        "created_by": ctx.ref(fake, "agents"),
        "status": fake.choice((20, 25, 30, 35, 40)),
        "shipping_address": f"{fake.integer(1, 90)} {fake.title(1)} Street",
        "billing_same_as_shipping": fake.chance(0.8),
        "billing_address": None,
        "currency_code": fake.choice(("USD", "EUR", "GBP")),
        "conversion_rate": 1.0,
        "department_id": fake.maybe(fake.choice(DEPARTMENTS), 0.3),
        "discount_percentage": fake.choice((0, 5, 10)),
        "tax_percentage": fake.choice((0, 6, 20)),
        "shipping_cost": fake.money(0, 80),
        "custom_fields": {"budget_code": fake.maybe(f"B-{fake.integer(100, 999)}", 0.4)},
        "purchase_items": items,
        "created_at": iso_z(created),
        "updated_at": iso_z(updated),
    }


def _itil(kind: str) -> Callable[[Ctx, Fake, int], Record]:
    """Problems, changes and releases share most of their shape."""

    def make(ctx: Ctx, fake: Fake, id_: int) -> Record:
        created, updated = _times(fake)
        start = created + timedelta(days=fake.integer(1, 30))
        record: Record = {
            "id": id_,
            "subject": f"{kind.title()}: {fake.words(3)}",
            "description_text": fake.words(10).capitalize(),
            "agent_id": ctx.ref(fake, "agents", 0.2),
            "requester_id": ctx.ref(fake, "requesters"),
            "group_id": fake.maybe(fake.choice(GROUPS), 0.4),
            "department_id": fake.maybe(fake.choice(DEPARTMENTS), 0.4),
            "priority": fake.integer(1, 4),
            "impact": fake.integer(1, 3),
            "status": fake.integer(1, {"problem": 3, "change": 6, "release": 5}[kind]),
            "category": fake.maybe(fake.choice(CATEGORIES), 0.3),
            "custom_fields": {"cf_risk_owner": fake.maybe(fake.first_name(), 0.5)},
            "planned_start_date": iso_z(start),
            "planned_end_date": iso_z(start + timedelta(hours=fake.integer(1, 96))),
            "created_at": iso_z(created),
            "updated_at": iso_z(updated),
        }
        record.update(_itil_extra(kind, fake, created))
        return record

    return make


def _itil_extra(kind: str, fake: Fake, created: datetime) -> Record:
    if kind == "problem":
        return {"known_error": fake.chance(0.3), "due_by": iso_z(created + timedelta(days=fake.integer(3, 30))),
                "analysis_fields": {"problem_cause": {"description": fake.maybe(fake.words(6), 0.5)}}}  # fmt: skip
    if kind == "change":
        return {"risk": fake.integer(1, 4), "change_type": fake.integer(1, 4), "approval_status": fake.integer(0, 4),
                "maintenance_window": {}, "blackout_window": {}}  # fmt: skip
    return {"release_type": fake.integer(1, 4), "work_start_date": None, "work_end_date": None}


GENERATORS: dict[str, Callable[[Ctx, Fake, int], Record]] = {  # in dependency order
    "locations": _location,
    "agents": _agent,
    "requesters": _requester,
    "vendors": _vendor,
    "products": _product,
    "assets": _asset,
    "applications": _application,
    "purchase_orders": _purchase_order,
    "problems": _itil("problem"),
    "changes": _itil("change"),
    "releases": _itil("release"),
}
