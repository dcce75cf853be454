// The timers no schedule names (made by hand, or left by an older tool):
// snapm's services fail without the schedule's file. Listed apart, each
// with the two actions that fix it: make the schedule for it, which then
// owns the timer, or remove the timer.
import React from "react";
import { Alert, Button, Title } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { _ } from "./cockpit.js";
import { fullName } from "./names.js";
import { StatusLabel } from "./status.jsx";
import { CreateButton, ORPHAN } from "./table.jsx";

// onFix(timer, action): action is "CreateSchedule" or "Remove".
export function Orphans({ timers, admin, onFix }) {
    return (
        <>
            <Title headingLevel="h2" className="pf-v5-u-mb-sm">{_("Timers without a schedule")}</Title>
            <Alert variant="warning" isInline isPlain className="pf-v5-u-mb-sm" title={ORPHAN} />
            <Table id="orphans" aria-label={_("Timers without a schedule")} variant="compact">
                <Thead>
                    <Tr>
                        <Th>{_("Timer")}</Th>
                        <Th>{_("Calendar")}</Th>
                        <Th>{_("Status")}</Th>
                        <Th screenReaderText={_("Actions")} />
                    </Tr>
                </Thead>
                <Tbody>
                    {timers.map(t => (
                        <Tr key={t.path} data-orphan={fullName(t)}>
                            <Td dataLabel={_("Timer")}>{fullName(t)} <code>{t.Unit}</code></Td>
                            <Td dataLabel={_("Calendar")}><span className="timer-spec">{t.CalendarSpec}</span></Td>
                            <Td dataLabel={_("Status")}><StatusLabel status={t.Status} reason={t.StatusReason} /></Td>
                            <Td isActionCell className="orphan-actions">
                                <CreateButton className="orphan-create" variant="secondary" title={_("Create its schedule")}
                                              admin={admin} onCreate={() => onFix(t, "CreateSchedule")} />
                                {" "}
                                {admin
                                    ? <Button className="orphan-remove" variant="link" isDanger onClick={() => onFix(t, "Remove")}>{_("Remove timer")}</Button>
                                    : null}
                            </Td>
                        </Tr>
                    ))}
                </Tbody>
            </Table>
        </>
    );
}
