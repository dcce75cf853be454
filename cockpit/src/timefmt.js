import cockpit, { _ } from "./cockpit.js";

// D-Bus times are CLOCK_REALTIME microseconds, 0 for none.
export const toMs = usec => usec ? usec / 1000 : 0;

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateSecFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

export const formatDate = ms => dateFmt.format(new Date(ms));
export const formatDateSec = ms => dateSecFmt.format(new Date(ms));

// "2 h 14 min", "3 d 2 h", "less than a minute": the span, rounded to the
// minute, in its two largest units, as Cockpit's timers page shows it.
function span(ms) {
    const min = Math.round(Math.abs(ms) / 60000);
    if (min < 1)
        return null;
    const d = Math.floor(min / 1440);
    const h = Math.floor((min % 1440) / 60);
    const m = min % 60;
    if (d > 0)
        return h > 0 ? cockpit.format(_("$0 d $1 h"), d, h) : cockpit.format(_("$0 d"), d);
    if (h > 0)
        return m > 0 ? cockpit.format(_("$0 h $1 min"), h, m) : cockpit.format(_("$0 h"), h);
    return cockpit.format(_("$0 min"), m);
}

// How long ago ms was: a time past, though the minute clock (now) may
// not have reached it yet.
export function ago(ms, now) {
    const s = span(Math.max(0, now - ms));
    return s === null ? _("less than a minute ago") : cockpit.format(_("$0 ago"), s);
}

export function relative(ms, now) {
    if (ms < now)
        return ago(ms, now);
    const s = span(ms - now);
    return s === null ? _("in less than a minute") : cockpit.format(_("in $0"), s);
}

const runFmt = new Intl.DateTimeFormat(undefined, {
    weekday: "short", year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
});
export const formatRun = ms => runFmt.format(new Date(ms));
