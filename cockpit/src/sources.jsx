// A schedule's sources in its dialog: one line each, a mount point or block
// device with its own size policy. The system's mounted file systems are
// offered as the admin types (a native typeahead, which still takes any
// path or device typed, as snapm does).
import React, { useEffect, useState } from "react";
import {
    Button, FormGroup, FormHelperText, HelperText, HelperTextItem, Split, SplitItem, TextInput,
} from "@patternfly/react-core";
import { MinusCircleIcon, PlusCircleIcon } from "@patternfly/react-icons";
import cockpit, { _ } from "./cockpit.js";

// mountinfo's escapes (\040 for a space) undone.
const unescape = s => s.replace(/\\([0-7]{3})/g, (_m, o) => String.fromCharCode(parseInt(o, 8)));

// The mount points of whole file systems on block devices, from
// proc(5)'s mountinfo: not the kernel's own (proc, tmpfs, cgroup, ...)
// nor the bind mounts of a directory of one (root other than "/"), which
// snapm cannot snapshot apart from it.
export function mountPoints(mountinfo) {
    const points = new Map();
    for (const line of mountinfo.split("\n")) {
        const [mine, theirs] = line.split(" - ");
        if (!theirs)
            continue;
        const f = mine.split(" ");
        const [fstype, source] = theirs.split(" ");
        if (f[3] === "/" && source.startsWith("/dev/"))
            points.set(unescape(f[4]), { device: unescape(source), fstype });
    }
    return [...points].map(([dir, p]) => ({ dir, ...p })).sort((a, b) => a.dir.localeCompare(b.dir));
}

// useMountPoints reads the mounts of the system the page is on, once.
function useMountPoints() {
    const [points, setPoints] = useState([]);
    useEffect(() => {
        const file = cockpit.file("/proc/self/mountinfo");
        file.read()
                .then(text => setPoints(mountPoints(text || "")))
                .catch(() => setPoints([]))
                .finally(() => file.close());
    }, []);
    return points;
}

// snapm's size policies (its _SIZE_RE, and PERCENT%TYPE): what follows a
// source's last ':' when it is one.
const SIZE_POLICY = /^([0-9]+([KMGTPEZkmgtpez]i?)?[Bb]?|[0-9.]+%(FREE|USED|SIZE|FIXED))$/;

// A source spec ("/var:25%FREE") as a line of the field; a ':' that starts
// no size policy is part of the path, as snapm reads it.
export function specLine(spec) {
    const i = spec.lastIndexOf(":");
    if (i >= 0 && SIZE_POLICY.test(spec.slice(i + 1)))
        return { source: spec.slice(0, i), policy: spec.slice(i + 1) };
    return { source: spec, policy: "" };
}

// The specs the daemon takes, from the lines with a source.
export const specs = lines => lines
        .filter(l => l.source.trim() !== "")
        .map(l => l.source.trim() + (l.policy.trim() !== "" ? ":" + l.policy.trim() : ""));

export const EMPTY_LINE = { source: "", policy: "" };

export function SourcesField({ lines, setLines }) {
    const points = useMountPoints();
    const change = (i, key, value) => setLines(ls => ls.map((l, j) => j === i ? { ...l, [key]: value } : l));
    return (
        <FormGroup label={_("Sources")} fieldId="schedule-source-0" isRequired>
            {lines.map((l, i) => (
                <Split hasGutter key={i} className="schedule-source pf-v5-u-mb-sm">
                    <SplitItem isFilled>
                        <TextInput id={"schedule-source-" + i} value={l.source} list="schedule-mounts"
                                   aria-label={cockpit.format(_("Source $0"), i + 1)} aria-describedby="schedule-sources-help"
                                   placeholder={_("Mount point or block device")}
                                   onChange={(_e, v) => change(i, "source", v)} />
                    </SplitItem>
                    <SplitItem>
                        <TextInput id={"schedule-size-" + i} value={l.policy} className="schedule-size"
                                   aria-label={cockpit.format(_("Size policy of source $0"), i + 1)}
                                   placeholder={_("Size policy (optional)")}
                                   onChange={(_e, v) => change(i, "policy", v)} />
                    </SplitItem>
                    <SplitItem>
                        <Button variant="plain" className="schedule-source-remove" isDisabled={lines.length === 1}
                                aria-label={cockpit.format(_("Remove source $0"), i + 1)}
                                onClick={() => setLines(ls => ls.filter((_l, j) => j !== i))}>
                            <MinusCircleIcon />
                        </Button>
                    </SplitItem>
                </Split>
            ))}
            <datalist id="schedule-mounts">
                {points.map(p => <option key={p.dir} value={p.dir} label={p.device + " (" + p.fstype + ")"} />)}
            </datalist>
            <Button id="schedule-add-source" variant="link" icon={<PlusCircleIcon />}
                    onClick={() => setLines(ls => [...ls, EMPTY_LINE])}>
                {_("Add source")}
            </Button>
            <FormHelperText>
                <HelperText id="schedule-sources-help">
                    <HelperTextItem>
                        {_("A mount point (the system's are offered as you type) or a block device, each with an optional size policy, e.g. “25%FREE” or “2G”.")}
                    </HelperTextItem>
                </HelperText>
            </FormHelperText>
        </FormGroup>
    );
}
