"""Properties of the sharing core, over random histories of everything a user can do.

A small driver plays the part Home Assistant will: after every event it queues
closed weeks, sends what the outbox offers and feeds back the server's answers
(scripted, failures and crashes included), while users
opt in and out, accept newer policies, regenerate their id, delete data, and
the clock jumps and the machine restarts. After every step the trace is
checked against a reference model that restates the rules in the plainest way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
import random

from hypothesis import given, settings, strategies as st

from custom_components.printernizer_usage.consent import ConsentHistory
from custom_components.printernizer_usage.outbox import (
    AttemptResult,
    DeletionDue,
    DeletionStatus,
    Outbox,
    WeeklyDue,
    deletion_finished,
    deletion_requested,
    deletion_started,
    expire,
    id_regenerated,
    locally_deleted,
    next_due,
    opted_out,
    restarted,
    week_closed,
    weekly_finished,
    weekly_started,
    weeks_to_build,
)
from custom_components.printernizer_usage.payload import WEEK, week_bounds, week_start

START = datetime(2026, 11, 4, 9, 30, tzinfo=UTC)
SEND_OFFSET = timedelta(hours=7, minutes=13)
ENDPOINT = "https://stats.example"
CRASH = "crash"  # the machine dies while a request is in flight

# Minutes the clock moves: back a day, around the hourly limit, up to past expiry.
CLOCK_STEPS = [-24 * 60, -30, 30, 59, 60, 61, 6 * 60, 24 * 60, 3 * 24 * 60]
CLOCK_STEPS += [7 * 24 * 60, 14 * 24 * 60, 13 * 7 * 24 * 60]
results = st.sampled_from([*AttemptResult, CRASH])
# Time passing is the commonest event; every other one happens now and then.
EVENTS = ["advance"] * 5 + [
    "opt_in",
    "opt_out",
    "new_policy",
    "regenerate",
    "request_deletion",
    "delete_local",
    "restart",
]
actions = st.lists(
    st.tuples(st.sampled_from(EVENTS), st.sampled_from(CLOCK_STEPS)),
    min_size=10,
    max_size=40,
)
PROPERTY = settings(max_examples=2000, deadline=None)


@dataclass
class World:
    """The driver's view of one installation over time."""

    server_answers: list[str | AttemptResult]
    rng: random.Random
    now: datetime = START
    latest_time: datetime = START
    policy: int = 1
    history: ConsentHistory = field(default_factory=ConsentHistory)
    outbox: Outbox = field(default_factory=Outbox)
    ids: int = 1
    first_week: date = START.date() - timedelta(days=START.weekday())
    submitted_to: dict[str, str] = field(default_factory=dict)
    weekly_requests: list[tuple[date, datetime]] = field(default_factory=list)
    accepted_weeks: set[date] = field(default_factory=set)
    deletions_wanted: set[str] = field(default_factory=set)
    # Weeks unsent when the user opted out, or built with an id since replaced.
    never_to_send: set[date] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)

    def forbid_unsent(self, installation_id: str | None = None) -> None:
        """Note the weeks an opt-out or a new id must keep from ever going out."""
        self.never_to_send |= {
            row.period_start
            for row in self.outbox.weekly
            if row.period_start not in self.accepted_weeks
            and installation_id in (None, row.installation_id)
        }

    @property
    def installation_id(self) -> str:
        """Return the current id (a readable stand-in for a UUID)."""
        return f"id-{self.ids}"

    def answer(self) -> str | AttemptResult:
        """Return the server's next answer; once scripted ones run out, success."""
        return (
            self.server_answers.pop(0)
            if self.server_answers
            else AttemptResult.ACCEPTED
        )


def reference_week_allowed(world: World, week: date) -> bool:
    """Restate the rule: shared at the week's start, and no opt-out before its end."""
    start, end = week_bounds(week)
    decided_by_start = [c for c in world.history.changes if c.at <= start]
    if not decided_by_start or not decided_by_start[-1].share:
        return False
    return all(c.share or not start < c.at < end for c in world.history.changes)


def send_due(world: World) -> None:
    """Queue closed weeks, then send whatever is due, as Home Assistant will."""
    world.outbox = expire(world.outbox, world.now)
    for week in weeks_to_build(
        world.outbox, world.history, world.first_week, world.now
    ):
        due_at = week_bounds(week)[1] + SEND_OFFSET
        body = f'{{"week":"{week}"}}'.encode()
        world.outbox = week_closed(
            world.outbox, week, world.installation_id, body, due_at
        )
    for _ in range(200):
        due = next_due(world.outbox, world.history, world.now)
        if isinstance(due, DeletionDue):
            send_deletion(world, due.row.installation_id)
        elif isinstance(due, WeeklyDue):
            if not send_week(world, due.row.period_start, due.row.installation_id):
                return
        else:
            return


def send_week(world: World, week: date, installation_id: str) -> bool:
    """Send one week; return False when the machine crashed meanwhile."""
    if not world.history.sharing:
        world.violations.append(f"{week} sent while not sharing")
    if not reference_week_allowed(world, week):
        world.violations.append(f"{week} sent, but consent did not cover it")
    if week in world.accepted_weeks:
        world.violations.append(f"{week} sent again after a success")
    if week in world.never_to_send:
        world.violations.append(f"{week} sent after an opt-out or a new id")
    world.weekly_requests.append((week, world.now))
    world.outbox = weekly_started(world.outbox, week, ENDPOINT, world.now)
    answer = world.answer()
    if answer == CRASH:
        return False
    result = AttemptResult(answer)
    if result is AttemptResult.ACCEPTED:
        world.accepted_weeks.add(week)
        world.submitted_to[installation_id] = ENDPOINT
    world.outbox = weekly_finished(
        world.outbox, week, result, world.now, rng=world.rng, retry_after=None
    )
    return True


def send_deletion(world: World, installation_id: str) -> None:
    """Send one deletion request; an acknowledged id is forgotten."""
    world.outbox = deletion_started(world.outbox, installation_id)
    answer = world.answer()
    result = AttemptResult.TIMEOUT if answer == CRASH else AttemptResult(answer)
    world.outbox = deletion_finished(world.outbox, installation_id, result, world.now)
    if result in (AttemptResult.ACCEPTED, AttemptResult.NOT_FOUND):
        world.deletions_wanted.discard(installation_id)
        world.submitted_to.pop(installation_id, None)


def act(world: World, action: str, minutes: int) -> None:
    """Apply one user, clock or machine event."""
    if action == "advance":
        world.now += timedelta(minutes=minutes)
        world.latest_time = max(world.latest_time, world.now)
    elif action == "opt_in" and not world.history.sharing:
        world.history = world.history.opt_in(world.now, world.policy)
    elif action == "opt_out" and world.history.sharing:
        world.forbid_unsent()
        world.history = world.history.opt_out(world.now)
        world.outbox = opted_out(world.outbox)
    elif action == "new_policy":
        world.policy += 1
        if world.history.sharing:  # the user accepts the newer fields
            world.history = world.history.opt_in(world.now, world.policy)
    elif action == "regenerate":
        world.forbid_unsent(world.installation_id)
        world.outbox = id_regenerated(world.outbox, world.installation_id)
        world.ids += 1
    elif action == "request_deletion" and world.submitted_to:
        for installation_id in world.submitted_to:
            world.forbid_unsent(installation_id)
        world.outbox = deletion_requested(world.outbox, world.submitted_to, world.now)
        world.deletions_wanted |= set(world.submitted_to)
        if world.installation_id in world.submitted_to:
            world.ids += 1
    elif action == "delete_local":
        world.outbox = locally_deleted(world.outbox)
        world.ids += 1
        world.first_week = week_start(world.now.date()) + WEEK
    elif action == "restart":
        world.outbox = restarted(world.outbox, world.now)


def play(
    steps: list[tuple[str, int]], answers: list[str | AttemptResult], seed: int
) -> World:
    """Play a history from a first opt-in, checking deletions after every step."""
    world = World(server_answers=list(answers), rng=random.Random(seed))
    for action, minutes in [("opt_in", 0), *steps]:
        act(world, action, minutes)
        send_due(world)  # the timer fires whenever something is due
        waiting = {
            row.installation_id
            for row in world.outbox.deletions
            if row.status is not DeletionStatus.ACKNOWLEDGED
        }
        if not world.deletions_wanted <= waiting:
            world.violations.append(f"deletion lost after {action}")
    return world


@PROPERTY
@given(actions, st.lists(results, max_size=30), st.integers(0, 2**32))
def test_weeks_go_only_under_consent_and_once(
    steps: list[tuple[str, int]], answers: list[str | AttemptResult], seed: int
) -> None:
    """No week is ever sent that consent forbids, or again after a success."""
    world = play(steps, answers, seed)
    assert [v for v in world.violations if "deletion" not in v] == []


@PROPERTY
@given(actions, st.lists(results, max_size=30), st.integers(0, 2**32))
def test_deletion_requests_are_kept_and_become_due(
    steps: list[tuple[str, int]], answers: list[str | AttemptResult], seed: int
) -> None:
    """Deletion requests are never lost, and each is due within an hour of now."""
    world = play(steps, answers, seed)
    assert [v for v in world.violations if "deletion" in v] == []
    world.outbox = restarted(world.outbox, world.now)
    later = max(world.now, world.latest_time) + timedelta(hours=1)
    for row in world.outbox.deletions:
        if row.status is DeletionStatus.PENDING:
            assert row.due_at <= later
    if world.deletions_wanted:
        assert isinstance(next_due(world.outbox, world.history, later), DeletionDue)


@PROPERTY
@given(actions, st.lists(results, max_size=30), st.integers(0, 2**32))
def test_at_most_one_weekly_request_per_hour(
    steps: list[tuple[str, int]], answers: list[str | AttemptResult], seed: int
) -> None:
    """Weekly requests are at least an hour apart, whatever the clock does."""
    world = play(steps, answers, seed)
    times = [sent_at for _, sent_at in world.weekly_requests]
    for earlier, later in pairwise(times):
        assert later - earlier >= timedelta(hours=1)
