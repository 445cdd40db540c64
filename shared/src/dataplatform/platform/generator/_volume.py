"""How much columnar traffic to make: people, days and, when given, events in all."""

from dataclasses import dataclass
from datetime import datetime

from dataplatform.core.errors import InvalidRequestError
from dataplatform.platform.generator import _distributions as shape

HEADROOM = 1.15  # draw this much more than a day's quota, then cut to it


@dataclass(frozen=True)
class Volume:
    """How much traffic: `users` over `days` from `start`, `events` in total when given."""

    users: int
    days: int
    start: datetime
    seed: int = 42
    events: int | None = None

    def __post_init__(self) -> None:
        if self.users < 1:
            raise InvalidRequestError(f"`--users` must be at least 1, not {self.users}", "users")
        if self.days < 1:
            raise InvalidRequestError(f"`--days` must be at least 1, not {self.days}", "days")
        if self.events is not None and self.events < self.users:
            raise InvalidRequestError(
                f"`--events` ({self.events}) must be at least `--users` ({self.users}): "
                "ask for more events or fewer users",
                "events",
            )
        if self.events is not None and self.busiest_day_chance > 1:
            most = int(self.events / self.busiest_day_chance)
            raise InvalidRequestError(
                f"`--events` {self.events} is more than {self.users} users make in "
                f"{self.days} days (at most about {most}): raise `--users`",
                "events",
            )

    @property
    def activity(self) -> float:
        """How much more (or less) often people are active than in the per-event generator."""
        if self.events is None:
            return 1.0
        return self.events / (self.users * self.days * _events_per_person_day())

    @property
    def busiest_day_chance(self) -> float:
        """The highest chance of being active on a day that this volume needs."""
        headroom = 1.0 if self.events is None else HEADROOM
        return max(shape.APP_DAY_CHANCE, shape.WEB_DAY_CHANCE) * self.activity * headroom

    def quota(self, day: int) -> int | None:
        """Events of `day` when `events` is given: the total spread evenly over the days."""
        if self.events is None:
            return None
        return self.events // self.days + (1 if day < self.events % self.days else 0)


def expected_events(volume: Volume) -> int:
    """About how many events the volume writes (for a progress bar's total)."""
    if volume.events is not None:
        return round(volume.events * (1 + shape.LATE_OR_DUPLICATE_RATE))
    total = volume.users * volume.days * _events_per_person_day()
    return round(total * (1 + shape.LATE_OR_DUPLICATE_RATE))


def _events_per_person_day() -> float:
    """Expected events of one person on one day, with the per-event generator's chances."""
    screens = sum(shape.SCREENS_PER_SESSION) / 2
    session = 2 + screens * (1 + shape.TAP_CHANCE) + shape.CART_CHANCE * (1 + shape.PURCHASE_CHANCE)
    reach, depth = 1.0, 0.0
    for chance in shape.FUNNEL_CONTINUES:
        reach *= chance
        depth += reach
    web_share = 1 - shape.WEB_FROM
    also_mobile = (shape.MOBILE_SHARE - shape.WEB_FROM) / web_share
    pages = 1 + sum(shape.BROWSED_CATEGORIES) / 2 + depth
    visit = pages * (1 + shape.CLICK_CHANCE) + reach + also_mobile * shape.IDENTIFY_CHANCE
    sessions = sum(shape.SESSIONS_PER_DAY) / 2
    mobile = shape.MOBILE_SHARE * shape.APP_DAY_CHANCE * session
    return sessions * (mobile + web_share * shape.WEB_DAY_CHANCE * visit)
