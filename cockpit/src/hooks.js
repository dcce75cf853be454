// The page's React hooks over the bus state in client.js and Cockpit's.
import { useEffect, useState } from "react";
import cockpit from "./cockpit.js";
import { currentTimers, onTimers } from "./client.js";

// useTimers returns the model that watchTimers keeps.
export function useTimers() {
    const [model, setModel] = useState(currentTimers);
    useEffect(() => {
        setModel(currentTimers());
        return onTimers(setModel);
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
