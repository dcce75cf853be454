import React, { useCallback, useMemo, useState } from "react";
import {
    Alert, AlertActionCloseButton, AlertGroup, Button, Card, EmptyState, EmptyStateBody, EmptyStateHeader,
    EmptyStateIcon, Modal, ModalVariant, Page, PageSection, Spinner, Title,
} from "@patternfly/react-core";
import { ExclamationCircleIcon } from "@patternfly/react-icons";
import cockpit, { _ } from "./cockpit.js";
import { callManager, callSchedule, callTimer, errorText } from "./client.js";
import { useAdmin, useMinuteClock, useTimers } from "./hooks.js";
import { TimerDialog } from "./dialog.jsx";
import { fullName } from "./names.js";
import { Orphans } from "./orphans.jsx";
import { ScheduleDialog } from "./scheduleDialog.jsx";
import { SchedulesTable } from "./schedules.jsx";
import { NO_ADMIN, TimersTable } from "./table.jsx";

function Absent({ problem }) {
    return (
        <EmptyState id="service-absent">
            <EmptyStateHeader titleText={_("The snapshot schedule service is not available")} headingLevel="h2"
                              icon={<EmptyStateIcon icon={ExclamationCircleIcon} color="var(--pf-v5-global--danger-color--100)" />} />
            <EmptyStateBody>
                {_("snapm-timersd (com.redhat.Snapm.Timers on the system bus) is not installed or could not be started.")}
                {problem && <div className="pf-v5-u-mt-sm pf-v5-u-color-200">{problem}</div>}
            </EmptyStateBody>
        </EmptyState>
    );
}

function Loading() {
    return (
        <EmptyState id="loading">
            <EmptyStateHeader titleText={_("Loading schedules")} headingLevel="h2" icon={<EmptyStateIcon icon={Spinner} />} />
        </EmptyState>
    );
}

// Confirm asks before a removal (verb), saying what it does and keeps
// (text); call makes it, failed says what went wrong.
function Confirm({ id, title, text, verb, call, failed, onClose, onError }) {
    const [busy, setBusy] = useState(false);
    const confirmed = () => {
        setBusy(true);
        call().catch(ex => onError(cockpit.format(failed, errorText(ex)))).finally(onClose);
    };
    return (
        <Modal id={id + "-dialog"} variant={ModalVariant.small} isOpen onClose={onClose} titleIconVariant="warning"
               title={title}
               actions={[
                   <Button key="ok" id={id + "-confirm"} variant="danger" isLoading={busy} isDisabled={busy} onClick={confirmed}>
                       {verb}
                   </Button>,
                   <Button key="cancel" variant="link" onClick={onClose}>{_("Cancel")}</Button>,
               ]}>
            {text}
        </Modal>
    );
}

const ConfirmRemove = ({ timer, ...props }) => (
    <Confirm id="remove" verb={_("Remove")} {...props}
             title={cockpit.format(_("Remove timer $0?"), fullName(timer))}
             text={_("The timer is stopped and disabled, and its calendar drop-in is removed. Its schedule file, if it has one, and the snapshot sets it made are kept.")}
             call={() => callManager("RemoveTimer", [timer.path])}
             failed={cockpit.format(_("Could not remove $0: $1"), fullName(timer), "$0")} />
);

const ConfirmDelete = ({ schedule, ...props }) => (
    <Confirm id="delete" verb={_("Delete")} {...props}
             title={cockpit.format(_("Delete schedule $0?"), schedule.Name)}
             text={_("Its two timers are stopped and disabled and its schedule file is removed, as “snapm schedule delete” does. The snapshot sets it made are not deleted.")}
             call={() => callManager("DeleteSchedule", [schedule.path])}
             failed={cockpit.format(_("Could not delete $0: $1"), schedule.Name, "$0")} />
);

// What a schedule's menu items call, and what the user reads if it fails.
const SCHEDULE_CALLS = {
    Enable: [[true], _("Could not enable $0: $1")],
    Start: [[], _("Could not start $0: $1")],
    Stop: [[], _("Could not stop $0: $1")],
    Disable: [[], _("Could not disable $0: $1")],
};

const VERBS = {
    Enable: _("Could not enable $0: $1"),
    Start: _("Could not start $0: $1"),
    Stop: _("Could not stop $0: $1"),
    Disable: _("Could not disable $0: $1"),
    RunNow: _("Could not run $0: $1"),
};

export function App() {
    const model = useTimers();
    const admin = useAdmin();
    const now = useMinuteClock();
    const [dialog, setDialog] = useState(null);
    const [errors, setErrors] = useState([]);

    const addError = useCallback(text => setErrors(errs => [...errs, { key: Date.now() + Math.random(), text }]), []);
    const owned = useMemo(() => new Set(model.schedules.flatMap(s => [s.CreateTimer, s.GcTimer])), [model.schedules]);
    // A schedule file brings both its timers, disabled, and creating one
    // of those takes it over: only the daemon knows whether it may, and
    // says so.
    const existing = useMemo(() => new Set(model.timers.filter(t => !(owned.has(t.path) && t.Status === "disabled")).map(fullName)),
                             [owned, model.timers]);
    const scheduleNames = useMemo(() => new Set(model.schedules.map(s => s.Name)), [model.schedules]);
    // The timers no schedule names: snapm's units fail without the file.
    const orphanTimers = useMemo(() => model.timers.filter(t => !owned.has(t.path)).sort((a, b) => fullName(a).localeCompare(fullName(b))),
                                 [owned, model.timers]);
    const orphans = useMemo(() => new Set(orphanTimers.map(t => t.path)), [orphanTimers]);

    // An orphan's fixes: its schedule, made with its name (and a create
    // timer's calendar), then owns it; or it goes.
    const onFix = useCallback((timer, action) => {
        if (action === "Remove")
            setDialog({ action, timer });
        else
            setDialog({ action, initial: { name: timer.Name, spec: timer.Type === "create" ? timer.CalendarSpec : null } });
    }, []);

    const onScheduleAction = useCallback((schedule, action) => {
        if (action === "Delete" || action === "EditSchedule") {
            setDialog({ action, schedule });
            return;
        }
        const [args, failed] = SCHEDULE_CALLS[action];
        callSchedule(schedule, action, args).catch(ex => addError(cockpit.format(failed, schedule.Name, errorText(ex))));
    }, [addError]);

    const onAction = useCallback((timer, action) => {
        if (action === "Edit" || action === "Remove") {
            setDialog({ action, timer });
            return;
        }
        callTimer(timer, action).catch(ex => addError(cockpit.format(VERBS[action], fullName(timer), errorText(ex))));
    }, [addError]);

    let body;
    if (model.state === "absent")
        body = <Card><Absent problem={model.problem} /></Card>;
    else if (model.state === "loading" || admin === null)
        body = <Card><Loading /></Card>;
    else
        body = (
            <>
                <Card className="pf-v5-u-mb-lg">
                    <SchedulesTable schedules={model.schedules} timers={model.timers} admin={admin} now={now}
                                    onAction={onScheduleAction} onCreate={() => setDialog({ action: "CreateSchedule" })} />
                </Card>
                {orphanTimers.length > 0 && (
                    <Card className="pf-v5-u-mb-lg pf-v5-u-p-md">
                        <Orphans timers={orphanTimers} admin={admin} onFix={onFix} />
                    </Card>
                )}
                <Title headingLevel="h2" className="pf-v5-u-mb-sm">{_("Timers")}</Title>
                <Card>
                    <TimersTable timers={model.timers} orphans={orphans} admin={admin} now={now} onAction={onAction}
                                 onCreate={() => setDialog({ action: "Create" })} />
                </Card>
            </>
        );

    return (
        <Page>
            <PageSection variant="light">
                <Title headingLevel="h1">{_("Snapshot schedules")}</Title>
                {admin === false && model.state === "ready" &&
                    <Alert id="read-only" variant="info" isInline isPlain className="pf-v5-u-mt-sm" title={NO_ADMIN} />}
            </PageSection>
            <PageSection>
                {errors.length > 0 && (
                    <AlertGroup id="errors" className="pf-v5-u-mb-md">
                        {errors.map(e => (
                            <Alert key={e.key} variant="danger" isInline title={e.text}
                                   actionClose={<AlertActionCloseButton onClose={() => setErrors(errs => errs.filter(x => x !== e))} />} />
                        ))}
                    </AlertGroup>
                )}
                {body}
            </PageSection>
            {dialog && dialog.action === "Remove" &&
                <ConfirmRemove timer={dialog.timer} onClose={() => setDialog(null)} onError={addError} />}
            {dialog && dialog.action === "Delete" &&
                <ConfirmDelete schedule={dialog.schedule} onClose={() => setDialog(null)} onError={addError} />}
            {dialog && (dialog.action === "CreateSchedule" || dialog.action === "EditSchedule") &&
                <ScheduleDialog schedule={dialog.schedule} initial={dialog.initial} existing={scheduleNames}
                                onClose={() => setDialog(null)} />}
            {dialog && (dialog.action === "Create" || dialog.action === "Edit") &&
                <TimerDialog timer={dialog.timer} existing={existing} onClose={() => setDialog(null)} />}
        </Page>
    );
}
