// The snapm schedules: one row each, expanding to its two timers.
import React, { useMemo, useState } from "react";
import {
    DropdownItem, DropdownList, Divider, EmptyState, EmptyStateActions, EmptyStateBody, EmptyStateFooter,
    EmptyStateHeader, EmptyStateIcon, Pagination, Toolbar, ToolbarContent, ToolbarItem,
} from "@patternfly/react-core";
import { ExpandableRowContent, Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";
import { CalendarAltIcon } from "@patternfly/react-icons";
import cockpit, { _ } from "./cockpit.js";
import { retentionText } from "./retention.js";
import { isMasked, LastRun, runOutcome, StatusLabel } from "./status.jsx";
import { CreateButton, DisabledKebab, RowActions, time, UNMASK_FIRST } from "./table.jsx";
import { formatDate, relative, toMs } from "./timefmt.js";

// A schedule's state as snapm computes it, in the timers' words.
export const scheduleStatus = s => s.Running ? "running" : s.Enabled ? "enabled" : "disabled";

// The actions that make sense in a state, in menu order.
const ACTIONS = {
    disabled: [["Enable", _("Enable")]],
    enabled: [["Start", _("Start")], ["Disable", _("Disable")]],
    running: [["Stop", _("Stop")], ["Disable", _("Disable")]],
};

const PER_PAGE = 20;
const PER_PAGE_OPTIONS = [20, 50, 100, 500].map(n => ({ title: String(n), value: n }));

const collator = new Intl.Collator();

// The service a timer starts, whose runs and logs are the timer's.
const serviceOf = unit => unit.replace(/\.timer$/, ".service");

function jump(ev, path) {
    ev.preventDefault();
    cockpit.jump(path);
}

// Cockpit's logs page, at the timer's last run: the lines its service's
// processes logged in that run (the page takes upper-case options as
// journal matches, ANDed; its service option would OR in the unit's other
// runs), from a second before the run began (the page's default is the
// last 24 hours). Without a run, the service's logs.
function logsPath(timer) {
    if (!timer.LastRunInvocation)
        return "/system/logs#/?prio=debug&service=" + encodeURIComponent(serviceOf(timer.Unit));
    const since = Math.floor(toMs(timer.LastRunStart || timer.LastRunEnd) / 1000) - 1;
    return "/system/logs#/?prio=debug&since=" + encodeURIComponent("@" + since) +
        "&_SYSTEMD_INVOCATION_ID=" + encodeURIComponent(timer.LastRunInvocation);
}

// When a timer fires next, in one line; a dash when it will not.
function nextRun(timer, now) {
    if (timer.Status !== "running" || !timer.NextElapse)
        return "—";
    const ms = toMs(timer.NextElapse);
    return cockpit.format("$0 ($1)", formatDate(ms), relative(ms, now));
}

// A timer of a schedule: its unit, state and runs, with links to Cockpit's
// own page of the unit and to its logs.
function TimerLine({ title, timer, now }) {
    if (!timer)
        return <div className="schedule-timer pf-v5-u-color-200">{cockpit.format(_("$0: no timer"), title)}</div>;
    const logs = logsPath(timer);
    return (
        <div className="schedule-timer" data-unit={timer.Unit}>
            <div className="schedule-timer-name">
                <strong>{title}</strong> <code>{timer.Unit}</code> <StatusLabel status={timer.Status} reason={timer.StatusReason} />
            </div>
            <div className="schedule-timer-detail">
                <span className="timer-next">{_("Next run:")} {nextRun(timer, now)}</span>
                <span>{_("Last run:")} <LastRun timer={timer} /></span>
                <a className="unit-link" href={"/system/services#/" + encodeURIComponent(timer.Unit)}
                   onClick={ev => jump(ev, "/system/services#/" + encodeURIComponent(timer.Unit))}>
                    {_("Timer unit")}
                </a>
                <a className="logs-link" href={logs} onClick={ev => jump(ev, logs)}>
                    {timer.LastRunInvocation ? _("Logs of the last run") : _("Logs")}
                </a>
            </div>
        </div>
    );
}

// The last run of one of a schedule's timers, in words, in its row.
function RunLine({ className, title, timer, now }) {
    return (
        <div className={className} data-result={timer ? timer.LastRunResult : ""}>
            <span className="pf-v5-u-color-200">{title}</span> {timer ? runOutcome(timer, now) : _("no timer")}
        </div>
    );
}

// A schedule's menu; masked says one of its timers is masked, which
// systemd will neither enable nor start.
function ScheduleMenu({ schedule, masked, choose }) {
    const item = (action, title, props) => (
        <DropdownItem key={action} onClick={() => choose(action)} {...props}>{title}</DropdownItem>
    );
    return (
        <DropdownList>
            {ACTIONS[scheduleStatus(schedule)].filter(([a]) => !masked || !UNMASK_FIRST.has(a)).map(([a, title]) => item(a, title))}
            {item("EditSchedule", _("Edit schedule"))}
            <Divider component="li" key="separator" />
            {item("Delete", _("Delete"), { isDanger: true })}
        </DropdownList>
    );
}

function ScheduleRow({ s, index, timers, admin, now, onAction }) {
    const [expanded, setExpanded] = useState(false);
    const status = scheduleStatus(s);
    const own = [timers.get(s.CreateTimer), timers.get(s.GcTimer)];
    const masked = own.some(isMasked);
    // The first of its timers' reasons: what is wrong with the schedule.
    const reason = own.map(t => t?.StatusReason).find(Boolean);
    return (
        <Tbody isExpanded={expanded} data-schedule={s.Name}>
            <Tr>
                <Td expand={{ rowIndex: index, isExpanded: expanded, onToggle: () => setExpanded(!expanded) }} />
                <Td dataLabel={_("Name")} className="schedule-name">{s.Name}</Td>
                <Td dataLabel={_("Sources")} className="schedule-sources">
                    {s.Sources.map(src => <div key={src}>{src}</div>)}
                </Td>
                <Td dataLabel={_("Calendar")}><span className="timer-spec schedule-spec">{s.CalendarSpec}</span></Td>
                <Td dataLabel={_("Next run")} className="schedule-next">
                    {time(s.Running ? s.NextElapse : 0, now, "")}
                </Td>
                <Td dataLabel={_("Retention")} className="schedule-retention">
                    {retentionText(s.GcPolicyType, s.GcPolicyParams)}
                </Td>
                <Td dataLabel={_("Status")} className="schedule-status"><StatusLabel status={status} reason={reason} /></Td>
                <Td dataLabel={_("Last runs")} className="schedule-runs">
                    <RunLine className="schedule-run-create" title={_("Snapshots:")} timer={timers.get(s.CreateTimer)} now={now} />
                    <RunLine className="schedule-run-gc" title={_("Cleanup:")} timer={timers.get(s.GcTimer)} now={now} />
                </Td>
                <Td isActionCell>
                    {admin
                        ? <RowActions menu={choose => <ScheduleMenu schedule={s} masked={masked} choose={choose} />}
                                      onAction={a => onAction(s, a)} />
                        : <DisabledKebab />}
                </Td>
            </Tr>
            <Tr isExpanded={expanded}>
                <Td colSpan={9}>
                    {expanded && (
                        <ExpandableRowContent>
                            <TimerLine title={_("Snapshots")} timer={timers.get(s.CreateTimer)} now={now} />
                            <TimerLine title={_("Cleanup")} timer={timers.get(s.GcTimer)} now={now} />
                            <div className="schedule-extras pf-v5-u-color-200">
                                {[s.Boot ? _("Makes a boot entry for each snapshot set.") : null,
                                    s.Revert ? _("Makes a revert entry for each snapshot set.") : null,
                                    s.DefaultSizePolicy ? cockpit.format(_("Default size policy: $0."), s.DefaultSizePolicy) : null]
                                        .filter(Boolean).join(" ")}
                            </div>
                        </ExpandableRowContent>
                    )}
                </Td>
            </Tr>
        </Tbody>
    );
}

const CreateScheduleButton = props => (
    <CreateButton id="create-schedule" variant="primary" title={_("Create schedule")} {...props} />
);

export function SchedulesTable({ schedules, timers, admin, now, onAction, onCreate }) {
    const [page, setPage] = useState(1);
    const [perPage, setPerPage] = useState(PER_PAGE);
    const byPath = useMemo(() => new Map(timers.map(t => [t.path, t])), [timers]);
    const rows = useMemo(() => [...schedules].sort((a, b) => collator.compare(a.Name, b.Name)), [schedules]);

    if (schedules.length === 0) {
        return (
            <EmptyState id="no-schedules">
                <EmptyStateHeader titleText={_("No snapshot schedules")} headingLevel="h2"
                                  icon={<EmptyStateIcon icon={CalendarAltIcon} />} />
                <EmptyStateBody>
                    {_("A schedule takes snapshot sets of its sources on a calendar and cleans up old ones by its retention policy.")}
                </EmptyStateBody>
                <EmptyStateFooter>
                    <EmptyStateActions><CreateScheduleButton admin={admin} onCreate={onCreate} /></EmptyStateActions>
                </EmptyStateFooter>
            </EmptyState>
        );
    }

    const last = Math.max(1, Math.ceil(rows.length / perPage));
    const current = Math.min(page, last);
    return (
        <>
            <Toolbar>
                <ToolbarContent>
                    <ToolbarItem><CreateScheduleButton admin={admin} onCreate={onCreate} /></ToolbarItem>
                    <ToolbarItem variant="pagination">
                        <Pagination id="schedules-pagination" widgetId="schedules-pages" isCompact itemCount={rows.length}
                                    page={current} perPage={perPage} perPageOptions={PER_PAGE_OPTIONS}
                                    titles={{ paginationAriaLabel: _("Pages of schedules") }}
                                    onSetPage={(_e, p) => setPage(p)} onPerPageSelect={(_e, n, p) => { setPerPage(n); setPage(p) }} />
                    </ToolbarItem>
                </ToolbarContent>
            </Toolbar>
            <Table id="schedules" aria-label={_("Snapshot schedules")} variant="compact" isExpandable>
                <Thead>
                    <Tr>
                        <Th screenReaderText={_("Details")} />
                        <Th>{_("Name")}</Th>
                        <Th>{_("Sources")}</Th>
                        <Th>{_("Calendar")}</Th>
                        <Th>{_("Next run")}</Th>
                        <Th>{_("Retention")}</Th>
                        <Th>{_("Status")}</Th>
                        <Th>{_("Last runs")}</Th>
                        <Th screenReaderText={_("Actions")} />
                    </Tr>
                </Thead>
                {rows.slice((current - 1) * perPage, current * perPage).map((s, i) => (
                    <ScheduleRow key={s.path} s={s} index={i} timers={byPath} admin={admin} now={now} onAction={onAction} />
                ))}
            </Table>
        </>
    );
}
