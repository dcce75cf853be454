// The page's only connection: com.redhat.Snapm.Timers on the system bus.
// State comes from the daemon's ObjectManager and PropertiesChanged through
// Cockpit's D-Bus watch; nothing here polls.
import cockpit, { _ } from "./cockpit.js";
import { followed } from "./followed.js";
import timerInterface from "dbus-interface:com.redhat.Snapm.Timers.Timer";
import scheduleInterface from "dbus-interface:com.redhat.Snapm.Timers.Schedule";

export const BUS = "com.redhat.Snapm.Timers";
export const ROOT = "/com/redhat/Snapm/Timers";
export const MANAGER = BUS + ".Manager";
export const TIMER = BUS + ".Timer";
export const SCHEDULE = BUS + ".Schedule";

// The Timer and Schedule interfaces from the daemon's XML (see build.js),
// told to the bridge up front so that it does not introspect each of
// possibly thousands of objects (one round trip each) before the first row
// can show.
const META = { [TIMER]: timerInterface, [SCHEDULE]: scheduleInterface };

let client = null;
function dbus() {
    if (!client) {
        client = cockpit.dbus(BUS, { bus: "system", superuser: "try" });
        client.meta(META);
    }
    return client;
}

export function call(path, iface, method, args) {
    return dbus().call(path, iface, method, args || []);
}

export const callTimer = (timer, method, args) => call(timer.path, TIMER, method, args);
export const callManager = (method, args) => call(ROOT, MANAGER, method, args);
export const callSchedule = (schedule, method, args) => call(schedule.path, SCHEDULE, method, args);

// CreateTimerWithFlags' flags.
const ENABLE = 0x1;
const START = 0x2;

// createTimer makes a schedule, enabled and started too if running, in
// one call that does all of it or nothing: a failure leaves no half-made
// schedule, and the new timer shows already running.
export function createTimer(type, name, spec, running) {
    if (running)
        return callManager("CreateTimerWithFlags", [type, name, spec, ENABLE | START]);
    return callManager("CreateTimer", [type, name, spec]);
}

const denied = new Set([
    "org.freedesktop.DBus.Error.AccessDenied",
    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
]);

// The daemon's named errors in an admin's words; $0 is the daemon's own
// detail (see detail()).
const ERRORS = {
    InvalidArgument: _("Not accepted: $0"),
    InvalidCalendar: _("Not a calendar expression systemd accepts: $0"),
    ScheduleExists: _("A schedule of this name exists already: $0"),
    NoSuchSchedule: _("There is no snapm schedule of this name: $0"),
    NoSuchTimer: _("The timer is gone (removed meanwhile?): $0"),
    TimerExists: _("A timer of this type and name exists already: $0"),
    Conflict: _("It was changed by someone else meanwhile; look again and retry: $0"),
    NotEnabled: _("The timer is not enabled: enable it first: $0"),
    Masked: _("The unit is masked: unmask it (systemctl unmask) first: $0"),
    JobFailed: _("systemd could not do it: $0"),
    SystemdError: _("systemd refused: $0"),
    IOError: _("A file could not be read or written: $0"),
    Busy: _("It is running now: try again once the run is over."),
};

// The words that start the daemon's messages and say again what the
// error's name says (its domain's error classes, and snapm's own), left
// out of the detail.
const RESTATED = /^(invalid argument|invalid schedule|schedule already exists|no such schedule|no such timer|timer already exists|changed by another writer|timer is not enabled|timer is masked|I\/O error|systemd job failed|systemd call failed|busy): /i;

// A D-Bus error's name inside a message ("…: org.freedesktop.systemd1.
// UnitMasked: Unit file … is masked."): what follows the last is systemd's
// own sentence, what precedes it the daemon's steps to it.
const NAMED = /(?:^|: )[a-z][\w-]*(?:\.[\w-]+)*\.[A-Z]\w*: /g;

function detail(message) {
    const named = [...message.matchAll(NAMED)].pop();
    let m = named ? message.slice(named.index + named[0].length) : message;
    for (let prev = null; prev !== m;) {
        prev = m;
        m = m.replace(RESTATED, "");
    }
    return m;
}

const ERROR_PREFIX = BUS + ".Error.";

// What the user reads when a call fails: a refusal only needs to say what
// would make it work; the daemon's named errors are put in words, with its
// detail; anything else is the message as it came.
export function errorText(ex) {
    if (denied.has(ex.name) || ex.problem === "access-denied")
        return _("Administrative access is needed to change snapshot schedules.");
    const words = typeof ex.name === "string" && ex.name.startsWith(ERROR_PREFIX) && ERRORS[ex.name.slice(ERROR_PREFIX.length)];
    if (words)
        return cockpit.format(words, detail(ex.message || ""));
    return ex.message || String(ex);
}

// The timers and schedules as the page knows them: { state: "loading" |
// "ready" | "absent", problem, timers, schedules }, and who to tell when
// it changes.
const model = followed({ state: "loading", problem: null, timers: [], schedules: [] });
function set(changes) {
    model.set({ ...model.current(), ...changes });
}

export const currentTimers = model.current;

// onTimers calls listener with each new model; it returns the unsubscribe.
export const onTimers = model.follow;

// watchTimers starts watching the daemon's objects, timers and schedules; the promise settles
// once the bridge has been asked for them (or the channel failed).
//
// The page keeps its own plain copy of each timer, made from what the
// bridge sends for the watch ("notify": {path: {interface: properties}},
// null for an interface removed): the objects of the ObjectManager's
// GetManagedObjects at first, then each InterfacesAdded, InterfacesRemoved
// and PropertiesChanged. Cockpit's proxies() would build the same from the
// same messages, but through a proxy object and an "added" event per timer,
// and that costs more than the bridge itself with a thousand timers.
export function watchTimers() {
    const c = dbus();
    let ready = false;
    let pending = null;
    // One plain copy per object and interface, remade only when that
    // object changes, so that a change re-renders one row, not a thousand.
    const snaps = { [TIMER]: new Map(), [SCHEDULE]: new Map() };
    const publish = () => {
        pending = null;
        ready = true;
        set({
            state: "ready",
            problem: null,
            timers: Array.from(snaps[TIMER].values()),
            schedules: Array.from(snaps[SCHEDULE].values()),
        });
    };
    // Signals arrive in bursts (a reload touching many timers); one render
    // per burst.
    const schedule = () => {
        if (ready && pending === null)
            pending = window.setTimeout(publish, 0);
    };
    const notified = (_ev, data) => {
        let news = false;
        for (const path in data) {
            if (!path.startsWith(ROOT + "/"))
                continue;
            for (const iface in snaps) {
                if (!(iface in data[path]))
                    continue;
                news = true;
                const props = data[path][iface];
                const objects = snaps[iface];
                const known = objects.get(path);
                if (props === null)
                    objects.delete(path);
                // Name never changes, so only an object's whole set of
                // properties carries it: a change that comes after the
                // object went (signals race the removal) is dropped, not
                // made into an object without its properties.
                else if (known || "Name" in props)
                    objects.set(path, { ...known, ...props, path });
            }
        }
        // The root's own watch (below) notifies of the Manager: no news.
        if (!news)
            return;
        // The bridge sends the watch's first batch, every object that
        // GetManagedObjects returned, in one notify before it answers the
        // watch itself; the table shows it at once.
        if (ready)
            schedule();
        else
            publish();
    };
    const gone = problem => set({ state: "absent", problem, timers: [] });
    c.addEventListener("notify", notified);
    c.addEventListener("close", (_ev, options) => gone(options.message || null));
    // The root is watched on its own first. To answer a watch of a
    // namespace, cockpit-bridge 287 introspects its root at once, beside
    // GetManagedObjects; when that answer comes back first (the usual case
    // with many timers) it does not know yet that the ObjectManager covers
    // the namespace, walks down every node the root lists and introspects
    // each object, one call at a time, before its first notify, which with
    // a thousand timers takes longer than all the rest of the page's load.
    // A root the bridge already holds is not introspected again; watching
    // it takes one short round trip.
    let asked;
    const asking = new Promise(resolve => { asked = resolve });
    c.watch({ path: ROOT, interface: MANAGER })
            .then(() => {
                const objects = Promise.all([TIMER, SCHEDULE].map(iface => c.watch({ interface: iface, path_namespace: ROOT })));
                asked();
                return objects;
            })
            .then(() => {
                // No timers nor schedules: no notify came.
                if (!ready)
                    publish();
            })
            .catch(ex => gone(ex.message || null))
            .finally(asked);
    return asking;
}
