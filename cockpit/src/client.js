// The page's only connection: com.redhat.Snapm.Timers on the system bus.
// State comes from the daemon's ObjectManager and PropertiesChanged through
// Cockpit's proxies; nothing here polls.
import { useEffect, useState } from "react";
import cockpit, { _ } from "./cockpit.js";

export const BUS = "com.redhat.Snapm.Timers";
export const ROOT = "/com/redhat/Snapm/Timers";
export const MANAGER = BUS + ".Manager";
export const TIMER = BUS + ".Timer";

// The Timer interface as this page knows it. Told to the bridge up front so
// that it does not introspect each of possibly thousands of objects (one
// round trip each) before the first row can show. Members that newer
// daemons add still arrive in the objects' data, and one Introspect call
// tells which methods the daemon really has.
const ro = type => ({ flags: "r", type });
const TIMER_META = {
    [TIMER]: {
        methods: { Enable: {}, Start: {}, Stop: {}, Disable: {}, SetCalendarSpec: { in: ["s"] } },
        properties: {
            Type: ro("s"),
            Name: ro("s"),
            Unit: ro("s"),
            CalendarSpec: ro("s"),
            Normalized: ro("s"),
            Status: ro("s"),
            Enabled: ro("b"),
            Running: ro("b"),
            NextElapse: ro("t"),
            LastTrigger: ro("t"),
            Occurs: ro("b"),
        },
        signals: {},
    },
};

let client = null;
function dbus() {
    if (!client) {
        client = cockpit.dbus(BUS, { bus: "system", superuser: "try" });
        client.meta(TIMER_META);
    }
    return client;
}

export function call(path, iface, method, args) {
    return dbus().call(path, iface, method, args || []);
}

export const callTimer = (timer, method, args) => call(timer.path, TIMER, method, args);
export const callManager = (method, args) => call(ROOT, MANAGER, method, args);

const denied = new Set([
    "org.freedesktop.DBus.Error.AccessDenied",
    "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
]);

// What the user reads when a call fails: the daemon's own message, except
// for a refusal, which only needs to say what would make it work.
export function errorText(ex) {
    if (denied.has(ex.name) || ex.problem === "access-denied")
        return _("Administrative access is needed to change snapshot schedules.");
    return ex.message || String(ex);
}

// hasMethod asks the daemon itself whether an object has a method.
function hasMethod(path, method) {
    return call(path, "org.freedesktop.DBus.Introspectable", "Introspect")
            .then(([xml]) => new window.DOMParser().parseFromString(xml, "text/xml")
                    .querySelector(`interface[name="${TIMER}"] > method[name="${method}"]`) !== null)
            .catch(() => false);
}

// A plain copy of a proxy: what the table renders. Members that only newer
// daemons have (LastRun*, Activity) are present only when the daemon
// exposes them, so the page shows only what it knows.
const snapshot = proxy => ({ ...proxy.data, path: proxy.path });

// The timers as the page knows them: { state: "loading" | "ready" |
// "absent", problem, timers, canRunNow }, and who to tell when it changes.
let model = { state: "loading", problem: null, timers: [], canRunNow: false };
const listeners = new Set();
function set(changes) {
    model = { ...model, ...changes };
    listeners.forEach(l => l(model));
}

// watchTimers starts watching the daemon's objects. The page calls it as
// its script loads, so that the bus round trips overlap the parsing of the
// stylesheet and the first render rather than following them.
export function watchTimers() {
    window.performance.mark("snapm-timers:watch");
    const c = dbus();
    const proxies = c.proxies(TIMER, ROOT);
    let ready = false;
    let pending = null;
    // One plain copy per object, remade only when that object changes,
    // so that a change re-renders one row, not a thousand.
    const snaps = new Map();
    // Whether timers have RunNow, asked once of the first timer seen while
    // the rest arrive; the table waits for the answer, so that a menu never
    // offers less than the daemon has.
    let probe = null;
    const publish = () => {
        pending = null;
        const timers = Array.from(snaps.values());
        (probe || Promise.resolve(false)).then(canRunNow => set({ state: "ready", problem: null, timers, canRunNow }));
    };
    // Signals arrive in bursts (a thousand timers at start, a reload
    // touching many); one render per burst.
    const schedule = () => {
        if (ready && pending === null)
            pending = window.setTimeout(publish, 0);
    };
    const changed = (_ev, proxy) => {
        if (!proxy.valid)
            return;
        snaps.set(proxy.path, snapshot(proxy));
        if (probe === null)
            probe = hasMethod(proxy.path, "RunNow");
        schedule();
    };
    const removed = (_ev, proxy) => {
        snaps.delete(proxy.path);
        schedule();
    };
    const gone = problem => set({ state: "absent", problem, timers: [] });
    proxies.addEventListener("added", changed);
    proxies.addEventListener("changed", changed);
    proxies.addEventListener("removed", removed);
    c.addEventListener("close", (_ev, options) => gone(options.message || null));
    proxies.wait()
            .then(() => {
                for (const path in proxies)
                    if (proxies[path].valid)
                        snaps.set(path, snapshot(proxies[path]));
                ready = true;
                window.performance.mark("snapm-timers:proxies");
                publish();
            })
            .catch(ex => gone(ex.message || null));
}

// useTimers returns the model that watchTimers keeps.
export function useTimers() {
    const [current, setCurrent] = useState(model);
    useEffect(() => {
        listeners.add(setCurrent);
        setCurrent(model);
        return () => listeners.delete(setCurrent);
    }, []);
    return current;
}

// useAdmin tells whether changes can be made: Cockpit's administrative
// access (its superuser), or for older bridges its admin permission; null
// while unknown. When it is turned on later the page reloads, as Cockpit's
// own pages do, so that the bus connection is reopened with privileges.
export function useAdmin() {
    const [allowed, setAllowed] = useState(null);
    useEffect(() => {
        let last = null;
        const set = value => {
            if (last === false && value === true)
                window.location.reload();
            last = value;
            setAllowed(value);
        };
        const su = cockpit.dbus(null, { bus: "internal" }).proxy("cockpit.Superuser", "/superuser");
        const fromProxy = () => {
            if (su.valid && su.Current !== "init")
                set(su.Current !== "none");
        };
        su.addEventListener("changed", fromProxy);
        su.wait(() => {
            if (su.valid) {
                fromProxy();
                return;
            }
            const perm = cockpit.permission({ admin: true });
            perm.addEventListener("changed", () => set(perm.allowed));
            set(perm.allowed);
        });
    }, []);
    return allowed;
}

// The 1-minute clock that keeps "in 2 h 14 min" current; the daemon's
// values themselves only change with its signals.
export function useMinuteClock() {
    const [now, setNow] = useState(Date.now());
    useEffect(() => {
        const id = window.setInterval(() => setNow(Date.now()), 60000);
        return () => window.clearInterval(id);
    }, []);
    return now;
}
