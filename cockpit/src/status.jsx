import React from "react";
import { Label, Tooltip } from "@patternfly/react-core";
import cockpit, { _ } from "./cockpit.js";
import { formatDateSec, toMs } from "./timefmt.js";

// The daemon's Status values, with the colours Cockpit uses for unit states.
export const STATUSES = {
    running: { text: _("Running"), color: "green" },
    enabled: { text: _("Enabled"), color: "blue" },
    disabled: { text: _("Disabled"), color: "grey" },
    invalid: { text: _("Invalid"), color: "red" },
};

export function StatusLabel({ status }) {
    const s = STATUSES[status] || { text: status, color: "orange" };
    return <Label color={s.color} className="status-label" data-status={status}>{s.text}</Label>;
}

// The last run, for daemons that publish it (LastRunResult and friends).
export function LastRun({ timer }) {
    if (timer.Activity === "running")
        return <Label color="blue" className="last-run" data-result="running">{_("Running now")}</Label>;
    const result = timer.LastRunResult;
    if (!result)
        return <span className="last-run pf-v5-u-color-200" data-result="">{_("Not run since boot")}</span>;
    const end = toMs(timer.LastRunEnd || timer.LastRunStart);
    const when = end ? formatDateSec(end) : "";
    const ok = result === "success";
    const text = ok
        ? _("Succeeded")
        : cockpit.format(_("Failed: $0"), result + (timer.LastRunExitStatus ? " (" + timer.LastRunExitStatus + ")" : ""));
    let tip = when;
    if (timer.LastRunInvocation)
        tip = cockpit.format(_("$0, log: journalctl _SYSTEMD_INVOCATION_ID=$1"), when, timer.LastRunInvocation);
    return (
        <Tooltip content={tip || text}>
            <Label color={ok ? "green" : "red"} className="last-run" data-result={result} tabIndex={0}>{text}</Label>
        </Tooltip>
    );
}
