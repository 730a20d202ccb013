#!/usr/bin/env python3
"""Readers that follow RFC 5545 to the letter read entente's calendars (issue 11).

vobject (dateutil) builds each zone from our VTIMEZONE alone and keeps the first definition of a
TZID for the whole process; Python `ical` parses strictly. For each case every reader must get
exactly /api/v1/schedule's instants:

1. the second instant of a DST overlap (`disambiguation: later`) in New York and on Lord Howe
   Island, for a single meeting and for a moved occurrence of a series;
2. an unbounded monthly series in New York read through 2041 (RFC 5545 §3.6.5: the VTIMEZONE
   must hold for every instance), plus Paris and Sydney series read the same way;
3. two files sharing a TZID read in one process, the first one a meeting of 2027;
4. HTTP: HEAD answers like GET without a body, and a weak If-None-Match validator gets 304.
"""
import sys
from datetime import datetime, timezone

import vobject
from ical.calendar_stream import IcsCalendarStream
from entente_client import Entente, utc

API, ADMIN_PASSWORD = Entente(sys.argv[1]), sys.argv[2]
YEARS = range(2027, 2042)
failures = 0
passes = 0


def check(ok, what):
    global failures, passes
    if ok:
        passes += 1
        print(f"ok  {what}")
    else:
        failures += 1
        print(f"FAIL {what}")


def schedule(token, meeting_id, years):
    """/schedule's starts of one meeting (cancelled ones left out), as UTC strings."""
    out = set()
    for year in years:
        s = API.call("GET", f"/api/v1/schedule?from={year}-01-01T00:00:00Z&to={year + 1}-01-01T00:00:00Z&tz=UTC", token)
        out |= {o["start_utc"] for o in s["occurrences"] if o["meeting_id"] == meeting_id}
    return out


def vobject_starts(text, years):
    """Every start vobject computes in [first year, last year], overrides applied."""
    calendar = vobject.readOne(text)
    lo = datetime(years[0], 1, 1, tzinfo=timezone.utc)
    hi = datetime(years[-1] + 1, 1, 1, tzinfo=timezone.utc)
    masters, overrides = [], {}
    for event in calendar.vevent_list:
        if hasattr(event, "recurrence_id"):
            overrides[utc(event.recurrence_id.value)] = event
        else:
            masters.append(event)
    starts = set()
    for master in masters:
        if getattr(master, "status", None) and master.status.value == "CANCELLED":
            continue
        rules = master.getrruleset(addRDate=True)
        instances = rules.between(lo, hi, inc=True) if rules else [master.dtstart.value]
        for start in instances:
            key = utc(start)
            if key in overrides:
                continue
            if lo <= start < hi:
                starts.add(key)
    for event in overrides.values():
        if getattr(event, "status", None) and event.status.value == "CANCELLED":
            continue
        start = event.dtstart.value
        if lo <= start < hi:
            starts.add(utc(start))
    return starts


def ical_starts(text, years):
    calendar = IcsCalendarStream.calendar_from_ics(text)
    lo = datetime(years[0], 1, 1, tzinfo=timezone.utc)
    hi = datetime(years[-1] + 1, 1, 1, tzinfo=timezone.utc)
    starts = set()
    for event in calendar.timeline_tz(timezone.utc).overlapping(lo, hi):
        if event.status and str(event.status).upper().endswith("CANCELLED"):
            continue
        if lo <= event.start <= hi:
            starts.add(utc(event.start))
    return starts


def compare(name, text, token, meeting_id, years):
    ours = schedule(token, meeting_id, years)
    for reader, read in (("vobject", vobject_starts), ("ical", ical_starts)):
        theirs = read(text, years)
        check(theirs == ours, f"{reader}: {name}: {len(theirs)} starts over {years[0]}-{years[-1]} equal /schedule's")
        if theirs != ours:
            print("    only entente:", sorted(ours - theirs)[:6])
            print("    only the reader:", sorted(theirs - ours)[:6])


def main():
    token, _, guest = API.host_and_guest(
        ADMIN_PASSWORD,
        {"code": "CH", "name": "Swiss \"Good Offices\" Mission", "kind": "state", "time_zone": "Europe/Zurich"},
        {"code": "US", "name": "United States", "kind": "state", "time_zone": "America/New_York"},
        "strict",
    )

    def book(zone, start, end, **extra):
        body = {"title": "Consultations", "participants": [guest["id"]], "time_zone": zone, "start": start, "end": end, **extra}
        return API.call("POST", "/api/v1/meetings", token, body)

    def ics(meeting):
        return API.request("GET", f"/api/v1/meetings/{meeting['id']}.ics", token)[2].decode()

    # 3 first: a 2027 meeting in New York is the first New York definition the process sees.
    early = book("America/New_York", "2027-02-01T10:00", "2027-02-01T11:00")
    compare("a 2027 meeting in New York", ics(early), token, early["id"], [2027])

    # 1. Overlaps booked `later`.
    for zone, start, end in (("America/New_York", "2027-11-07T01:15", "2027-11-07T02:30"),
                             ("Australia/Lord_Howe", "2027-04-04T01:45", "2027-04-04T03:00")):
        m = book(zone, start, end, disambiguation="later")
        compare(f"{start} {zone} booked later ({m['start_utc']})", ics(m), token, m["id"], [2027])
    sundays = book("America/New_York", "2027-10-03T10:00", "2027-10-03T11:00", recurrence="FREQ=WEEKLY;BYDAY=SU;COUNT=8")
    API.call("PUT", f"/api/v1/meetings/{sundays['id']}/occurrences/2027-11-07T15:00:00Z", token,
         {"start": "2027-11-07T01:15", "end": "2027-11-07T02:15", "disambiguation": "later"})
    compare("a Sunday series with one session moved to the second 01:15", ics(sundays), token, sundays["id"], [2027])

    # 2. Unbounded series through 2041 (2 and 3: the second New York file in this process).
    for zone, start in (("America/New_York", "2027-01-15T10:00"), ("Europe/Paris", "2027-01-29T15:00"),
                        ("Australia/Sydney", "2027-01-04T09:00")):
        end = start[:11] + f"{int(start[11:13]) + 1:02d}" + start[13:]
        rule = "FREQ=MONTHLY;BYDAY=-1FR" if zone == "Europe/Paris" else ("FREQ=MONTHLY;BYDAY=1MO" if zone == "Australia/Sydney" else "FREQ=MONTHLY")
        m = book(zone, start, end, recurrence=rule)
        compare(f"unbounded {rule} in {zone}", ics(m), token, m["id"], list(YEARS))

    # The feed holds them all; read it in the same process too.
    feed = API.call("POST", "/api/v1/feeds", token, {"name": "Everything"})
    status, headers, body = API.request("GET", feed["url"])
    text = body.decode()
    calendar = vobject.readOne(text)
    defined = [tz.tzid.value for tz in calendar.vtimezone_list]
    used = {line.split(";TZID=")[1].split(":")[0] for line in text.replace("\r\n ", "").split("\r\n") if ";TZID=" in line}
    check(status == 200 and sorted(defined) == sorted(used), f"the feed defines each zone it names once: {', '.join(sorted(defined))}")

    # 4. HEAD and weak validators.
    for path, auth in ((feed["url"], None), (f"/api/v1/meetings/{early['id']}.ics", token), ("/healthz", None)):
        g_status, g_headers, g_body = API.request("GET", path, auth)
        h_status, h_headers, h_body = API.request("HEAD", path, auth)
        check(h_status == g_status == 200 and h_body == b"" and h_headers.get("content-length") == str(len(g_body))
              and h_headers.get("etag") == g_headers.get("etag"), f"HEAD {path.split('/')[1]}…: like GET, no body")
        etag = g_headers.get("etag")
        if etag:
            w_status, _, w_body = API.request("GET", path, auth, headers={"If-None-Match": f"W/{etag}"})
            check(w_status == 304 and w_body == b"", f"If-None-Match: W/{etag[:8]}…\" on {path.split('/')[1]}… → 304")
    print(f"{passes} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
