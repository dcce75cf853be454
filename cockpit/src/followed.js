// A value the page follows: what it is now, and who to tell when it
// changes (React's hooks in hooks.js, through current and follow).
export function followed(initial) {
    let value = initial;
    const listeners = new Set();
    return {
        current: () => value,
        // follow calls listener with each new value; it returns the
        // unsubscribe.
        follow(listener) {
            listeners.add(listener);
            return () => listeners.delete(listener);
        },
        set(next) {
            value = next;
            listeners.forEach(l => l(next));
        },
    };
}
