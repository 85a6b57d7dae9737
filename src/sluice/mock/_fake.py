"""Deterministic fake-data helpers shared by the mocks.

Every generator draws from a `Fake`, a thin wrapper around `random.Random` seeded with
`"<seed>:<salt>"`, so the data of one resource does not change when the count of another
resource changes. Timestamp helpers cover the formats the real APIs use.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

T = TypeVar("T")

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

FIRST_NAMES = (
    "Ada", "Bruno", "Chloe", "Dmitri", "Elena", "Farah", "Goran", "Hana", "Ivan", "Jade",
    "Kofi", "Lena", "Mateo", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Sven", "Tara",
    "Umar", "Vera", "Wen", "Xavier", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Abara", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi",
    "Silva", "Tanaka", "Urban", "Varga", "Weber", "Young", "Zhang",
)  # fmt: skip
CITIES = (
    ("Lisbon", "PT", 38.7223, -9.1393),
    ("Berlin", "DE", 52.52, 13.405),
    ("Austin", "US", 30.2672, -97.7431),
    ("Melbourne", "AU", -37.8136, 144.9631),
    ("Toronto", "CA", 43.6532, -79.3832),
    ("Nairobi", "KE", -1.2921, 36.8219),
    ("Osaka", "JP", 34.6937, 135.5023),
    ("Bristol", "GB", 51.4545, -2.5879),
)
WORDS = (
    "north", "summer", "river", "night", "garden", "city", "open", "air", "jazz", "indie",
    "market", "festival", "late", "acoustic", "session", "harbour", "winter", "folk",
    "electric", "street", "food", "craft", "sunset", "live",
)  # fmt: skip
DOMAINS = ("example.com", "example.org", "example.net", "mail.test")


class Fake:
    """Seeded source of fake values; one instance per generated resource."""

    def __init__(self, seed: int, salt: str) -> None:
        self.rng = random.Random(f"{seed}:{salt}")

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def maybe(self, value: T, p_null: float) -> T | None:
        """`value`, or None with probability `p_null`."""
        return None if self.chance(p_null) else value

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def money(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 2)

    def hex(self, length: int) -> str:
        return f"{self.rng.getrandbits(4 * length):0{length}x}"

    def object_id(self) -> str:
        """A 24-hex object id such as `6717f2a45c1b2d0012ab34cd`."""
        return self.hex(24)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def words(self, n: int) -> str:
        return " ".join(self.choice(WORDS) for _ in range(n))

    def title(self, n: int) -> str:
        return self.words(n).title()

    def first_name(self) -> str:
        return self.choice(FIRST_NAMES)

    def last_name(self) -> str:
        return self.choice(LAST_NAMES)

    def email(self, first: str, last: str) -> str:
        return f"{first}.{last}{self.integer(1, 99)}@{self.choice(DOMAINS)}".lower()

    def phone(self) -> str:
        return f"+{self.integer(1, 49)} {self.integer(200, 999)} {self.integer(100, 999)} {self.integer(1000, 9999)}"

    def moment(self, days: int = 365, start: datetime = EPOCH) -> datetime:
        """A random instant within `days` after `start`, with milliseconds."""
        ms = self.rng.randrange(days * 86_400_000)
        return start + timedelta(milliseconds=ms)


def iso_ms_z(at: datetime) -> str:
    """`2024-10-20T06:30:00.000Z`."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def iso_z(at: datetime) -> str:
    """`2024-10-20T06:30:00Z` (seconds precision)."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_trimmed_ms(at: datetime) -> str:
    """Milliseconds without trailing zeros: `.410` -> `.41`, `.000` -> no fraction at all."""
    fraction = f"{at.microsecond // 1000:03d}".rstrip("0")
    return at.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def iso_offset(at: datetime, offset_hours: int) -> str:
    """`2024-10-20T08:30:00+02:00`: the same instant shown in another UTC offset."""
    local = at.astimezone(timezone(timedelta(hours=offset_hours)))
    return local.replace(microsecond=0).isoformat()
