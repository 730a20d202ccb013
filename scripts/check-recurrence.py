#!/usr/bin/env python3
"""Cross-checks entente's series expansion against an independent implementation.

Books series through the API, reads their occurrences from /api/v1/schedule, and expands the
same DTSTART;TZID + RRULE with Python's icalendar + recurring-ical-events (zoneinfo for the
zones). The UTC instants must be equal, occurrence for occurrence, over several years.
"""
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from entente_client import Entente

API, ADMIN_PASSWORD = Entente(sys.argv[1]), sys.argv[2]

# (zone, start, end, rule, years): DST in both hemispheres, a 30-minute DST, a midnight gap,
# an autumn overlap, a zone that abolished DST, ordinals and set positions.
CASES = [
    ("America/New_York", "2027-01-05T10:00", "2027-01-05T11:00", "FREQ=WEEKLY;BYDAY=TU", (2027, 2028)),
    ("Europe/London", "2027-01-04T09:30", "2027-01-04T10:45", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", (2027, 2028)),
    ("Australia/Lord_Howe", "2027-09-30T02:15", "2027-09-30T03:00", "FREQ=DAILY;COUNT=10", (2027,)),
    ("America/Santiago", "2027-08-30T00:30", "2027-08-30T01:00", "FREQ=DAILY;COUNT=20", (2027,)),
    ("America/New_York", "2027-11-01T01:30", "2027-11-01T02:00", "FREQ=DAILY;COUNT=10", (2027,)),
    ("Asia/Tehran", "2022-01-10T09:00", "2022-01-10T10:00", "FREQ=WEEKLY;UNTIL=20240101T000000Z", (2022, 2023)),
    ("Europe/Paris", "2027-01-29T15:00", "2027-01-29T16:30", "FREQ=MONTHLY;BYDAY=-1FR", (2027, 2028, 2029)),
    ("Europe/Moscow", "2027-03-03T10:00", "2027-03-03T11:00", "FREQ=YEARLY;BYMONTH=3;BYDAY=1WE", (2027, 2028, 2029, 2030)),
    ("Asia/Tokyo", "2027-01-29T09:00", "2027-01-29T10:00", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=24", (2027, 2028, 2029)),
    # Daily at 02:30 crosses the April overlap (earlier instance) and the September gap (shifted).
    ("Pacific/Auckland", "2027-04-01T02:30", "2027-04-01T03:00", "FREQ=DAILY;UNTIL=20280401T000000Z", (2027, 2028)),
]


def independent(zone, start, end, rule, years):
    stamp = lambda s: datetime.fromisoformat(s).strftime("%Y%m%dT%H%M%S")
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//entente//check//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:check@entente\r\nDTSTAMP:20270101T000000Z\r\n"
        f"DTSTART;TZID={zone}:{stamp(start)}\r\nDTEND;TZID={zone}:{stamp(end)}\r\n"
        f"RRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    calendar = icalendar.Calendar.from_ical(text)
    found = set()
    for year in years:
        window = (datetime(year, 1, 1, tzinfo=timezone.utc), datetime(year + 1, 1, 1, tzinfo=timezone.utc))
        for event in recurring_ical_events.of(calendar).between(*window):
            dtstart = event["DTSTART"].dt
            if dtstart.tzinfo is None:
                dtstart = dtstart.replace(tzinfo=ZoneInfo(zone))
            found.add(dtstart.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return found


def main():
    token, _, guest = API.host_and_guest(
        ADMIN_PASSWORD,
        {"code": "XX", "name": "Host", "kind": "state", "time_zone": "UTC"},
        {"code": "YY", "name": "Guest", "kind": "state", "time_zone": "UTC"},
        "checker",
    )
    failures = 0
    total = 0
    for zone, start, end, rule, years in CASES:
        meeting = API.call("POST", "/api/v1/meetings", token, {
            "title": f"{zone} {rule}", "participants": [guest["id"]], "time_zone": zone,
            "start": start, "end": end, "recurrence": rule,
        })
        ours = set()
        for year in years:
            schedule = API.call("GET", f"/api/v1/schedule?from={year}-01-01T00:00:00Z&to={year + 1}-01-01T00:00:00Z&tz=UTC", token)
            ours |= {o["start_utc"] for o in schedule["occurrences"] if o["meeting_id"] == meeting["id"]}
        theirs = independent(zone, start, end, rule, years)
        total += len(ours)
        if ours != theirs:
            failures += 1
            print(f"MISMATCH {zone} {rule}:")
            print(f"  only entente:    {sorted(ours - theirs)[:10]}")
            print(f"  only independent: {sorted(theirs - ours)[:10]}")
        else:
            print(f"ok  {zone:22} {rule:60} {len(ours)} occurrences")
    print(f"{len(CASES) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
