import React, { cloneElement, forwardRef, useId, useRef, useState } from "react";
import { Tooltip } from "@patternfly/react-core";
import { css } from "@patternfly/react-styles";
import labelStyles from "@patternfly/react-styles/css/components/Label/label.mjs";
import cockpit, { _ } from "./cockpit.js";
import { ago, formatDateSec, toMs } from "./timefmt.js";

// The daemon's Status values, with the colours Cockpit uses for unit states.
export const STATUSES = {
    running: { text: _("Running"), color: "green" },
    enabled: { text: _("Enabled"), color: "blue" },
    disabled: { text: _("Disabled"), color: "grey" },
    invalid: { text: _("Invalid"), color: "red" },
};

// PatternFly's Label as markup: the component measures its text after it
// mounts, to offer a tooltip when truncated, and a thousand rows of it
// force a layout of the whole table in the middle of the first render.
// These labels are short and never truncated.
const Label = forwardRef(function Label({ color, className, children, ...props }, ref) {
    return (
        <span ref={ref} className={css(labelStyles.label, labelStyles.modifiers[color], className)} {...props}>
            <span className={labelStyles.labelContent}><span className={labelStyles.labelText}>{children}</span></span>
        </span>
    );
});

// PatternFly's Tooltip runs Popper's hooks in every instance, shown or not;
// in a table of a thousand rows it is mounted when what it describes is
// first hovered or focused, and shown at once.
export function LazyTooltip({ content, children }) {
    const ref = useRef(null);
    const id = useId();
    const [armed, setArmed] = useState(false);
    const arm = () => setArmed(true);
    return (
        <>
            {cloneElement(children, { ref, onMouseEnter: arm, onFocus: arm, "aria-describedby": armed ? id : undefined })}
            {armed && <Tooltip id={id} content={content} triggerRef={ref} isVisible />}
        </>
    );
}

// The daemon's StatusReason in words: why a timer is invalid, or that it
// is masked (beside any status). A word newer than the page shows as it is.
const REASONS = {
    "need-reload": _("changed on disk, not reloaded"),
    "bad-drop-in": _("its calendar drop-in cannot be read"),
    "not-enabled": _("a calendar drop-in without enablement"),
    "no-drop-in": _("enabled or active without its calendar drop-in"),
    "load-error": _("systemd could not load it"),
    failed: _("the timer unit failed"),
    transition: _("starting or stopping"),
};

// A masked unit can be neither enabled nor started until it is unmasked.
export const isMasked = timer => !!timer && timer.StatusReason === "masked";

// A status as a label, with its reason beside it (reason, the daemon's
// StatusReason, may be absent). A masked timer reads "Masked", as
// Cockpit's own Services page has it.
export function StatusLabel({ status, reason }) {
    if (reason === "masked")
        return <Label color="grey" className="status-label" data-status={status} data-reason={reason}>{_("Masked")}</Label>;
    const s = STATUSES[status] || { text: status, color: "orange" };
    const label = <Label color={s.color} className="status-label" data-status={status} data-reason={reason || ""}>{s.text}</Label>;
    if (!reason)
        return label;
    return (
        <>
            {label}
            <div className="status-reason pf-v5-u-font-size-sm pf-v5-u-color-200">{REASONS[reason] || reason}</div>
        </>
    );
}

// The last run of the timer's service, as the daemon mirrors it from systemd.
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
        <LazyTooltip content={tip || text}>
            <Label color={ok ? "green" : "red"} className="last-run" data-result={result} tabIndex={0}>{text}</Label>
        </LazyTooltip>
    );
}

// The outcome of a timer's last run in words, with how long ago it ended:
// "Succeeded 2 h ago", "Failed (exit 1) 1 d 3 h ago". systemd forgets a
// service's runs when the system boots, so a timer with none says so.
export function runOutcome(timer, now) {
    if (timer.Activity === "running")
        return _("Running now");
    const result = timer.LastRunResult;
    if (!result)
        return _("Not run since boot");
    const when = ago(toMs(timer.LastRunEnd || timer.LastRunStart), now);
    if (result === "success")
        return cockpit.format(_("Succeeded $0"), when);
    if (result === "exit-code" && timer.LastRunExitStatus)
        return cockpit.format(_("Failed (exit $0) $1"), timer.LastRunExitStatus, when);
    return cockpit.format(_("Failed ($0) $1"), result, when);
}
