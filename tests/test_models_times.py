"""The archive's one time format: fast paths give exactly what strftime gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from aggregator.models import iso, parse_iso, utc

zones = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)),
                         timezone(timedelta(hours=-8)), timezone(timedelta(0))])


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), zones)
def test_iso_is_strftime_of_the_utc_time(naive: datetime, zone: timezone | None) -> None:
    dt = naive.replace(tzinfo=zone)
    expected = (dt.replace(tzinfo=UTC) if zone is None else dt.astimezone(UTC)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert iso(dt) == expected
    assert utc(dt) == (dt.replace(tzinfo=UTC) if zone is None else dt)


@given(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31),
                    timezones=st.just(UTC)))
def test_iso_round_trips_to_the_second(dt: datetime) -> None:
    text = iso(dt)
    assert text is not None and len(text) == 20 and text.endswith("Z")
    assert parse_iso(text) == dt.replace(microsecond=0)
