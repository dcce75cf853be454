import cockpit, { _ } from "./cockpit.js";

export const TYPES = ["create", "gc"];

// The daemon's rule for a timer name: 1 to 234 characters of
// [A-Za-z0-9:_.-], but ".". Checked here only to say why as the user
// types; the daemon checks again.
export function nameProblem(name) {
    if (name === "")
        return _("Enter a name.");
    if (name.length > 234)
        return cockpit.format(_("A name has at most 234 characters; this one has $0."), name.length);
    if (name === ".")
        return _("A name cannot be “.”.");
    const bad = name.match(/[^A-Za-z0-9:_.-]/);
    if (bad)
        return cockpit.format(_("“$0” is not allowed: use letters, digits and “:”, “_”, “.”, “-”."), bad[0]);
    return null;
}

export const fullName = t => t.Type + "/" + t.Name;
