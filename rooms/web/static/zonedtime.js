// Wall-clock times in the organisation's time zone, for <input type="datetime-local">: a meeting
// scheduled for "09:30" starts at 09:30 where the organisation is, whatever the device's zone.

function wallParts(date, zone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  }).formatToParts(date);
  return Object.fromEntries(parts.filter((p) => p.type !== "literal").map((p) => [p.type, p.value]));
}

/** "2026-12-07T09:30" as the wall clock shows `date` in `zone`. */
export function toWallTime(date, zone) {
  const p = wallParts(date, zone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

function offsetMs(date, zone) {
  const p = wallParts(date, zone);
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute)) - Math.floor(date.getTime() / 60000) * 60000;
}

/** The ISO instant when the wall clock in `zone` shows `value` ("2026-12-07T09:30"); twice, for a day that changes offset. */
export function fromWallTime(value, zone) {
  const [day, time] = value.split("T");
  const [year, month, date] = day.split("-").map(Number);
  const [hour, minute] = time.split(":").map(Number);
  const wall = Date.UTC(year, month - 1, date, hour, minute);
  let instant = wall - offsetMs(new Date(wall), zone);
  instant = wall - offsetMs(new Date(instant), zone);
  return new Date(instant).toISOString();
}
