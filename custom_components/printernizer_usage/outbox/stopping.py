"""Stopping unsent weekly rows, and raising the floor no week is built below.

Opting out, replacing the id, requesting deletion and deleting local data all
stop unsent weekly rows this way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from ..payload import WEEK, week_bounds, week_start
from .rows import UNSENT, Outbox, WeeklyRow, WeeklyStatus


def stop_unsent(
    outbox: Outbox, installation_ids: set[str] | None, now: datetime
) -> Outbox:
    """Discard unsent weekly rows (of some ids, or all) and raise the floor.

    A row in flight is cut off rather than discarded: it is possibly sent.
    The floor is the first week that begins from now on, so the week under
    way is never built either: an id made next starts with a whole week, as
    a fresh installation's first id does after consent. The floor also clears
    every week that has a row, so a clock that went back cannot lower it
    below a week that was sent (and whose row a deletion may later forget).
    """
    floor = max(
        [first_whole_week(now)] + [row.period_start + WEEK for row in outbox.weekly]
    )
    return replace(
        outbox,
        weekly=tuple(
            _cut_off(row)
            if row.status in UNSENT
            and (installation_ids is None or row.installation_id in installation_ids)
            else row
            for row in outbox.weekly
        ),
        build_from=floor
        if outbox.build_from is None
        else max(outbox.build_from, floor),
    )


def first_whole_week(now: datetime) -> date:
    """Return the first week that begins at or after `now`."""
    week = week_start(now.date())
    return week if week_bounds(week)[0] == now else week + WEEK


def _cut_off(row: WeeklyRow) -> WeeklyRow:
    """Stop an unsent row: possibly sent if it may have arrived, else discarded."""
    return stopped_row(row, WeeklyStatus.DISCARDED)


def stopped_row(row: WeeklyRow, status: WeeklyStatus) -> WeeklyRow:
    """Stop a row with `status`, or as possibly sent if the server may hold it."""
    if row.status is WeeklyStatus.IN_FLIGHT or row.may_be_held:
        return replace(row, status=WeeklyStatus.POSSIBLY_SENT)
    return replace(row, status=status)
