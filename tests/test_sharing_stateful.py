"""Random histories played through the whole Home Assistant stack, against a model.

test_sharing_properties.py checks the pure core (consent.py, outbox.py) with a
driver that stands in for Home Assistant. This module checks the assembled
integration instead: a config entry set up in Home Assistant, the sharing
coordinator with its one timer, the SQLite store in its worker thread, and
real HTTP to the collection-server simulator on 127.0.0.1.

Hypothesis draws a history: where in the week it starts, whether the user
shares from the start, the send offset, then up to 30 steps. A step moves the
clock forward (by minutes, hours or up to ten days, or to a minute before,
exactly at, or a minute after the next Monday 00:00 UTC), opts in or out
through the entry's options, points the entry at the other of two collection
servers, restarts the entry (unload and set up), makes the servers refuse
connections or listen again, or has the current one answer the next
submission with an HTML 500, store it and lose the answer, or redirect it to
the other server. Three steps
catch a request in flight: the clock goes to the next planned submission,
the server stores the week and holds its answer back, and the user opts
out, switches servers, or Home Assistant restarts. A finale then
gives the servers back and lets three weeks pass, waking whenever the
integration says it will send next.

The test keeps its own list of what the user decided and when, and after
every step (and every wake-up of the finale) holds the server to it:

1. every week it received was covered by consent: the user shared at the
   week's start (opted in at or before Monday 00:00 UTC) and did not opt out
   before the week ended;
2. the week had ended when it arrived, and its send offset had passed;
3. no week arrived twice for the same installation id, unless the server's
   answer to every earlier copy was lost and the copies carry the same
   Idempotency-Key (a week cut off by a restart is sent again so);
4. no week arrived after an opt-out made after its start, even one made once
   the week had closed: a later opt-in covers only whole weeks from then on;
5. every request reached the server the entry pointed at when it was made,
   with that server's key: none followed a redirect, none went to a server
   left behind;
6. every week a server holds is recorded as sent or possibly sent (or is
   waiting to be sent again, marked as possibly held), never as unsent;
7. the entry is still loaded.

After the finale, a user who shares must have had every week that lay wholly
inside it delivered, and the consent the integration stored must equal the
model's. Two hand-written histories (EXPLICIT) are played first in every run.
Over the whole run drawn histories must have delivered weeks, weeks must
have arrived during the steps, not only in finales, and requests must have
been caught in flight, so the test cannot pass by sending nothing.

Why a plain `def` test: the `hass` fixture of pytest-homeassistant-custom-
component is async and lives on the test's event loop. pytest-asyncio can run
`@given` on an async test (each example then runs on that loop), but nothing
would run after the last example, where the checks over all histories
belong. So the test is synchronous and receives the async fixtures already
set up; inside it, a `@given` function plays one history with
`hass.loop.run_until_complete`, which is allowed because that loop is idle
while a synchronous test body runs. Hypothesis keeps generation, shrinking and
its example database, and no fixture is shared behind its back: each history
gets a config entry of its own, set up at its start and removed (store file
included) at its end, and the two simulators are reset in between.

The clock is frozen for Home Assistant, the integration and the simulators,
but not for Hypothesis (freezegun ignores it): its shrinking budget would
otherwise count the days the histories travel and stop at once. Every history
starts from the same Monday plus a drawn part of the week, Hypothesis draws the
send offset and the back-off jitter comes from a seeded generator, so a
failing history replays exactly and shrinks to a few steps. The "explain"
phase is left out: it traces every line Home Assistant runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import itertools
import random
from typing import Any

from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from hypothesis import Phase, example, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.printernizer_usage import randomness, store_path
from custom_components.printernizer_usage.const import (
    CONF_BASELINE_ID,
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_SHARE_STATISTICS,
    DOMAIN,
    POLICY_VERSION,
)
from custom_components.printernizer_usage.randomness import MAX_SEND_OFFSET
from custom_components.printernizer_usage.store import LocalStatisticsStore

from .conftest import BASELINE_ID, ChosenOffsetSource
from .hypothesis_profiles import examples
from .simulator.collection import CollectionSimulator, Submission
from .simulator.printernizer import PrinternizerSimulator
from .test_sharing import until

WEEK = timedelta(days=7)
MINUTE = timedelta(minutes=1)
# Every history starts this Monday 00:00 UTC plus a drawn part of the week.
BASE = datetime(2026, 11, 23, tzinfo=UTC)
MINUTES_PER_WEEK = 7 * 24 * 60
EXAMPLES = 80
# After the drawn steps: three weeks with a healthy server, to see weeks arrive.
FINALE = timedelta(weeks=3)
# Room for a backlog going out one an hour before a week owed by the finale.
FINALE_SLACK = timedelta(hours=2)
MAX_FINALE_WAKEUPS = 60
# Everything but "explain", which traces every line Home Assistant runs.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]

type Step = tuple[str, int]

# How much each kind of step moves the clock, in minutes (nothing for the rest).
AMOUNTS = {
    "advance": st.integers(1, 90),  # around the hourly spacing and retries
    "advance_hours": st.integers(91, 2 * 24 * 60),
    "advance_days": st.integers(2 * 24 * 60, 10 * 24 * 60),
    # To a minute before, exactly at, or a minute after the next Monday 00:00.
    "to_monday": st.integers(-1, 1),
}
# Time passing is the commonest step, so that weeks close and fall due. A
# steady user seldom changes their mind, so weeks get sent amid restarts and
# server faults; a fickle one often does, so that opt-outs meet weeks in every
# state (open, closed and waiting, failed and waiting for a retry).
EVENTS = ["restart", "refuse", "accept", "fail_500", "lost", "redirect", "switch"]
# A request caught in flight, then a change of mind or a restart.
IN_FLIGHT = ["stall_opt_out", "stall_switch", "stall_restart"]
TIME = [*AMOUNTS, "advance_days", "advance_days", "to_monday"]
STEADY = [*TIME, *TIME, *EVENTS, *IN_FLIGHT, "opt_in", "opt_out"]
FICKLE = [*TIME, *EVENTS, *IN_FLIGHT, *["opt_in", "opt_out"] * 3]
# How a week a server holds may stand locally.
HELD = {"sent", "possibly_sent"}


def steps(kinds: list[str]) -> st.SearchStrategy[list[Step]]:
    """Return lists of steps of the given kinds."""
    step = st.sampled_from(kinds).flatmap(
        lambda kind: st.tuples(st.just(kind), AMOUNTS.get(kind, st.just(0)))
    )
    return st.lists(step, min_size=4, max_size=30)


@dataclass(frozen=True)
class History:
    """One drawn history: where it starts, the user's first choice, the steps."""

    start_minutes: int
    shares_from_start: bool
    send_offset_seconds: int
    fickle: bool
    steps: list[Step]


# Two fickle users for every steady one: consent slips show up in the former.
histories = st.sampled_from([True, True, False]).flatmap(
    lambda fickle: st.builds(
        History,
        start_minutes=st.integers(0, MINUTES_PER_WEEK - 1),
        # Most users who install it share from the start.
        shares_from_start=st.sampled_from([True, True, True, False]),
        send_offset_seconds=st.integers(0, int(MAX_SEND_OFFSET.total_seconds()) - 1),
        fickle=st.just(fickle),
        steps=steps(FICKLE if fickle else STEADY),
    )
)


# Two histories played first in every run, each a known trap. A steady user
# on Wednesday: a week fails with a 500, is retried across a restart and
# arrives; the next week closes while the server is away and the user opts
# out and straight back in: that week must never go, the week after the next
# Monday must. A fickle user at Monday 00:00: consent given exactly then covers
# that week, an opt-out a minute before its end spoils it, and an opt-out and
# an opt-in both exactly at a Monday 00:00 discard the week just closed but
# cover the week that begins.
EXPLICIT = [
    History(
        start_minutes=2 * 24 * 60 + 10 * 60 + 5,
        shares_from_start=True,
        send_offset_seconds=7 * 3600 + 30 * 60,
        fickle=False,
        steps=[
            ("to_monday", 0),
            ("to_monday", 0),
            ("fail_500", 0),
            ("advance_hours", 8 * 60),
            ("restart", 0),
            ("advance", 90),
            ("refuse", 0),
            ("advance_days", 7 * 24 * 60),
            ("opt_out", 0),
            ("accept", 0),
            ("opt_in", 0),
            ("to_monday", 1),
            ("advance_days", 7 * 24 * 60),
            ("advance_hours", 8 * 60),
        ],
    ),
    History(
        start_minutes=0,
        shares_from_start=False,
        send_offset_seconds=3600,
        fickle=True,
        steps=[
            ("opt_in", 0),
            ("to_monday", -1),
            ("opt_out", 0),
            ("advance", 1),
            ("opt_in", 0),
            ("to_monday", 0),
            ("advance", 60),
            ("to_monday", 0),
            ("opt_out", 0),
            ("opt_in", 0),
            ("advance_days", 7 * 24 * 60 + 60),
        ],
    ),
    # Requests caught in flight, one for each change, then a redirect to the
    # server left behind: the opt-out leaves its week possibly sent, the
    # switch keeps its week from the new server, the restart sends its week
    # again with the same key (and the redirect refuses that copy), and the
    # first server hears nothing while the entry points elsewhere.
    History(
        start_minutes=0,
        shares_from_start=True,
        send_offset_seconds=3600,
        fickle=False,
        steps=[
            ("stall_opt_out", 0),
            ("opt_in", 0),
            ("advance_days", 8 * 24 * 60),
            ("stall_switch", 0),
            ("stall_restart", 0),
            ("redirect", 0),
            ("advance_days", 7 * 24 * 60 + 120),
            ("switch", 0),
            ("advance_days", 8 * 24 * 60),
        ],
    ),
]


@dataclass
class ConsentModel:
    """What the user asked for, in order: the reference the server is held to."""

    decisions: list[tuple[datetime, bool]] = field(default_factory=list)

    def decide(self, at: datetime, *, share: bool) -> None:
        """Note one request to share or to stop (repeats included)."""
        self.decisions.append((at, share))

    @property
    def sharing(self) -> bool:
        """Tell whether the user shares now."""
        return bool(self.decisions) and self.decisions[-1][1]

    def in_force_at(self, moment: datetime) -> bool:
        """Tell whether the latest decision made at or before a moment was to share."""
        made = [share for at, share in self.decisions if at <= moment]
        return bool(made) and made[-1]

    def opted_out_between(self, after: datetime, before: datetime) -> bool:
        """Tell whether the user asked to stop strictly between two moments."""
        return any(not share and after < at < before for at, share in self.decisions)

    def week_eligible(self, week: datetime) -> bool:
        """State the rule plainly: sharing at the start, no stop before the end."""
        return self.in_force_at(week) and not self.opted_out_between(week, week + WEEK)

    def changes(self) -> list[tuple[datetime, bool]]:
        """Return the decisions that changed something, as the store keeps them."""
        changes: list[tuple[datetime, bool]] = []
        for at, share in self.decisions:
            if share != (bool(changes) and changes[-1][1]):
                changes.append((at, share))
        return changes


def share_options(collection: CollectionSimulator) -> dict[str, Any]:
    """Return the options an opt-in through the options flow leaves."""
    return {
        CONF_SHARE_STATISTICS: True,
        CONF_CONSENTED_POLICY: POLICY_VERSION,
        CONF_COLLECTION_URL: collection.url,
        CONF_COLLECTION_API_KEY: collection.api_key,
    }


def next_monday(now: datetime) -> datetime:
    """Return the first Monday 00:00 UTC after a moment."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(days=7 - now.weekday())


def reset(collection: CollectionSimulator) -> None:
    """Forget everything the shared collection simulator saw and was told."""
    with collection.lock:
        collection.submissions.clear()
        collection.requests.clear()
        collection.deletions.clear()
        collection.hourly_counts.clear()
        collection.faults.clear()
        collection.headers_received.clear()


@dataclass
class Player:
    """Plays one history against Home Assistant and checks every step."""

    hass: HomeAssistant
    freezer: FrozenDateTimeFactory
    servers: tuple[CollectionSimulator, CollectionSimulator]
    entry: MockConfigEntry
    offset: timedelta
    now: datetime
    tally: Counter[str]
    model: ConsentModel = field(default_factory=ConsentModel)
    listening: bool = True
    current: int = 0  # the server the entry points at
    # How many requests of each server were held to the endpoint already.
    accounted: list[int] = field(default_factory=lambda: [0, 0])
    trail: list[Step] = field(default_factory=list)

    @property
    def collection(self) -> CollectionSimulator:
        """Return the server the entry points at."""
        return self.servers[self.current]

    async def start(self) -> None:
        """Set the entry up, as Home Assistant does when it starts."""
        hass = self.hass
        if hass.config_entries.async_get_entry(self.entry.entry_id) is None:
            self.entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(self.entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        # The back-off jitter is the one random draw left: make it repeatable.
        self.entry.runtime_data.sharing._rng = random.Random(0)

    async def travel(self, when: datetime) -> None:
        """Move the clock forward and let every timer that fell due run."""
        assert when > self.now
        self.now = when
        self.freezer.move_to(when)
        async_fire_time_changed(self.hass, when)
        await self.hass.async_block_till_done(wait_background_tasks=True)

    async def set_options(
        self, options: dict[str, Any], *, settle: bool = True
    ) -> None:
        """Change the options as the options flow does (and let it all run)."""
        self.hass.config_entries.async_update_entry(self.entry, options=options)
        if settle:
            await self.hass.async_block_till_done(wait_background_tasks=True)

    async def restart(self) -> None:
        """Unload the entry and set it up again."""
        assert await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.async_block_till_done()
        await self.start()

    async def switch(self, *, settle: bool) -> None:
        """Point the entry at the other server (whether sharing or not)."""
        self.account()  # what came so far came under the old endpoint
        self.current = 1 - self.current
        await self.set_options(
            {
                **self.entry.options,
                CONF_COLLECTION_URL: self.collection.url,
                CONF_COLLECTION_API_KEY: self.collection.api_key,
            },
            settle=settle,
        )

    async def play(self, step: Step) -> None:
        """Apply one step."""
        self.trail.append(step)
        action, amount = step
        collection = self.collection
        if action.startswith("advance"):
            await self.travel(self.now + amount * MINUTE)
        elif action == "to_monday":
            target = next_monday(self.now) + amount * MINUTE
            if target <= self.now:
                target += WEEK
            await self.travel(target)
        elif action.startswith("stall_"):
            await self.in_flight(action.removeprefix("stall_"))
        else:
            await self.change(action)
        if action == "refuse" and self.listening:
            for server in self.servers:
                server.refuse_connections()
            self.listening = False
        elif action == "accept" and not self.listening:
            for server in self.servers:
                server.accept_connections()
            self.listening = True
        elif action == "fail_500":
            collection.fail("html_500", "/submit")
        elif action == "lost":
            collection.fail("lost", "/submit")
        elif action == "redirect":
            other = self.servers[1 - self.current]
            collection.fail("redirect_307", "/submit", body=other.url)

    async def change(self, action: str, *, settle: bool = True) -> None:
        """Opt in or out, switch servers or restart (other actions: nothing).

        Unsettled, the change is made but what it sets off may still run.
        """
        if action == "opt_in":
            self.model.decide(self.now, share=True)
            await self.set_options(share_options(self.collection), settle=settle)
        elif action == "opt_out":
            self.model.decide(self.now, share=False)
            await self.set_options(
                {**self.entry.options, CONF_SHARE_STATISTICS: False}, settle=settle
            )
        elif action == "switch":
            await self.switch(settle=settle)
        elif action == "restart":
            await self.restart()

    async def in_flight(self, action: str) -> None:
        """Catch the next planned submission in flight, then make a change.

        The server stores the week and holds its answer back, and the change
        comes. With nothing planned (or the servers away) it comes alone.
        """
        sharing = self.entry.runtime_data.sharing
        planned = sharing.data.next_submission
        server = self.collection
        task = None
        if planned is not None and self.listening:
            server.fail("stall", "/submit")
            before = sharing._send_task
            self.now = max(planned, self.now + timedelta(seconds=1))
            self.freezer.move_to(self.now)
            async_fire_time_changed(self.hass, self.now)
            task = sharing._send_task
            if task is not before and task is not None:
                # Held back, or the send ended without reaching the stall.
                await until(lambda: server.stalled > 0 or task.done())
            with server.lock:
                server.faults = [f for f in server.faults if f.kind != "stall"]
                caught = server.stalled > 0
            if caught:
                # The clock stays: moved, it would time the request out.
                self.tally["requests caught in flight"] += 1
        try:
            await self.change(action, settle=False)
            # The change ends the request at once: the server's answer is
            # still held back, so a request left running would never end.
            if task is not None:
                await until(task.done)
        finally:
            server.release_stalled()
        await self.hass.async_block_till_done(wait_background_tasks=True)

    def account(self) -> None:
        """Hold every request since the last look to the endpoint it was made under."""
        for index, server in enumerate(self.servers):
            with server.lock:
                new = server.requests[self.accounted[index] :]
                keys = {h.get("X-API-Key", "") for h in server.headers_received}
                self.accounted[index] = len(server.requests)
            assert keys <= {server.api_key}, f"another server's key after {self.trail}"
            if index != self.current:
                assert not new, f"{new} reached a server left behind: {self.trail}"

    async def check(self, history: list[Step]) -> None:
        """Hold everything the servers received to the model."""
        self.account()
        received: list[tuple[int, Submission]] = []
        for index, server in enumerate(self.servers):
            with server.lock:
                received += [(index, s) for s in server.submissions]
        received.sort(key=lambda pair: pair[1].received_at)
        copies: dict[tuple[str, datetime], list[tuple[int, Submission]]] = {}
        for index, submission in received:
            week = datetime.fromisoformat(submission.payload["period"]["start"])
            arrived = submission.received_at
            what = f"week {week:%Y-%m-%d} at {arrived:%Y-%m-%d %H:%M} after {history}"
            assert self.model.week_eligible(week), f"not covered by consent: {what}"
            assert arrived >= week + WEEK, f"sent before the week ended: {what}"
            assert arrived >= week + WEEK + self.offset, f"sent early: {what}"
            earlier = copies.setdefault((submission.installation_id, week), [])
            key = submission.headers["Idempotency-Key"]
            assert all(
                (where, copy.answer_lost, copy.headers["Idempotency-Key"])
                == (index, True, key)
                for where, copy in earlier
            ), f"sent twice: {what}"
            earlier.append((index, submission))
            assert not self.model.opted_out_between(week, arrived), (
                f"sent after an opt-out: {what}"
            )
        assert self.entry.state is ConfigEntryState.LOADED, history
        data: dict[str, Any] = await self.entry.runtime_data.store.async_call(
            LocalStatisticsStore.export
        )
        rows = {row["period_start"]: row for row in data["weekly_submissions"]}
        for installation_id, week in copies:
            row = rows.get(week.date().isoformat())
            assert row is not None, f"a week the server holds is gone: {history}"
            assert row["installation_id"] == installation_id
            waiting_again = row["status"] == "pending" and row["may_be_held"]
            assert row["status"] in HELD or waiting_again, (
                f"week {week:%Y-%m-%d} is on a server, recorded {row['status']}"
                f" after {history}"
            )

    async def finale(self, history: list[Step]) -> list[datetime]:
        """Let three weeks pass with a healthy server; return the weeks owed by then.

        The clock wakes whenever the integration says it plans to send next
        (its own next-submission time) and at the end, as a running Home
        Assistant would. If the user shares when the finale begins, every week
        that lies wholly inside it and fell due before its end must arrive.
        """
        if not self.listening:
            for server in self.servers:
                server.accept_connections()
            self.listening = True
        for server in self.servers:
            with server.lock:
                server.faults.clear()
        began, end = self.now, self.now + FINALE
        history = [*history, ("finale", 0)]
        for _ in range(MAX_FINALE_WAKEUPS):
            planned = self.entry.runtime_data.sharing.data.next_submission
            if planned is None or planned > end:
                break
            await self.travel(max(planned, self.now + timedelta(seconds=1)))
            await self.check(history)
        else:
            pytest.fail(f"the schedule kept waking without settling after {history}")
        if end > self.now:
            await self.travel(end)
            await self.check(history)
        if not self.model.sharing:
            return []
        week = began if began == next_monday(began) - WEEK else next_monday(began)
        owed = []
        while week + WEEK + self.offset + FINALE_SLACK <= end:
            owed.append(week)
            week += WEEK
        return owed

    async def check_stored_consent(self) -> None:
        """Check that the integration stored exactly the model's decisions."""
        data: dict[str, Any] = await self.entry.runtime_data.store.async_call(
            LocalStatisticsStore.export
        )
        stored = [
            (datetime.fromisoformat(change["at"]), change["share_statistics"])
            for change in data["consent_history"]
        ]
        assert stored == self.model.changes()


async def play_history(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    printernizer: PrinternizerSimulator,
    servers: tuple[CollectionSimulator, CollectionSimulator],
    *,
    history: History,
    number: int,
    tally: Counter[str],
) -> None:
    """Set up a fresh entry, play the history step by step, remove the entry."""
    now = BASE + history.start_minutes * MINUTE
    freezer.move_to(now)
    collection = servers[0]
    for server in servers:
        reset(server)
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=f"01JSTATEFUL{number:015d}",
        title="Printernizer",
        unique_id=printernizer.url,
        data={CONF_URL: printernizer.url, CONF_BASELINE_ID: BASELINE_ID},
        options=share_options(collection) if history.shares_from_start else {},
    )
    offset = timedelta(seconds=history.send_offset_seconds)
    player = Player(hass, freezer, servers, entry, offset, now, tally)
    with pytest.MonkeyPatch.context() as patch:
        # Let Hypothesis choose the send offset the store draws.
        patch.setattr(
            randomness, "SOURCE", ChosenOffsetSource(history.send_offset_seconds)
        )
        try:
            await player.start()
            if history.shares_from_start:
                player.model.decide(now, share=True)
            await player.check([])
            for done in range(len(history.steps)):
                await player.play(history.steps[done])
                await player.check(history.steps[: done + 1])
            if received(servers):
                tally["histories that delivered before the finale"] += 1
            owed = await player.finale(history.steps)
            arrived = {
                datetime.fromisoformat(s.payload["period"]["start"])
                for s in received(servers)
            }
            missing = [f"{week:%Y-%m-%d}" for week in owed if week not in arrived]
            assert not missing, f"covered weeks never sent: {missing} after {history}"
            tally["weeks owed by the finale"] += len(owed)
            await player.check_stored_consent()
        finally:
            if not player.listening:
                for server in servers:
                    server.accept_connections()
            if hass.config_entries.async_get_entry(entry.entry_id) is not None:
                assert await hass.config_entries.async_remove(entry.entry_id)
                await hass.async_block_till_done(wait_background_tasks=True)
    assert not store_path(hass, entry.entry_id).exists()
    arrivals = [s.received_at for s in received(servers)]
    tally["histories"] += 1
    tally["submissions"] += len(arrivals)
    if arrivals and history not in EXPLICIT:
        tally["drawn histories that delivered"] += 1


def received(
    servers: tuple[CollectionSimulator, CollectionSimulator],
) -> list[Submission]:
    """Return what the servers hold."""
    held: list[Submission] = []
    for server in servers:
        with server.lock:
            held += server.submissions
    return held


@pytest.fixture
def second_collection(socket_enabled: None) -> Iterator[CollectionSimulator]:
    """Serve a second collection server, with a key of its own."""
    simulator = CollectionSimulator(api_key="second-api-key")
    simulator.start()
    yield simulator
    simulator.stop()


def test_random_histories_send_only_what_consent_covers(
    hass: HomeAssistant,
    printernizer: PrinternizerSimulator,
    collection: CollectionSimulator,
    second_collection: CollectionSimulator,
) -> None:
    """Whatever the user, the clock and the server do, consent bounds what is sent."""
    tally: Counter[str] = Counter()
    numbers = itertools.count()
    # Home Assistant, the integration and the simulators run on the frozen
    # clock; Hypothesis keeps real time, or its shrinking budget would count
    # the days the histories travel.
    with freeze_time(BASE, ignore=["hypothesis"]) as freezer:
        assert isinstance(freezer, FrozenDateTimeFactory)

        @settings(max_examples=examples(EXAMPLES), phases=PHASES)
        @example(history=EXPLICIT[0])
        @example(history=EXPLICIT[1])
        @example(history=EXPLICIT[2])
        @given(history=histories)
        def run(history: History) -> None:
            hass.loop.run_until_complete(
                play_history(
                    hass,
                    freezer,
                    printernizer,
                    (collection, second_collection),
                    history=history,
                    number=next(numbers),
                    tally=tally,
                )
            )

        run()
    assert tally["histories"] >= EXAMPLES, tally
    # Not vacuous: drawn histories did get weeks to the server, weeks arrived
    # amid the steps (the explicit histories see to that), and the finales
    # did have weeks to deliver.
    assert tally["drawn histories that delivered"] > 0, tally
    assert tally["histories that delivered before the finale"] > 0, tally
    assert tally["weeks owed by the finale"] > 0, tally
    assert tally["requests caught in flight"] > 0, tally
