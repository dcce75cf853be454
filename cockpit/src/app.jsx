import React, { useCallback, useMemo, useState } from "react";
import {
    Alert, AlertActionCloseButton, AlertGroup, Button, Card, EmptyState, EmptyStateBody, EmptyStateHeader,
    EmptyStateIcon, Modal, ModalVariant, Page, PageSection, Spinner, Title,
} from "@patternfly/react-core";
import { ExclamationCircleIcon } from "@patternfly/react-icons";
import cockpit, { _ } from "./cockpit.js";
import { callManager, callTimer, errorText } from "./client.js";
import { useAdmin, useMinuteClock, useTimers } from "./hooks.js";
import { TimerDialog } from "./dialog.jsx";
import { fullName } from "./names.js";
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

function ConfirmRemove({ timer, onClose, onError }) {
    const [busy, setBusy] = useState(false);
    const remove = () => {
        setBusy(true);
        callManager("RemoveTimer", [timer.path])
                .catch(ex => onError(cockpit.format(_("Could not remove $0: $1"), fullName(timer), errorText(ex))))
                .finally(onClose);
    };
    return (
        <Modal id="remove-dialog" variant={ModalVariant.small} isOpen onClose={onClose} titleIconVariant="warning"
               title={cockpit.format(_("Remove schedule $0?"), fullName(timer))}
               actions={[
                   <Button key="ok" id="remove-confirm" variant="danger" isLoading={busy} isDisabled={busy} onClick={remove}>
                       {_("Remove")}
                   </Button>,
                   <Button key="cancel" variant="link" onClick={onClose}>{_("Cancel")}</Button>,
               ]}>
            {_("The timer is stopped and disabled and its schedule is deleted. Existing snapshot sets are kept.")}
        </Modal>
    );
}

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
    const existing = useMemo(() => new Set(model.timers.map(fullName)), [model.timers]);

    const onAction = useCallback((timer, action) => {
        if (action === "Edit" || action === "Remove") {
            setDialog({ action, timer });
            return;
        }
        callTimer(timer, action).catch(ex => addError(cockpit.format(VERBS[action], fullName(timer), errorText(ex))));
    }, [addError]);

    let body;
    if (model.state === "absent")
        body = <Absent problem={model.problem} />;
    else if (model.state === "loading" || admin === null)
        body = <Loading />;
    else
        body = <TimersTable timers={model.timers} admin={admin} now={now} onAction={onAction}
                            onCreate={() => setDialog({ action: "Create" })} />;

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
                <Card>{body}</Card>
            </PageSection>
            {dialog && dialog.action === "Remove" &&
                <ConfirmRemove timer={dialog.timer} onClose={() => setDialog(null)} onError={addError} />}
            {dialog && (dialog.action === "Create" || dialog.action === "Edit") &&
                <TimerDialog timer={dialog.timer} existing={existing} onClose={() => setDialog(null)} />}
        </Page>
    );
}
