"""Properties of the sharing core, over random histories of everything that happens.

A small driver plays the part Home Assistant will: after every event it
reconciles the outbox with the clock, queues closed weeks, sends what is due
and feeds back the server's answers (scripted: successes, rejections, rate
limits, failures, crashes, and opt-outs arriving while a request runs). Users
opt in and out, accept or decline newer policies, regenerate their id, switch
or remove the collection server, request deletion and delete local data; the
clock jumps forward and back, and the machine restarts. Every request is
checked against a reference model that states each rule in the plainest way.
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
    WeeklyStatus,
    deletion_finished,
    deletion_requested,
    deletion_started,
    endpoint_changed,
    id_regenerated,
    is_rejection,
    locally_deleted,
    next_due,
    opted_out,
    reconcile,
    restarted,
    week_closed,
    weekly_finished,
    weekly_started,
    weeks_to_build,
)
from custom_components.printernizer_usage.payload import week_bounds, week_start

from .hypothesis_profiles import examples

START = datetime(2026, 11, 4, 9, 30, tzinfo=UTC)
SEND_OFFSET = timedelta(hours=7, minutes=13)
ENDPOINTS = ("https://stats.example", "https://other.example")
CRASH = "crash"  # the machine dies while a request is in flight
OPT_OUT_DURING = "opt_out_during"  # the user opts out while a request runs
ANSWERS = [*AttemptResult, CRASH, OPT_OUT_DURING]
# Answers after which the server holds nothing of the attempt (besides refusals).
NOTHING_KEPT = {AttemptResult.RATE_LIMITED, AttemptResult.UNREACHABLE}
# How a row says that no server holds its week.
NOT_HELD = {WeeklyStatus.DISCARDED, WeeklyStatus.EXPIRED, WeeklyStatus.REJECTED}
# Minutes the clock moves: back a day, around the hourly limit, up to past expiry.
CLOCK_STEPS = [-24 * 60, -30, 30, 59, 60, 61, 6 * 60, 24 * 60, 3 * 24 * 60]
CLOCK_STEPS += [7 * 24 * 60, 14 * 24 * 60, 13 * 7 * 24 * 60]
# Time passing is the commonest event; every other one happens now and then.
EVENTS = ["advance"] * 6 + [
    "opt_in",
    "opt_out",
    "accept_new_policy",
    "decline_new_policy",
    "regenerate",
    "request_deletion",
    "delete_local",
    "restart",
    "switch_endpoint",
    "remove_endpoint",
]
histories = st.lists(
    st.tuples(st.sampled_from(EVENTS), st.sampled_from(CLOCK_STEPS)),
    min_size=10,
    max_size=40,
)
answers = st.lists(st.sampled_from(ANSWERS), max_size=40)
PROPERTY = settings(max_examples=examples(2000))


@dataclass
class World:
    """The driver's view of one installation, and the reference model's notes."""

    answers: list[str]
    rng: random.Random
    now: datetime = START
    real_minutes: int = 0  # real time passed; setting the clock back takes none
    policy: int = 1
    history: ConsentHistory = field(default_factory=ConsentHistory)
    outbox: Outbox = field(default_factory=Outbox)
    ids: int = 1
    endpoint: str | None = ENDPOINTS[0]
    # The reference model.
    floor: date | None = None  # no week before it may go out any more
    weekly_requests: list[tuple[date, int]] = field(default_factory=list)
    accepted_weeks: set[date] = field(default_factory=set)
    # Weeks a server may hold without saying so: a crash or a failure after
    # the request may have arrived (an answer lost, a proxy's 5xx).
    maybe_held: set[date] = field(default_factory=set)
    tried: set[tuple[str, str]] = field(default_factory=set)  # (id, endpoint)
    deletions_owed: set[tuple[str, str]] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)

    @property
    def installation_id(self) -> str:
        """Return the current id (a readable stand-in for a UUID)."""
        return f"id-{self.ids}"

    def answer(self) -> str:
        """Return the server's next answer; once scripted ones run out, success."""
        return self.answers.pop(0) if self.answers else AttemptResult.ACCEPTED

    def stop_unsent(self) -> None:
        """Note that no week begun before today's week may go out any more."""
        floor = week_start(self.now.date())
        self.floor = floor if self.floor is None else max(self.floor, floor)


def shared_throughout(world: World, week: date) -> bool:
    """Tell whether the user shared at every instant of the week.

    The decision in force at an instant is the last one made at or before it;
    it can change only at decisions, so checking the start and every decision
    inside the week checks every instant.
    """
    start, end = week_bounds(week)
    instants = [start] + [c.at for c in world.history.changes if start < c.at < end]
    for instant in instants:
        made = [c for c in world.history.changes if c.at <= instant]
        if not made or not made[-1].share:
            return False
    return True


def send_due(world: World) -> None:
    """Reconcile, queue closed weeks, and send whatever is due."""
    world.outbox = reconcile(world.outbox, world.now)
    has_endpoint = world.endpoint is not None
    for week in weeks_to_build(
        world.outbox, world.history, world.now, has_endpoint=has_endpoint
    ):
        due_at = week_bounds(week)[1] + SEND_OFFSET
        body = f'{{"week":"{week}"}}'.encode()
        world.outbox = week_closed(
            world.outbox, week, world.installation_id, body, due_at
        )
    for _ in range(200):
        due = next_due(
            world.outbox, world.history, world.now, has_endpoint=has_endpoint
        )
        if isinstance(due, DeletionDue):
            if not send_deletion(world, due.row.installation_id, due.row.endpoint):
                return
        elif isinstance(due, WeeklyDue):
            if not send_week(world, due.row.period_start, due.row.installation_id):
                return
        else:
            return


def send_week(world: World, week: date, installation_id: str) -> bool:
    """Send one week; return False when the machine crashed meanwhile."""
    endpoint = world.endpoint
    if endpoint is None or not world.history.sharing:
        world.violations.append(f"{week} sent without consent or endpoint")
        return False
    if not shared_throughout(world, week):
        world.violations.append(f"{week} sent, but consent did not cover it")
    if week_bounds(week)[1] > world.now:
        world.violations.append(f"{week} sent before it ended")
    if week in world.accepted_weeks:
        world.violations.append(f"{week} sent again after a success")
    if world.floor is not None and week < world.floor:
        world.violations.append(f"{week} sent below the floor of a stop")
    world.weekly_requests.append((week, world.real_minutes))
    world.tried.add((installation_id, endpoint))
    world.outbox = weekly_started(world.outbox, week, endpoint, world.now)
    answer = world.answer()
    if answer == CRASH:
        world.maybe_held.add(week)
        return False
    if answer == OPT_OUT_DURING:
        act(world, "opt_out", 0)
        answer = AttemptResult.ACCEPTED  # the server got it all the same
    result = AttemptResult(answer)
    if result is AttemptResult.ACCEPTED:
        world.accepted_weeks.add(week)
    elif result not in NOTHING_KEPT and not is_rejection(result):
        world.maybe_held.add(week)
    retry_after = timedelta(minutes=world.rng.choice([0, 5, 180, 3000]))
    world.outbox = weekly_finished(
        world.outbox, week, result, world.now, rng=world.rng, retry_after=retry_after
    )
    return True


def send_deletion(world: World, installation_id: str, endpoint: str) -> bool:
    """Send one deletion request; return False when the machine crashed meanwhile."""
    world.outbox = deletion_started(world.outbox, installation_id, endpoint)
    answer = world.answer()
    if answer == CRASH:
        return False
    result = (
        AttemptResult.ACCEPTED if answer == OPT_OUT_DURING else AttemptResult(answer)
    )
    world.outbox = deletion_finished(
        world.outbox, installation_id, endpoint, result, world.now
    )
    if result in (AttemptResult.ACCEPTED, AttemptResult.NOT_FOUND):
        world.deletions_owed.discard((installation_id, endpoint))
    return True


def act(world: World, event: str, minutes: int) -> None:
    """Apply one user, clock or machine event."""
    if event == "advance":
        world.now += timedelta(minutes=minutes)
        world.real_minutes += max(minutes, 0)
    elif event == "opt_in" and not world.history.sharing:
        world.history = world.history.opt_in(world.now, world.policy)
    elif event == "opt_out" and world.history.sharing:
        world.history = world.history.opt_out(world.now)
        world.outbox = opted_out(world.outbox, world.now)
        world.stop_unsent()
    elif event == "accept_new_policy":
        world.policy += 1
        if world.history.sharing:
            world.history = world.history.opt_in(world.now, world.policy)
    elif event == "decline_new_policy":
        world.policy += 1  # sharing goes on under the version consented to
    elif event == "regenerate":
        world.outbox = id_regenerated(world.outbox, world.installation_id, world.now)
        world.ids += 1
        world.stop_unsent()
    elif event == "request_deletion":
        world.outbox = deletion_requested(world.outbox, world.now)
        world.deletions_owed |= world.tried
        world.tried = set()
        world.ids += 1
        world.stop_unsent()
    elif event == "delete_local":
        world.outbox = locally_deleted(world.outbox, world.now)
        world.tried = set()  # forgotten locally, as the user asked
        world.ids += 1
        world.stop_unsent()
    elif event == "restart":
        world.outbox = restarted(world.outbox, world.history, world.endpoint, world.now)
    elif event == "switch_endpoint":
        world.endpoint = (
            ENDPOINTS[1] if world.endpoint == ENDPOINTS[0] else ENDPOINTS[0]
        )
        world.outbox = endpoint_changed(world.outbox, world.now)
    elif event == "remove_endpoint":
        world.endpoint = None


def play(steps: list[tuple[str, int]], scripted: list[str], seed: int) -> World:
    """Play a history from a first opt-in, checking deletions after every step."""
    world = World(answers=list(scripted), rng=random.Random(seed))
    for event, minutes in [("opt_in", 0), *steps]:
        act(world, event, minutes)
        send_due(world)  # the timer fires whenever something is due
        waiting = {
            (row.installation_id, row.endpoint)
            for row in world.outbox.deletions
            if row.status is not DeletionStatus.ACKNOWLEDGED
        }
        if not world.deletions_owed <= waiting:
            world.violations.append(f"DELETION lost after {event}")
        for row in world.outbox.weekly:
            accepted = row.period_start in world.accepted_weeks
            if accepted and row.status is not WeeklyStatus.SENT:
                world.violations.append(
                    f"{row.period_start} reached the server, recorded {row.status}"
                )
            if row.period_start in world.maybe_held and row.status in NOT_HELD:
                world.violations.append(
                    f"{row.period_start} may be on the server, recorded {row.status}"
                )
    return world


@PROPERTY
@given(histories, answers, st.integers(0, 2**32))
def test_weeks_go_only_under_consent_and_once(
    steps: list[tuple[str, int]], scripted: list[str], seed: int
) -> None:
    """No week goes out that consent forbids, early, after a stop, or twice."""
    world = play(steps, scripted, seed)
    assert [v for v in world.violations if "DELETION" not in v] == []


@PROPERTY
@given(histories, answers, st.integers(0, 2**32))
def test_deletion_requests_are_kept_and_become_due(
    steps: list[tuple[str, int]], scripted: list[str], seed: int
) -> None:
    """Every id and endpoint a week was tried at gets a request; none is lost."""
    world = play(steps, scripted, seed)
    assert [v for v in world.violations if "DELETION" in v] == []
    outbox = restarted(world.outbox, world.history, world.endpoint, world.now)
    outbox = reconcile(outbox, world.now)
    within_an_hour = world.now + timedelta(hours=1)
    for row in outbox.deletions:
        if row.status is DeletionStatus.PENDING:
            assert row.due_at <= within_an_hour


@PROPERTY
@given(histories, answers, st.integers(0, 2**32))
def test_at_most_one_weekly_request_per_hour(
    steps: list[tuple[str, int]], scripted: list[str], seed: int
) -> None:
    """Weekly requests are at least an hour of real time apart, whatever the clock."""
    world = play(steps, scripted, seed)
    for (_, earlier), (_, later) in pairwise(world.weekly_requests):
        assert later - earlier >= 60
