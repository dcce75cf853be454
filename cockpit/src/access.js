// Whether changes can be made: Cockpit's administrative access (its
// superuser); null while unknown. index.js asks as the page starts, next
// to the watch: asked only once the page is drawn, the bridge would answer
// after it has sent the timers, and the table would wait for the answer.
import cockpit from "./cockpit.js";
import { followed } from "./followed.js";

const access = followed(null);

export const currentAccess = access.current;

// onAccess calls listener with each new answer; it returns the unsubscribe.
export const onAccess = access.follow;

function set(value) {
    // Turned on later: the page reloads, as Cockpit's own pages do, so
    // that the bus connection is reopened with privileges.
    if (access.current() === false && value === true)
        window.location.reload();
    access.set(value);
}

export function watchAccess() {
    const su = cockpit.dbus(null, { bus: "internal" }).proxy("cockpit.Superuser", "/superuser");
    const fromProxy = () => {
        if (su.valid && su.Current !== "init")
            set(su.Current !== "none");
    };
    su.addEventListener("changed", fromProxy);
    su.wait(fromProxy);
}
