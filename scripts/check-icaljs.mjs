// Reads an iCalendar file with Mozilla's ical.js (Thunderbird's parser): registers its
// VTIMEZONEs, then prints every VEVENT's UID, RECURRENCE-ID and start as UTC instants.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const text = readFileSync(process.argv[2], "utf8");
const calendar = new ICAL.Component(ICAL.parse(text));
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}
const iso = (time) => new Date(time.toUnixTime() * 1000).toISOString().replace(".000Z", "Z");
const out = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    recurrence_id: event.recurrenceId ? iso(event.recurrenceId) : null,
    start: iso(event.startDate),
  };
});
process.stdout.write(JSON.stringify(out));
