"""The sharing options as the user stored them, checked as the forms check them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .const import (
    CONF_COLLECTION_API_KEY,
    CONF_COLLECTION_URL,
    CONF_CONSENTED_POLICY,
    CONF_DECLINED_POLICY,
    CONF_FORMER_COLLECTION_KEYS,
    CONF_SHARE_STATISTICS,
    CONF_STOPPED_AT,
    POLICY_VERSION,
)
from .outbox import DeletionRow
from .submitter import Endpoint, is_api_key
from .urls import is_collection_url


@dataclass(frozen=True, slots=True)
class SharingSettings:
    """What the user chose in the entry's options."""

    share: bool
    policy_version: int
    endpoint: Endpoint | None
    # The first option the forms would not have stored; nothing is sent then.
    invalid_option: str | None = None
    # Keys of servers left behind, by address, for their deletion requests.
    former_keys: Mapping[str, str] = field(default_factory=dict)
    # When the options form last turned sharing off.
    stopped_at: datetime | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SharingSettings:
        """Read the settings, checked as the forms check them.

        Options come from a file that can be edited by hand. Only a stored
        True shares; an invalid option leaves no endpoint (so no week goes)
        and no consent to record until the settings are saved again.
        """
        share = options.get(CONF_SHARE_STATISTICS, False) is True
        invalid = _invalid_option(options, share=share)
        if invalid is not None:
            return cls(share, POLICY_VERSION, None, invalid)
        url = options.get(CONF_COLLECTION_URL)
        key = options.get(CONF_COLLECTION_API_KEY) or None
        return cls(
            share=share,
            policy_version=options.get(CONF_CONSENTED_POLICY, POLICY_VERSION),
            endpoint=Endpoint(url, key) if url else None,
            former_keys=dict(options.get(CONF_FORMER_COLLECTION_KEYS, {})),
            stopped_at=_stop_time(options.get(CONF_STOPPED_AT)),
        )


def _invalid_option(options: Mapping[str, Any], *, share: bool) -> str | None:
    """Return the first sharing option the forms would not have stored."""
    valid = _validity(options, share=share)
    return next((option for option, ok in valid.items() if not ok), None)


def _validity(options: Mapping[str, Any], *, share: bool) -> dict[str, bool]:
    """Tell of each sharing option whether the forms could have stored it."""
    url = options.get(CONF_COLLECTION_URL)
    former = options.get(CONF_FORMER_COLLECTION_KEYS, {})
    return {
        CONF_SHARE_STATISTICS: isinstance(
            options.get(CONF_SHARE_STATISTICS, False), bool
        ),
        CONF_CONSENTED_POLICY: not share
        or is_policy_version(options.get(CONF_CONSENTED_POLICY)),
        CONF_DECLINED_POLICY: is_policy_version(options.get(CONF_DECLINED_POLICY, 1)),
        CONF_COLLECTION_URL: url is None or is_collection_url(url),
        CONF_COLLECTION_API_KEY: is_api_key(options.get(CONF_COLLECTION_API_KEY, "")),
        CONF_FORMER_COLLECTION_KEYS: isinstance(former, dict)
        and all(_is_former_key(address, key) for address, key in former.items()),
        CONF_STOPPED_AT: options.get(CONF_STOPPED_AT) is None
        or _stop_time(options[CONF_STOPPED_AT]) is not None,
    }


def _is_former_key(address: object, key: object) -> bool:
    return is_collection_url(address) and is_api_key(key)


def without_invalid_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the options without each sharing option the forms would not store.

    The choice itself goes too (sharing and the policy consented to): the
    repair that calls this asks for it again. Former servers' keys are kept
    one by one where valid, for those servers' deletion requests.
    """
    valid = _validity(options, share=False)
    kept = {
        option: value
        for option, value in options.items()
        if valid.get(option, True)
        and option not in (CONF_SHARE_STATISTICS, CONF_CONSENTED_POLICY)
    }
    former = options.get(CONF_FORMER_COLLECTION_KEYS)
    if not valid[CONF_FORMER_COLLECTION_KEYS] and isinstance(former, dict):
        kept[CONF_FORMER_COLLECTION_KEYS] = {
            address: key
            for address, key in former.items()
            if _is_former_key(address, key)
        }
    return kept


def _stop_time(value: object) -> datetime | None:
    """Read a stored stop time: an ISO 8601 moment in UTC, as the form writes it."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.utcoffset() == timedelta(0) else None


def is_policy_version(value: object) -> bool:
    """Tell whether a stored value names a policy version this release knows."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 1 <= value <= POLICY_VERSION
    )


def deletion_endpoint(row: DeletionRow, settings: SharingSettings) -> Endpoint:
    """Return where a deletion request goes, with that server's own key if any.

    A key belongs to the address it was set for and is never sent to another.
    """
    current = settings.endpoint
    if current is not None and current.base_url == row.endpoint:
        return current
    return Endpoint(row.endpoint, settings.former_keys.get(row.endpoint) or None)
