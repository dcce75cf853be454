// A translation (po/LANG.po) as the script Cockpit loads for it,
// dist/po.LANG.js: cockpit.locale({ "": header, msgid: [null, msgstr...] }).
// cockpit-bridge serves a page's po.js as the po.LANG.js of the user's
// language, beside Cockpit's own ../base1/po.js.
import fs from "node:fs";
import path from "node:path";

// A po line's string: xgettext writes the escapes JSON has (\n, \t, \", \\).
const unquote = s => JSON.parse(s);

// parsePo returns the entries of a .po file: { ctxt, id, plural, str: [] },
// fuzzy and obsolete ones left out, as msgfmt leaves them out.
export function parsePo(text) {
    const entries = [];
    let entry = null;
    let field = null;
    let fuzzy = false;
    const finish = () => {
        // A fuzzy header still tells the plural forms, as msgfmt reads it.
        if (entry && (!entry.fuzzy || entry.id === ""))
            entries.push(entry);
        entry = null;
        field = null;
    };
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (line === "" || line.startsWith("#~")) {
            finish();
            continue;
        }
        if (line.startsWith("#")) {
            if (line.startsWith("#,") && line.includes("fuzzy"))
                fuzzy = true;
            continue;
        }
        const m = line.match(/^(msgctxt|msgid|msgid_plural|msgstr(?:\[(\d+)\])?)\s+(".*")$/);
        if (m) {
            if (m[1] === "msgctxt" || (m[1] === "msgid" && entry && entry.str.length > 0))
                finish();
            if (!entry) {
                entry = { ctxt: null, id: "", plural: null, str: [], fuzzy };
                fuzzy = false;
            }
            if (m[1] === "msgctxt")
                field = v => { entry.ctxt = (entry.ctxt || "") + v };
            else if (m[1] === "msgid")
                field = v => { entry.id += v };
            else if (m[1] === "msgid_plural")
                field = v => { entry.plural = (entry.plural || "") + v };
            else {
                const i = m[2] === undefined ? 0 : Number(m[2]);
                entry.str[i] = "";
                field = v => { entry.str[i] += v };
            }
            field(unquote(m[3]));
        } else if (line.startsWith("\"") && field) {
            field(unquote(line));
        } else {
            throw new Error(`not a po line: ${raw}`);
        }
    }
    finish();
    return entries;
}

// A Plural-Forms expression becomes code in the page: only arithmetic on
// n is let through.
function pluralFunction(header) {
    const m = header.match(/plural\s*=\s*([^;]*);?/);
    if (!m)
        return null;
    if (!/^[\sn0-9%<>=!&|?:()+*/-]+$/.test(m[1]))
        throw new Error(`Plural-Forms is not arithmetic on n: ${m[1]}`);
    return `n => +(${m[1]})`;
}

// poToScript returns the script of a translation into lang.
export function poToScript(text, lang) {
    const entries = parsePo(text);
    const header = entries.find(e => e.id === "" && e.ctxt === null);
    const body = {};
    for (const e of entries) {
        if (e === header || e.str.every(s => !s))
            continue;
        const key = e.ctxt === null ? e.id : e.ctxt + "\u0004" + e.id;
        body[key] = [e.plural, ...e.str];
    }
    const plural = header ? pluralFunction(header.str[0]) : null;
    const head = JSON.stringify({ language: lang }).slice(0, -1) + (plural ? `, "plural-forms": ${plural}` : "") + "}";
    const rest = JSON.stringify(body).slice(1);
    return `cockpit.locale({"": ${head}${rest === "}" ? "}" : ", " + rest});\n`;
}

// writeTranslations writes dist/po.LANG.js for each po/LANG.po.
export function writeTranslations(podir, outdir) {
    if (!fs.existsSync(podir))
        return;
    for (const f of fs.readdirSync(podir).filter(f => f.endsWith(".po"))) {
        const lang = path.basename(f, ".po");
        fs.writeFileSync(path.join(outdir, `po.${lang}.js`), poToScript(fs.readFileSync(path.join(podir, f), "utf8"), lang));
    }
}

// node po2js.js IN.po LANG OUT.js, for a check of one file.
if (process.argv[1] === new URL(import.meta.url).pathname) {
    const [input, lang, output] = process.argv.slice(2);
    fs.writeFileSync(output, poToScript(fs.readFileSync(input, "utf8"), lang));
}
