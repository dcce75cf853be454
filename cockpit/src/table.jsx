import React, { memo, useEffect, useMemo, useRef, useState } from "react";
import {
    Button, Divider, Dropdown, DropdownItem, DropdownList, EmptyState, EmptyStateActions, EmptyStateBody,
    EmptyStateFooter, EmptyStateHeader, EmptyStateIcon, FormSelect, FormSelectOption, MenuToggle, Pagination,
    SearchInput, Toolbar, ToolbarContent, ToolbarItem, Tooltip,
} from "@patternfly/react-core";
import { Table, Tbody, Th, Thead, Tr } from "@patternfly/react-table";
import { css } from "@patternfly/react-styles";
import tableStyles from "@patternfly/react-styles/css/components/Table/table.mjs";
import { CalendarAltIcon, EllipsisVIcon, SearchIcon } from "@patternfly/react-icons";
import cockpit, { _ } from "./cockpit.js";
import { fullName } from "./names.js";
import { isMasked, LastRun, LazyTooltip, STATUSES, StatusLabel } from "./status.jsx";
import { formatDate, relative, toMs } from "./timefmt.js";

export const NO_ADMIN = _("Administrative access is needed to change snapshot schedules.");
export const ORPHAN = _("Not a snapm schedule: it will fail when it fires.");

// The actions that make sense for a status, in menu order.
const ACTIONS = {
    disabled: ["Enable"],
    enabled: ["Start", "Disable"],
    running: ["Stop", "Disable"],
    invalid: ["Enable", "Disable"],
};
// What systemd refuses for a masked unit: the menu leaves them out, the
// label says Masked.
export const UNMASK_FIRST = new Set(["Enable", "Start"]);
const ACTION_TITLES = {
    Enable: _("Enable"),
    Start: _("Start"),
    Stop: _("Stop"),
    Disable: _("Disable"),
};

// A time and how far it is from now, or none when there is no time.
export function time(usec, now, none) {
    if (!usec)
        return <span className="pf-v5-u-color-200">{none}</span>;
    const ms = toMs(usec);
    return (
        <>
            <div>{formatDate(ms)}</div>
            <div className="pf-v5-u-color-200 pf-v5-u-font-size-sm">{relative(ms, now)}</div>
        </>
    );
}

const byText = key => t => t[key] || "";
const COLUMNS = [
    { title: _("Schedule"), key: t => t.Type + "/" + t.Name },
    { title: _("Calendar"), key: byText("CalendarSpec") },
    { title: _("Status"), key: byText("Status") },
    // Only a running timer fires: systemd computes a next elapse for a
    // stopped one too.
    { title: _("Next run"), key: t => (t.Status === "running" && t.NextElapse) || Number.MAX_SAFE_INTEGER },
    { title: _("Last trigger"), key: t => t.LastTrigger || 0 },
    { title: _("Last run"), key: t => t.LastRunEnd || t.LastRunStart || 0 },
];

const collator = new Intl.Collator();

function compare(a, b) {
    return typeof a === "number" ? a - b : collator.compare(a, b);
}

// A timer row's menu, built when it opens.
function MenuItems({ timer, choose }) {
    const item = (action, title, props) => (
        <DropdownItem key={action} onClick={() => choose(action)} {...props}>{title}</DropdownItem>
    );
    return (
        <DropdownList>
            {(ACTIONS[timer.Status] || []).filter(m => !isMasked(timer) || !UNMASK_FIRST.has(m))
                    .map(m => item(m, ACTION_TITLES[m]))}
            {item("Edit", _("Edit schedule"))}
            {timer.Activity !== "running" && item("RunNow", _("Run now"))}
            <Divider component="li" key="separator" />
            {item("Remove", _("Remove"), { isDanger: true })}
        </DropdownList>
    );
}

// The row's kebab. PatternFly's Dropdown runs Popper's hooks in every row,
// open or not, which with a thousand rows is most of the first render; so
// a row has only its toggle until the pointer or the focus first reaches
// it, or it is clicked. The menu shows only once its Popper has mounted
// (onMount): opened sooner, in the render that mounts it, Popper never
// places it, and it stays where the cell put it, past the frame's edge. It
// opens with focus on its first item and gives focus back to the toggle on
// a choice or Escape, as PatternFly's keyboard pattern has it (the first
// item is focused here, not by Dropdown's shouldFocusFirstItemOnOpen, which
// acts only on a click that finds the menu mounted), and is kept inside the
// frame. menu(choose) is the menu's list; choose(action) closes the menu
// and runs the action.
export function RowActions({ menu, onAction }) {
    const toggle = useRef(null);
    const list = useRef(null);
    const [open, setOpen] = useState(false);
    const [used, setUsed] = useState(false);
    const [mounted, setMounted] = useState(false);
    const use = () => setUsed(true);
    const choose = action => {
        setOpen(false);
        onAction(action);
    };
    const shown = open && mounted;
    useEffect(() => {
        if (shown)
            list.current?.querySelector("li button:not(:disabled)")?.focus({ preventScroll: true });
    }, [shown]);
    return (
        <>
            <MenuToggle ref={toggle} variant="plain" aria-label={_("Actions")} isExpanded={shown}
                        onMouseEnter={use} onFocus={use} onClick={() => { use(); setOpen(!shown) }}>
                <EllipsisVIcon />
            </MenuToggle>
            {used && (
                <Dropdown ref={list} isOpen={shown} onOpenChange={setOpen} toggle={{ toggleRef: toggle, toggleNode: null }}
                          shouldFocusToggleOnSelect
                          popperProps={{ position: "end", preventOverflow: true, onMount: () => setMounted(true) }}>
                    {menu(choose)}
                </Dropdown>
            )}
        </>
    );
}

export function DisabledKebab() {
    return (
        <LazyTooltip content={NO_ADMIN}>
            <Button variant="plain" isAriaDisabled aria-label={_("Actions")} className="disabled-actions">
                <EllipsisVIcon />
            </Button>
        </LazyTooltip>
    );
}

// Rows per page. A thousand rows take seconds to render and lay out on a
// small machine. A page of 20, more than a screen, draws in half the time
// of one of 50, a good part of the time to the first table of many
// timers; the name filter finds any schedule, and the user may choose up
// to 500 a page.
const PER_PAGE = 20;
const PER_PAGE_OPTIONS = [20, 50, 100, 500].map(n => ({ title: String(n), value: n }));

// The timers, each schedule's two and those of no schedule (orphans, a
// set of paths), marked as such.
export function TimersTable({ timers, orphans, admin, now, onAction, onCreate }) {
    const [filter, setFilter] = useState("");
    const [status, setStatus] = useState("all");
    const [sortBy, setSortBy] = useState({ index: 0, direction: "asc" });
    const [page, setPage] = useState(1);
    const [perPage, setPerPage] = useState(PER_PAGE);

    const rows = useMemo(() => {
        const needle = filter.toLowerCase();
        const shown = timers.filter(t => (status === "all" || t.Status === status) &&
                                         (!needle || fullName(t).toLowerCase().includes(needle)));
        // Each timer's keys are made once, not at each of the thousands of
        // comparisons a sort of a thousand timers makes.
        const key = COLUMNS[sortBy.index].key;
        const sign = sortBy.direction === "asc" ? 1 : -1;
        return shown.map(t => ({ t, key: key(t), name: fullName(t) }))
                .sort((a, b) => sign * (compare(a.key, b.key) || compare(a.name, b.name)))
                .map(k => k.t);
    }, [timers, filter, status, sortBy]);

    if (timers.length === 0) {
        return (
            <EmptyState id="empty-state">
                <EmptyStateHeader titleText={_("No timers")} headingLevel="h2"
                                  icon={<EmptyStateIcon icon={CalendarAltIcon} />} />
                <EmptyStateBody>
                    {_("Each schedule has two timers: create makes its snapshot sets, gc cleans them up.")}
                </EmptyStateBody>
                <EmptyStateFooter>
                    <EmptyStateActions>
                        <AddTimerButton admin={admin} onCreate={onCreate} />
                    </EmptyStateActions>
                </EmptyStateFooter>
            </EmptyState>
        );
    }

    // A new filter or order starts again at the first page; a page that
    // removals emptied shows the last one.
    const refine = (set, value) => {
        set(value);
        setPage(1);
    };
    const clear = () => {
        setFilter("");
        setStatus("all");
        setPage(1);
    };
    const last = Math.max(1, Math.ceil(rows.length / perPage));
    const current = Math.min(page, last);
    const pageRows = rows.slice((current - 1) * perPage, current * perPage);
    const pagination = variant => (
        <Pagination id={"timers-pagination-" + variant} widgetId="timers-pages" variant={variant} isCompact={variant === "top"}
                    itemCount={rows.length} page={current} perPage={perPage} perPageOptions={PER_PAGE_OPTIONS}
                    titles={{ paginationAriaLabel: variant === "top" ? _("Pages, at the top") : _("Pages, at the bottom") }}
                    onSetPage={(_e, p) => setPage(p)} onPerPageSelect={(_e, n, p) => { setPerPage(n); setPage(p) }} />
    );

    return (
        <>
            <Toolbar clearAllFilters={clear}>
                <ToolbarContent>
                    <ToolbarItem>
                        <SearchInput id="filter-name" aria-label={_("Filter by name")} placeholder={_("Filter by name")}
                                     value={filter} onChange={(_e, v) => refine(setFilter, v)} onClear={() => refine(setFilter, "")} />
                    </ToolbarItem>
                    <ToolbarItem>
                        <FormSelect id="filter-status" aria-label={_("Filter by status")} value={status}
                                    onChange={(_e, v) => refine(setStatus, v)}>
                            <FormSelectOption value="all" label={_("All statuses")} />
                            {Object.keys(STATUSES).map(s => <FormSelectOption key={s} value={s} label={STATUSES[s].text} />)}
                        </FormSelect>
                    </ToolbarItem>
                    <ToolbarItem align={{ default: "alignRight" }}>
                        <AddTimerButton admin={admin} onCreate={onCreate} />
                    </ToolbarItem>
                    <ToolbarItem variant="pagination">{pagination("top")}</ToolbarItem>
                </ToolbarContent>
            </Toolbar>
            {rows.length === 0
                ? (
                    <EmptyState id="no-match">
                        <EmptyStateHeader titleText={_("No matching schedules")} headingLevel="h2"
                                          icon={<EmptyStateIcon icon={SearchIcon} />} />
                        <EmptyStateFooter>
                            <Button variant="link" onClick={clear}>{_("Clear filters")}</Button>
                        </EmptyStateFooter>
                    </EmptyState>
                )
                : (
                    <>
                        <Table id="timers" aria-label={_("Snapshot schedules")} variant="compact">
                            <Thead>
                                <Tr>
                                    {COLUMNS.map((c, i) => (
                                        <Th key={c.title} sort={{
                                            sortBy,
                                            columnIndex: i,
                                            onSort: (_e, index, direction) => refine(setSortBy, { index, direction }),
                                        }}>{c.title}</Th>
                                    ))}
                                    <Th screenReaderText={_("Actions")} />
                                </Tr>
                            </Thead>
                            <Tbody>
                                {pageRows.map(t => (
                                    <Row key={t.path} t={t} orphan={orphans.has(t.path)} admin={admin} now={now}
                                         onAction={onAction} />
                                ))}
                            </Tbody>
                        </Table>
                        {pagination("bottom")}
                    </>
                )}
        </>
    );
}

// A body cell as PatternFly's Td renders it. Td itself, in each of the
// 140 cells of a page of 20 rows, runs its decorators and measures its cell
// after every render (offsetWidth, for a tooltip when truncated), which
// forced a layout of the whole table before its first paint; these cells
// are never truncated.
function cell(label, className, content) {
    return <td className={css(tableStyles.tableTd, className)} data-label={label}>{content}</td>;
}

// A row re-renders only when its timer, the clock or the access changes.
const Row = memo(function Row({ t, orphan, admin, now, onAction }) {
    return (
        <tr className={tableStyles.tableTr} data-timer={fullName(t)}>
            {cell(COLUMNS[0].title, "timer-name", (
                <>
                    {fullName(t)}
                    {orphan && <div className="timer-orphan pf-v5-u-danger-color-100 pf-v5-u-font-size-sm">{ORPHAN}</div>}
                </>
            ))}
            {cell(COLUMNS[1].title, null,
                  <span className="timer-spec" title={cockpit.format(_("Normalized: $0"), t.Normalized)}>{t.CalendarSpec}</span>)}
            {cell(COLUMNS[2].title, null, <StatusLabel status={t.Status} reason={t.StatusReason} />)}
            {cell(COLUMNS[3].title, "timer-next", time(t.Status === "running" ? t.NextElapse : 0, now, _("Never")))}
            {cell(COLUMNS[4].title, "timer-last", time(t.LastTrigger, now, _("Never")))}
            {cell(COLUMNS[5].title, null, <LastRun timer={t} />)}
            {cell(null, tableStyles.tableAction,
                  admin
                      ? <RowActions menu={choose => <MenuItems timer={t} choose={choose} />} onAction={a => onAction(t, a)} />
                      : <DisabledKebab />)}
        </tr>
    );
});

// A create button, a disabled one saying why without administrative access.
export function CreateButton({ id, className, variant, title, admin, onCreate }) {
    if (admin)
        return <Button id={id} className={className} variant={variant} onClick={onCreate}>{title}</Button>;
    return (
        <Tooltip content={NO_ADMIN}>
            <Button id={id} className={className} variant={variant} isAriaDisabled>{title}</Button>
        </Tooltip>
    );
}

const AddTimerButton = props => <CreateButton id="create-timer" variant="secondary" title={_("Add timer")} {...props} />;
