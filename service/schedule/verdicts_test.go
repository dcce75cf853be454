package schedule

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

// verdictRow is an input and snapm 0.7's verdict on it, as
// TestVerdictsAgainstSnapm asks snapm's own code for it.
type verdictRow struct {
	label string
	kind  string // "create" (New), "file" (Parse), "size" (a size policy),
	// "sources" (the sources alone) or "name" (a non-empty name alone)

	name, calendarSpec string
	sources            []string
	options            Options
	data               string // a file's content
	policy             string // a size policy

	// snapm is snapm's verdict: "ok" or "refused", for a size policy
	// "yes", "no" or "error" (snapm raises: refused wherever it is met).
	snapm string
	// deviation, if any, says why ours is deliberately the other verdict.
	deviation string
}

// create is a row of New with the name, sources and options changed from
// a schedule snapm makes ("db1", "/", daily, COUNT 7); a nil option
// removes the key.
func create(label, name string, sources []string, opts Options, snapm string) verdictRow {
	o := Options{"policy_type": "count", "keep_count": 7}
	for k, v := range opts {
		if v == nil {
			delete(o, k)
		} else {
			o[k] = v
		}
	}
	if sources == nil {
		sources = []string{"/"}
	}
	return verdictRow{label: label, kind: "create", name: name, sources: sources,
		calendarSpec: "daily", options: o, snapm: snapm}
}

func srcs(label string, snapm string, sources ...string) verdictRow {
	return create(label, "db1", append([]string{}, sources...), nil, snapm)
}

func opts(label string, o Options, snapm string) verdictRow {
	return create(label, "db1", nil, o, snapm)
}

func size(policy, snapm string) verdictRow {
	return verdictRow{label: "size " + policy, kind: "size", policy: policy, snapm: snapm}
}

// file is a row of Parse with a file like snapm's own, one line replaced.
func file(label, old, new, snapm string) verdictRow {
	const base = `{"name": "db1", "sources": ["/", "/var:2G"], "default_size_policy": null, ` +
		`"autoindex": true, "calendarspec": "daily", "boot": false, "revert": false, ` +
		`"gc_policy": {"policy_name": "db1", "policy_type": "COUNT", "keep_count": 7}}`
	if !strings.Contains(base, old) {
		panic(old)
	}
	return verdictRow{label: label, kind: "file", data: strings.Replace(base, old, new, 1), snapm: snapm}
}

func deviate(r verdictRow, why string) verdictRow {
	r.deviation = why
	return r
}

var verdictRows = []verdictRow{
	// Names: snapm's schedule set, its length limit, then the snapset rules.
	create("name plain", "db1", nil, nil, "ok"),
	create("name dots and dashes", "a.b-C9", nil, nil, "ok"),
	create("name empty", "", nil, nil, "refused"),
	create("name dot", ".", nil, nil, "refused"),
	create("name dot dot", "..", nil, nil, "ok"),
	create("name leading dash", "-x", nil, nil, "ok"),
	create("name underscore", "db_1", nil, nil, "refused"),
	create("name colon", "db:1", nil, nil, "refused"),
	create("name backslash", `db\1`, nil, nil, "refused"),
	create("name plus", "db+1", nil, nil, "refused"),
	create("name space", "db 1", nil, nil, "refused"),
	create("name slash", "a/b", nil, nil, "refused"),
	create("name unicode", "café", nil, nil, "refused"),
	create("name 234 characters", strings.Repeat("a", 234), nil, nil, "ok"),
	create("name 235 characters", strings.Repeat("a", 235), nil, nil, "refused"),

	// Sources: an optional :SIZE_POLICY, normalized paths, no duplicates.
	srcs("sources two", "ok", "/", "/var"),
	srcs("sources none", "refused"),
	srcs("sources / and //", "ok", "/", "//"),
	srcs("sources / and ///", "refused", "/", "///"),
	srcs("sources /a/../b and /b", "refused", "/a/../b", "/b"),
	srcs("sources trailing slash", "refused", "/b/", "/b"),
	srcs("sources same path, size policy", "refused", "/", "/:2G"),
	srcs("sources relative", "ok", "relative/path", "."),
	srcs("sources unicode", "ok", "/mnt/café:1%SIZE", "/mnt/日本"),
	srcs("source :25%FREE", "ok", "/:25%FREE"),
	srcs("source :2G and :2g", "ok", "/a:2G", "/b:2g"),
	srcs("source :100%SIZE, :0%USED", "ok", "/a:100%SIZE", "/b:0%USED"),
	srcs("source :101%FREE is a path", "ok", "/:101%FREE", "/"),
	srcs("source :5%BOGUS is a path", "ok", "/:5%BOGUS", "/"),
	srcs("source :x%SIZE", "refused", "/:x%SIZE"),
	srcs("source :x%BOGUS", "refused", "/:x%BOGUS"),
	srcs("source empty policy", "ok", "/:", "/"),
	srcs("source two colons", "ok", "/a:2G:3G", "/a:2G"),
	srcs("source two colons, same path", "refused", "/a:2G:3G", "/a:2G:4G"),
	srcs("source :nan%FREE", "ok", "/:nan%FREE"),
	srcs("source :1__0%SIZE", "refused", "/:1__0%SIZE"),

	// The default size policy is not checked by snapm.
	opts("default size policy bogus", Options{"default_size_policy": "bogus"}, "ok"),
	opts("default size policy empty", Options{"default_size_policy": ""}, "ok"),
	opts("default size policy 101%FREE", Options{"default_size_policy": "101%FREE"}, "ok"),

	// Policy types and their parameters.
	opts("policy ALL", Options{"policy_type": "ALL", "keep_count": nil}, "ok"),
	opts("policy Timeline", Options{"policy_type": "Timeline", "keep_hourly": 24, "keep_daily": uint8(7)}, "ok"),
	opts("policy age, negative", Options{"policy_type": "age", "keep_days": int32(-3), "keep_count": nil}, "ok"),
	opts("policy COUNT 0", Options{"keep_count": 0}, "ok"),
	opts("policy AGE, no keys", Options{"policy_type": "AGE", "keep_count": nil}, "ok"),
	opts("policy TIMELINE, no keys", Options{"policy_type": "TIMELINE", "keep_count": nil}, "ok"),
	opts("policy COUNT negative", Options{"keep_count": int64(-5)}, "ok"),
	opts("policy COUNT, a key of AGE", Options{"keep_days": 5}, "ok"),
	opts("policy type bogus", Options{"policy_type": "bogus"}, "refused"),
	opts("policy type missing", Options{"policy_type": nil}, "refused"),
	opts("policy type empty", Options{"policy_type": ""}, "refused"),
	opts("option unknown", Options{"keep_forever": 1}, "refused"),
	deviate(opts("option keep_count a string", Options{"keep_count": "7"}, "ok"),
		"a{sv} has types: a string is no count (snapm's CLI reads --keep-count 7 from text)"),
	opts("option keep_count not a number", Options{"keep_count": "seven"}, "refused"),
	opts("boot and revert", Options{"boot": true, "revert": true}, "ok"),
	opts("autoindex false", Options{"autoindex": false}, "ok"),

	// Size policies as such.
	size("2G", "yes"),
	size("2g", "yes"),
	size("2GiB", "yes"),
	size("512b", "yes"),
	size("2GI", "no"),
	size("2 G", "no"),
	size("+2G", "no"),
	size("2G\n", "yes"),
	size("", "no"),
	size("25%FREE", "yes"),
	size("100%SIZE", "yes"),
	size("0%USED", "yes"),
	size("250%USED", "yes"),
	size("101%FREE", "no"),
	size("100.5%SIZE", "no"),
	size("25%free", "no"),
	size("150%FIXED", "yes"),
	size("x%SIZE", "error"),
	size("%FREE", "error"),
	size("5%5%FREE", "error"),
	size(" 5 %FREE", "yes"),
	size("5e1%SIZE", "yes"),
	size("1e3%SIZE", "no"),
	size("-5%FREE", "yes"),
	size("1_0%SIZE", "yes"),
	size("_10%SIZE", "error"),
	size("nan%SIZE", "yes"),
	size("inf%FREE", "no"),
	size("-Infinity%SIZE", "yes"),
	size("1e999%USED", "yes"),
	size("0x10%SIZE", "error"),
	size("٥%FREE", "yes"),
	size("１０%SIZE", "yes"),
	size("𝟏𝟎𝟏%FREE", "no"),
	size("𝟙𝟘𝟘%SIZE", "yes"),

	// Files: what snapm loads.
	file("file as snapm writes it", `"db1"`, `"db1"`, "ok"),
	file("file not JSON", `{"name"`, `{name`, "refused"),
	file("file missing revert", `, "revert": false`, ``, "refused"),
	file("file missing policy_name", `"policy_name": "db1", `, ``, "refused"),
	file("file policy_name empty", `"policy_name": "db1"`, `"policy_name": ""`, "refused"),
	file("file policy_type lower case", `"COUNT"`, `"count"`, "refused"),
	file("file policy_type unknown", `"COUNT"`, `"EVERY"`, "refused"),
	file("file a key of another type", `"keep_count": 7`, `"keep_count": 7, "keep_days": 1`, "refused"),
	file("file COUNT without keep_count", `, "keep_count": 7`, ``, "ok"),
	file("file AGE keys in another order", `"COUNT", "keep_count": 7`,
		`"AGE", "keep_days": 1, "keep_years": 2`, "ok"),
	file("file ALL", `"COUNT", "keep_count": 7`, `"ALL"`, "ok"),
	file("file an unknown top-level key", `"boot": false`, `"boot": false, "colour": "red"`, "ok"),
	file("file a key twice", `"boot": false`, `"boot": true, "boot": false`, "ok"),
	file("file name not the file's", `"name": "db1"`, `"name": "other"`, "ok"),
	file("file unvalidated name and sources", `"name": "db1", "sources": ["/", "/var:2G"]`,
		`"name": "a_b", "sources": ["/", "/"]`, "ok"),
	file("file default_size_policy empty", `"default_size_policy": null`, `"default_size_policy": ""`, "ok"),
	file("file non-ASCII escaped and raw", `"/var:2G"`, `"/caf\u00e9", "/日本"`, "ok"),
	file("file a surrogate pair", `"/var:2G"`, `"/\ud83d\ude00", "\\ud800"`, "ok"),
	deviate(file("file a lone surrogate", `"/var:2G"`, `"/caf\udce9"`, "ok"),
		"snapm keeps a path that is not UTF-8 so; no D-Bus string can carry it, and Go would change it"),
	deviate(file("file a lone high surrogate", `"/var:2G"`, `"/\ud83d:2G"`, "ok"),
		"as for the lone surrogate"),
	file("file not UTF-8", `"/var:2G"`, "\"/caf\xe9\"", "refused"),
	file("file byte order mark", `{"name"`, "\ufeff{\"name\"", "refused"),
	file("file an array", `{"name": "db1", `, `[{"name": "db1", `, "refused"),
	deviate(file("file invalid calendar", `"daily"`, `"bogus"`, "refused"),
		"the calendar is the caller's to check (snapm runs systemd-analyze)"),
	deviate(file("file keep_count a float", `"keep_count": 7`, `"keep_count": 1.5`, "ok"),
		"snapm loads any JSON value there and fails when it collects; Params are integers"),
	deviate(file("file keep_count past 64 bits", `"keep_count": 7`, `"keep_count": 9223372036854775808`, "ok"),
		"Python's integers have no bound; Params are 64-bit"),
	deviate(file("file autoindex a string", `"autoindex": true`, `"autoindex": "yes"`, "ok"),
		"snapm loads any JSON value and takes its truth; the file's type is a boolean"),
}

// ours is our verdict on r, in snapm's terms, and our JSON when "ok".
func (r verdictRow) ours(t *testing.T) (string, []byte) {
	var s Schedule
	var err error
	switch r.kind {
	case "create":
		s, err = New(r.name, r.sources, r.calendarSpec, maps.Clone(r.options))
	case "file":
		s, err = Parse([]byte(r.data))
	case "sources":
		err = checkSources(r.sources)
	case "name":
		err = ValidateName(r.name)
	case "size":
		ok, err := isSizePolicy(r.policy)
		switch {
		case err != nil:
			return "error", nil
		case ok:
			return "yes", nil
		}
		return "no", nil
	}
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v does not wrap ErrInvalid", r.label, err)
		}
		return "refused", nil
	}
	return "ok", s.Marshal()
}

func (r verdictRow) want() string {
	if r.deviation == "" {
		return r.snapm
	}
	return map[string]string{"ok": "refused", "refused": "ok"}[r.snapm]
}

func TestVerdicts(t *testing.T) {
	if len(verdictRows) < 40 {
		t.Fatalf("%d rows, want 40 at least", len(verdictRows))
	}
	for _, r := range verdictRows {
		if got, _ := r.ours(t); got != r.want() {
			t.Errorf("%s: %s, want %s (snapm: %s %s)", r.label, got, r.want(), r.snapm, r.deviation)
		}
	}
}
