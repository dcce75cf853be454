// The dialog that makes a snapm schedule through the daemon's
// CreateSchedule, as `snapm schedule create` does, or with a schedule
// given changes it through its Edit, as `snapm schedule edit` does.
import React, { useState } from "react";
import {
    Alert, Button, Checkbox, Form, FormGroup, FormHelperText, FormSelect, FormSelectOption, Grid, GridItem,
    HelperText, HelperTextItem, Modal, ModalVariant, TextInput,
} from "@patternfly/react-core";
import cockpit, { _ } from "./cockpit.js";
import { callManager, callSchedule } from "./client.js";
import { CalendarField, usePreview, useSubmit } from "./dialog.jsx";
import { nameProblem } from "./names.js";
import { POLICIES } from "./retention.js";
import { EMPTY_LINE, SourcesField, specLine, specs } from "./sources.jsx";

// What a new schedule keeps unless the admin says otherwise.
const DEFAULT_PARAMS = { keep_count: 7, keep_days: 30, keep_hourly: 24, keep_daily: 7, keep_weekly: 4 };

// initial, when given, prefills a new schedule's name and calendar (spec,
// null for the default): the schedule of a timer that has none.
export function ScheduleDialog({ schedule, initial, existing, onClose }) {
    const editing = !!schedule;
    const [name, setName] = useState(editing ? schedule.Name : initial?.name ?? "");
    const [sources, setSources] = useState(editing ? schedule.Sources.map(specLine) : [EMPTY_LINE]);
    const [sizePolicy, setSizePolicy] = useState(editing ? schedule.DefaultSizePolicy : "");
    const [type, setType] = useState(editing ? schedule.GcPolicyType : "COUNT");
    const [params, setParams] = useState(editing ? { ...DEFAULT_PARAMS, ...schedule.GcPolicyParams } : DEFAULT_PARAMS);
    const [boot, setBoot] = useState(editing ? schedule.Boot : false);
    const [revert, setRevert] = useState(editing ? schedule.Revert : false);
    const [spec, setSpec] = useState(editing ? schedule.CalendarSpec : initial?.spec || "daily");
    const [touched, setTouched] = useState(false);
    const { busy, error, submit: run } = useSubmit(onClose);
    const preview = usePreview(spec);

    let problem = editing ? null : nameProblem(name);
    if (!problem && !editing && existing.has(name))
        problem = _("A schedule with this name exists already.");
    const lines = specs(sources);
    const valid = !problem && lines.length > 0 && preview.state === "ok";

    const submit = () => {
        const options = {
            policy_type: { t: "s", v: type },
            boot: { t: "b", v: boot },
            revert: { t: "b", v: revert },
        };
        for (const [key] of POLICIES[type].keys)
            options[key] = { t: "u", v: Number(params[key] || 0) };
        // A policy left empty is snapm's default; one emptied is asked for.
        if (sizePolicy.trim() !== "" || (editing && schedule.DefaultSizePolicy !== ""))
            options.default_size_policy = { t: "s", v: sizePolicy.trim() };
        if (editing) {
            options.sources = { t: "as", v: lines };
            options.calendarspec = { t: "s", v: spec };
            run(() => callSchedule(schedule, "Edit", [options]));
        } else {
            run(() => callManager("CreateSchedule", [name, lines, spec, options]));
        }
    };

    const nameShown = touched || name !== "";
    return (
        <Modal id="schedule-dialog" variant={ModalVariant.medium} isOpen onClose={onClose}
               title={editing ? cockpit.format(_("Edit schedule $0"), schedule.Name) : _("Create schedule")}
               actions={[
                   <Button key="ok" id="schedule-submit" variant="primary" isDisabled={!valid || busy} isLoading={busy}
                           onClick={submit}>
                       {editing ? _("Save") : _("Create")}
                   </Button>,
                   <Button key="cancel" variant="link" onClick={onClose}>{_("Cancel")}</Button>,
               ]}>
            {error && <Alert id="schedule-error" variant="danger" isInline title={error} className="pf-v5-u-mb-md" />}
            <Form isHorizontal onSubmit={ev => { ev.preventDefault(); if (valid && !busy) submit(); }}>
                <FormGroup label={_("Name")} fieldId="schedule-name" isRequired>
                    <TextInput id="schedule-name" value={name} isDisabled={editing} onBlur={() => setTouched(true)}
                               validated={nameShown && problem ? "error" : "default"}
                               onChange={(_e, v) => setName(v)} aria-describedby="schedule-name-help" />
                    <FormHelperText>
                        <HelperText id="schedule-name-help">
                            {nameShown && problem
                                ? <HelperTextItem variant="error" hasIcon>{problem}</HelperTextItem>
                                : <HelperTextItem>{_("Also the name of the snapshot sets it makes.")}</HelperTextItem>}
                        </HelperText>
                    </FormHelperText>
                </FormGroup>
                <SourcesField lines={sources} setLines={setSources} />
                <FormGroup label={_("Default size policy")} fieldId="schedule-size-policy">
                    <TextInput id="schedule-size-policy" value={sizePolicy} onChange={(_e, v) => setSizePolicy(v)}
                               placeholder={_("snapm's default")} />
                </FormGroup>
                <FormGroup label={_("Retention")} fieldId="schedule-policy">
                    <FormSelect id="schedule-policy" value={type} onChange={(_e, v) => setType(v)}>
                        {Object.keys(POLICIES).map(p => <FormSelectOption key={p} value={p} label={POLICIES[p].title} />)}
                    </FormSelect>
                    {POLICIES[type].keys.length > 0 && (
                        <Grid hasGutter className="pf-v5-u-mt-sm">
                            {POLICIES[type].keys.map(([key, label]) => (
                                <GridItem key={key} span={4}>
                                    <label htmlFor={"schedule-" + key}>{label}</label>
                                    <TextInput id={"schedule-" + key} type="number" min={0}
                                               value={params[key] ?? 0}
                                               onChange={(_e, v) => setParams(p => ({ ...p, [key]: v }))} />
                                </GridItem>
                            ))}
                        </Grid>
                    )}
                </FormGroup>
                <FormGroup label={_("Boot")} fieldId="schedule-boot" isStack>
                    <Checkbox id="schedule-boot" label={_("Make a boot entry for each snapshot set")} isChecked={boot}
                              onChange={(_e, v) => setBoot(v)} />
                    <Checkbox id="schedule-revert" label={_("Make a revert entry for each snapshot set")} isChecked={revert}
                              onChange={(_e, v) => setRevert(v)} />
                </FormGroup>
                <CalendarField spec={spec} setSpec={setSpec} preview={preview} />
                <div className="pf-v5-u-color-200">
                    {_("Snapshot sets beyond the retention are cleaned up every hour, at ten minutes past.")}
                </div>
            </Form>
        </Modal>
    );
}
