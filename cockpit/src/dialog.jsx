import React, { useEffect, useState } from "react";
import {
    Alert, Button, Checkbox, Form, FormGroup, FormHelperText, FormSelect, FormSelectOption, HelperText,
    HelperTextItem, List, ListItem, Modal, ModalVariant, Spinner, TextInput, ToggleGroup, ToggleGroupItem,
} from "@patternfly/react-core";
import cockpit, { _ } from "./cockpit.js";
import { callManager, callTimer, createTimer, errorText } from "./client.js";
import { nameProblem, TYPES } from "./names.js";
import { formatRun, toMs } from "./timefmt.js";

const PRESETS = ["hourly", "daily", "weekly", "monthly"];
const PREVIEW_RUNS = 5;
const DEBOUNCE_MS = 300;

// usePreview asks the daemon's ParseCalendar about spec once the user has
// paused typing; answers to older text are dropped.
export function usePreview(spec) {
    const [preview, setPreview] = useState({ state: "pending" });
    useEffect(() => {
        if (spec.trim() === "") {
            setPreview({ state: "error", message: _("Enter a calendar expression.") });
            return;
        }
        let stale = false;
        setPreview({ state: "pending" });
        const id = window.setTimeout(() => {
            callManager("ParseCalendar", [spec, PREVIEW_RUNS])
                    .then(([normalized, elapses]) => {
                        if (!stale)
                            setPreview({ state: "ok", normalized, elapses });
                    })
                    .catch(ex => {
                        if (!stale)
                            setPreview({ state: "error", message: errorText(ex) });
                    });
        }, DEBOUNCE_MS);
        return () => {
            stale = true;
            window.clearTimeout(id);
        };
    }, [spec]);
    return preview;
}

function Preview({ preview }) {
    if (preview.state === "pending")
        return <Spinner size="md" aria-label={_("Checking the expression")} />;
    if (preview.state === "error")
        return (
            <HelperText id="preview-error">
                <HelperTextItem variant="error" hasIcon>{preview.message}</HelperTextItem>
            </HelperText>
        );
    return (
        <div id="preview">
            <div>{_("Normalized:")} <code id="preview-normalized">{preview.normalized}</code></div>
            {preview.elapses.length === 0
                ? <div className="pf-v5-u-color-200">{_("It never runs: no time matches in the future.")}</div>
                : (
                    <>
                        <div>{cockpit.format(_("Next $0 runs:"), preview.elapses.length)}</div>
                        <List id="preview-runs" isPlain>
                            {preview.elapses.map(us => <ListItem key={us} data-usec={us}>{formatRun(toMs(us))}</ListItem>)}
                        </List>
                    </>
                )}
        </div>
    );
}

// useSubmit runs a dialog's change: busy meanwhile, closed when done, and
// open with the daemon's message when it fails.
export function useSubmit(onClose) {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState(null);
    const submit = async change => {
        setBusy(true);
        setError(null);
        try {
            await change();
        } catch (ex) {
            setError(errorText(ex));
            setBusy(false);
            return;
        }
        onClose();
    };
    return { busy, error, submit };
}

// CalendarField asks for a calendar expression, with presets and the
// daemon's preview of its next runs.
export function CalendarField({ spec, setSpec, preview }) {
    return (
        <FormGroup label={_("Calendar")} fieldId="timer-spec" isRequired>
            <ToggleGroup aria-label={_("Calendar presets")} className="pf-v5-u-mb-sm">
                {PRESETS.map(p => (
                    <ToggleGroupItem key={p} text={p} buttonId={"preset-" + p}
                                     isSelected={spec === p} onChange={() => setSpec(p)} />
                ))}
            </ToggleGroup>
            <TextInput id="timer-spec" value={spec} onChange={(_e, v) => setSpec(v)}
                       validated={preview.state === "error" ? "error" : "default"}
                       aria-describedby="timer-spec-help" />
            <FormHelperText>
                <HelperText id="timer-spec-help">
                    <HelperTextItem>{_("A systemd calendar expression, e.g. “Mon..Fri 08:00” or “*-*-01 00:00:00”.")}</HelperTextItem>
                </HelperText>
            </FormHelperText>
            <div className="pf-v5-u-mt-sm" aria-live="polite"><Preview preview={preview} /></div>
        </FormGroup>
    );
}

// TimerDialog adds a timer to a schedule, or with timer given edits its
// calendar.
export function TimerDialog({ timer, existing, onClose }) {
    const editing = !!timer;
    const [type, setType] = useState(editing ? timer.Type : "create");
    const [name, setName] = useState(editing ? timer.Name : "");
    const [spec, setSpec] = useState(editing ? timer.CalendarSpec : "daily");
    const [start, setStart] = useState(true);
    const [touched, setTouched] = useState(false);
    const { busy, error, submit: run } = useSubmit(onClose);
    const preview = usePreview(spec);

    let problem = editing ? null : nameProblem(name);
    if (!problem && !editing && existing.has(type + "/" + name))
        problem = _("A schedule of this type with this name exists already.");
    const valid = !problem && preview.state === "ok";

    const submit = () => run(() => editing
        ? callTimer(timer, "SetCalendarSpec", [spec])
        : createTimer(type, name, spec, start));

    const nameShown = touched || name !== "";
    return (
        <Modal id="timer-dialog" variant={ModalVariant.medium} isOpen onClose={onClose}
               title={editing ? cockpit.format(_("Edit schedule $0/$1"), timer.Type, timer.Name) : _("Add timer")}
               actions={[
                   <Button key="ok" id="dialog-submit" variant="primary" isDisabled={!valid || busy} isLoading={busy}
                           onClick={submit}>
                       {editing ? _("Save") : _("Add")}
                   </Button>,
                   <Button key="cancel" variant="link" onClick={onClose}>{_("Cancel")}</Button>,
               ]}>
            {error && <Alert id="dialog-error" variant="danger" isInline title={error} className="pf-v5-u-mb-md" />}
            <Form isHorizontal onSubmit={ev => { ev.preventDefault(); if (valid && !busy) submit(); }}>
                <FormGroup label={_("Type")} fieldId="timer-type">
                    <FormSelect id="timer-type" value={type} isDisabled={editing} onChange={(_e, v) => setType(v)}>
                        {TYPES.map(t => (
                            <FormSelectOption key={t} value={t}
                                              label={t === "create" ? _("create: make snapshot sets") : _("gc: clean up snapshot sets")} />
                        ))}
                    </FormSelect>
                </FormGroup>
                <FormGroup label={_("Name")} fieldId="timer-name" isRequired>
                    <TextInput id="timer-name" value={name} isDisabled={editing} onBlur={() => setTouched(true)}
                               validated={nameShown && problem ? "error" : "default"}
                               onChange={(_e, v) => setName(v)} aria-describedby="timer-name-help" />
                    <FormHelperText>
                        <HelperText id="timer-name-help">
                            {nameShown && problem
                                ? <HelperTextItem variant="error" hasIcon>{problem}</HelperTextItem>
                                : <HelperTextItem>{_("Letters, digits and “:”, “_”, “.”, “-”; up to 234 characters.")}</HelperTextItem>}
                        </HelperText>
                    </FormHelperText>
                </FormGroup>
                <CalendarField spec={spec} setSpec={setSpec} preview={preview} />
                {!editing && (
                    <FormGroup fieldId="timer-start">
                        <Checkbox id="timer-start" label={_("Enable and start it now")} isChecked={start}
                                  onChange={(_e, v) => setStart(v)} />
                    </FormGroup>
                )}
            </Form>
        </Modal>
    );
}
