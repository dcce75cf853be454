// A schedule's gc policy, as the daemon's GcPolicyType and GcPolicyParams
// give it, in the words an admin uses: "keep 7", "keep 30 days",
// "keep 24 hourly, 7 daily, 4 weekly".
import cockpit, { _ } from "./cockpit.js";

const n = (one, many) => count => cockpit.format(cockpit.ngettext(one, many, count), count);

// Each policy type's keep_* keys, in the order they are read out (and
// asked for in the create dialog), with their words.
export const POLICIES = {
    ALL: { title: _("Keep all"), keys: [] },
    COUNT: { title: _("By count"), keys: [["keep_count", _("Snapshot sets"), n("$0", "$0")]] },
    AGE: {
        title: _("By age"),
        keys: [
            ["keep_years", _("Years"), n("$0 year", "$0 years")],
            ["keep_months", _("Months"), n("$0 month", "$0 months")],
            ["keep_weeks", _("Weeks"), n("$0 week", "$0 weeks")],
            ["keep_days", _("Days"), n("$0 day", "$0 days")],
        ],
    },
    TIMELINE: {
        title: _("Timeline"),
        keys: [
            ["keep_hourly", _("Hourly"), n("$0 hourly", "$0 hourly")],
            ["keep_daily", _("Daily"), n("$0 daily", "$0 daily")],
            ["keep_weekly", _("Weekly"), n("$0 weekly", "$0 weekly")],
            ["keep_monthly", _("Monthly"), n("$0 monthly", "$0 monthly")],
            ["keep_quarterly", _("Quarterly"), n("$0 quarterly", "$0 quarterly")],
            ["keep_yearly", _("Yearly"), n("$0 yearly", "$0 yearly")],
        ],
    },
};

export function retentionText(type, params) {
    const policy = POLICIES[type];
    if (!policy)
        return type;
    if (type === "ALL")
        return _("keep all");
    const parts = policy.keys.filter(([key]) => params && params[key]).map(([key, , words]) => words(params[key]));
    if (parts.length === 0)
        return _("keep none");
    return cockpit.format(_("keep $0"), parts.join(", "));
}
