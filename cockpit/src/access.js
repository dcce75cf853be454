// Whether changes can be made: Cockpit's administrative access (its
// superuser), or for older bridges its admin permission; null while
// unknown. index.js asks as the page starts, next to the watch: asked when
// the page was first drawn, the bridge answered only after it had sent the
// timers, and the table waited for the answer.
import cockpit from "./cockpit.js";

let allowed = null;
const listeners = new Set();

export const currentAccess = () => allowed;

// onAccess calls listener with each new answer; it returns the unsubscribe.
export function onAccess(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
}

function set(value) {
    // Turned on later: the page reloads, as Cockpit's own pages do, so
    // that the bus connection is reopened with privileges.
    if (allowed === false && value === true)
        window.location.reload();
    allowed = value;
    listeners.forEach(l => l(value));
}

export function watchAccess() {
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
}
