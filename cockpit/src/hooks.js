// The page's React hooks over the bus state in client.js and Cockpit's.
import { useEffect, useState } from "react";
import { currentAccess, onAccess } from "./access.js";
import { currentTimers, onTimers } from "./client.js";

// useFollowed returns current() and follows its changes. Not React's
// useSyncExternalStore: that renders each change at once, within the task
// that brought it, and runs the effects of the render (PatternFly's
// measure the document) before the browser can paint it.
function useFollowed(current, follow) {
    const [value, setValue] = useState(current);
    useEffect(() => {
        setValue(current());
        return follow(setValue);
    }, [current, follow]);
    return value;
}

// useTimers returns the model that watchTimers keeps.
export const useTimers = () => useFollowed(currentTimers, onTimers);

// useAdmin tells whether changes can be made (see access.js); null while
// unknown.
export const useAdmin = () => useFollowed(currentAccess, onAccess);

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
