// The page's only connection: com.redhat.Snapm.Timers on the system bus.
// State comes from the daemon's ObjectManager and PropertiesChanged through
// Cockpit's proxies; nothing here polls.
import { useEffect, useState } from "react";
import cockpit, { _ } from "./cockpit.js";

export const BUS = "com.redhat.Snapm.Timers";
export const ROOT = "/com/redhat/Snapm/Timers";
export const MANAGER = BUS + ".Manager";
export const TIMER = BUS + ".Timer";

let client = null;
function dbus() {
    if (!client)
        client = cockpit.dbus(BUS, { bus: "system", superuser: "try" });
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

// A plain copy of a proxy: what the table renders. Members that only newer
// daemons have (LastRun*, Activity, RunNow) are present only when the
// daemon exposes them, so the page offers only what it can do.
function snapshot(proxy) {
    return {
        ...proxy.data,
        path: proxy.path,
        canRunNow: typeof proxy.RunNow === "function",
    };
}

// useTimers returns { state: "loading" | "ready" | "absent", problem, timers }.
export function useTimers() {
    const [model, setModel] = useState({ state: "loading", problem: null, timers: [] });
    useEffect(() => {
        const c = dbus();
        const proxies = c.proxies(TIMER, ROOT);
        let ready = false;
        let pending = null;
        // Signals arrive in bursts (a thousand timers at start, a reload
        // touching many); one render per burst.
        const publish = () => {
            pending = null;
            const timers = [];
            for (const path in proxies)
                if (proxies[path].valid)
                    timers.push(snapshot(proxies[path]));
            setModel({ state: "ready", problem: null, timers });
        };
        const changed = () => {
            if (ready && pending === null)
                pending = window.setTimeout(publish, 0);
        };
        const gone = problem => setModel({ state: "absent", problem, timers: [] });
        proxies.addEventListener("added", changed);
        proxies.addEventListener("changed", changed);
        proxies.addEventListener("removed", changed);
        c.addEventListener("close", (_ev, options) => gone(options.message || options.problem || null));
        proxies.wait()
                .then(() => {
                    ready = true;
                    publish();
                })
                .catch(ex => gone(ex.message || ex.problem || null));
        return () => window.clearTimeout(pending);
    }, []);
    return model;
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
