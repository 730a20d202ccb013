#!/usr/bin/env python3
"""Reads an entente feed with real client parsers and compares with entente's own schedule.

1. Python icalendar + recurring-ical-events expand the feed over two years: the occurrences
   (cancelled ones left out) must equal /api/v1/schedule's, instant for instant.
2. Mozilla's ical.js (Thunderbird's parser, run by node) reads every VEVENT through our
   VTIMEZONEs: each start must equal the instant entente gives for it.
"""
import json
import subprocess
import sys
from datetime import datetime, timezone

import icalendar
import recurring_ical_events
from entente_client import PASSWORD, Entente, utc

API, ADMIN_PASSWORD, NODE_DIR = Entente(sys.argv[1]), sys.argv[2], sys.argv[3]
YEARS = (2027, 2028)


def main():
    token, _, guest = API.host_and_guest(
        ADMIN_PASSWORD,
        {"code": "RU", "name": "Russian Federation", "kind": "state", "time_zone": "Europe/Moscow", "contact_email": "protocol@mid.example"},
        {"code": "US", "name": "United States, Department of State", "kind": "state", "time_zone": "America/New_York"},
        "checker",
    )

    def book(title, zone, start, end, rule=None):
        body = {"title": title, "participants": [guest["id"]], "time_zone": zone, "start": start, "end": end,
                "description": "Agenda:\n1. Review; 2. Next steps, if any", "location": "Palais des Nations, Room XII"}
        if rule:
            body["recurrence"] = rule
        return API.call("POST", "/api/v1/meetings", token, body)

    weekly = book("Weekly hotline test", "America/New_York", "2027-01-05T10:00", "2027-01-05T10:30", "FREQ=WEEKLY;BYDAY=TU")
    monthly = book("Консультации — последняя пятница", "Europe/Paris", "2027-01-29T15:00", "2027-01-29T16:30", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=20")
    daily = book("雙邊磋商 Lord Howe", "Australia/Lord_Howe", "2027-09-30T02:15", "2027-09-30T03:00", "FREQ=DAILY;COUNT=10")
    santiago = book("Santiago midnight gap", "America/Santiago", "2027-08-30T00:30", "2027-08-30T01:00", "FREQ=DAILY;COUNT=12")
    book("Single in Tehran", "Asia/Tehran", "2027-06-01T10:00", "2027-06-01T11:00")
    cancelled = book("Cancelled single", "Europe/Moscow", "2027-07-01T10:00", "2027-07-01T11:00")
    API.call("DELETE", f"/api/v1/meetings/{cancelled['id']}", token)
    API.call("PUT", f"/api/v1/meetings/{weekly['id']}/occurrences/2027-03-16T14:00:00Z", token, {"start": "2027-03-17T09:00"})
    API.call("PUT", f"/api/v1/meetings/{weekly['id']}/occurrences/2027-11-09T15:00:00Z", token, {"status": "cancelled"})
    API.call("PUT", f"/api/v1/meetings/{monthly['id']}/occurrences/2027-04-30T13:00:00Z", token, {"start": "2027-05-03T11:00", "end": "2027-05-03T12:00"})
    # A session held elsewhere, in its own zone (its RECURRENCE-ID stays in the series' zone).
    API.call("PUT", f"/api/v1/meetings/{weekly['id']}/occurrences/2027-05-04T14:00:00Z", token,
             {"time_zone": "Europe/Moscow", "location": "Moscow", "start": "2027-05-05T17:00", "end": "2027-05-05T17:30"})
    # The guest accepts the monthly series and declines one session of it (its own VEVENT).
    admin = API.login("admin", ADMIN_PASSWORD)
    API.call("POST", f"/api/v1/delegations/{guest['id']}/users", admin,
             {"username": "guest-checker", "password": PASSWORD, "role": "scheduler"})
    guest_token = API.login("guest-checker", PASSWORD)
    API.call("POST", f"/api/v1/meetings/{monthly['id']}/response", guest_token, {"response": "accepted"})
    API.call("POST", f"/api/v1/meetings/{monthly['id']}/occurrences/2027-06-25T13:00:00Z/response", guest_token,
             {"response": "declined", "comment": "National holiday"})

    feed = API.call("POST", "/api/v1/feeds", token, {"name": "RU — all meetings"})
    text = API.call("GET", feed["url"], raw=True)
    with open(f"{NODE_DIR}/feed.ics", "w", encoding="utf-8") as f:
        f.write(text)

    # 1. recurring-ical-events against /schedule.
    ours = set()
    for year in YEARS:
        schedule = API.call("GET", f"/api/v1/schedule?from={year}-01-01T00:00:00Z&to={year + 1}-01-01T00:00:00Z&tz=UTC", token)
        ours |= {(o["meeting_id"], o["start_utc"]) for o in schedule["occurrences"]}
    calendar = icalendar.Calendar.from_ical(text)
    theirs = set()
    window = (datetime(YEARS[0], 1, 1, tzinfo=timezone.utc), datetime(YEARS[-1] + 1, 1, 1, tzinfo=timezone.utc))
    for event in recurring_ical_events.of(calendar).between(*window):
        if str(event.get("STATUS")) == "CANCELLED":
            continue
        theirs.add((str(event["UID"]).removesuffix("@entente"), utc(event["DTSTART"].dt)))
    failures = 0
    if ours == theirs:
        print(f"ok  recurring-ical-events: {len(theirs)} occurrences over {YEARS[0]}-{YEARS[-1]} equal /schedule's")
    else:
        failures += 1
        print("MISMATCH recurring-ical-events vs /schedule")
        print("  only entente:", sorted(ours - theirs)[:10])
        print("  only the feed:", sorted(theirs - ours)[:10])
    for name in ("PRODID", "VERSION", "CALSCALE", "METHOD", "X-WR-CALNAME", "REFRESH-INTERVAL", "X-PUBLISHED-TTL"):
        if name not in calendar:
            failures += 1
            print(f"MISSING {name}")

    # 2. ical.js reads every VEVENT's start through our VTIMEZONEs.
    expected = {}
    for year in YEARS:
        schedule = API.call("GET", f"/api/v1/schedule?from={year}-01-01T00:00:00Z&to={year + 1}-01-01T00:00:00Z&tz=UTC&include_cancelled=true", token)
        for o in schedule["occurrences"]:
            if o["recurrence_id"]:
                expected[(o["meeting_id"], o["recurrence_id"])] = o["start_utc"]
    masters = {}
    for event in calendar.walk("VEVENT"):
        uid = str(event["UID"]).removesuffix("@entente")
        if "RECURRENCE-ID" not in event:
            masters[uid] = API.call("GET", f"/api/v1/meetings/{uid}", token)["start_utc"]
    read = json.loads(subprocess.run(["node", f"{NODE_DIR}/check-icaljs.mjs", f"{NODE_DIR}/feed.ics"], check=True, capture_output=True, text=True).stdout)
    checked = 0
    for event in read:
        uid = event["uid"].removesuffix("@entente")
        want = masters.get(uid) if event["recurrence_id"] is None else expected.get((uid, event["recurrence_id"]))
        checked += 1
        if want != event["start"]:
            failures += 1
            print(f"MISMATCH ical.js {uid} {event['recurrence_id']}: read {event['start']}, entente says {want}")
    vevents = len(list(calendar.walk("VEVENT")))
    if checked != vevents:
        failures += 1
        print(f"MISMATCH ical.js read {checked} events, the feed has {vevents}")
    else:
        print(f"ok  ical.js: {checked} events read, every start equal to entente's")
    print(f"{2 - min(failures, 2)} passed, {min(failures, 2)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
