// The D-Bus interface the page talks to, read from the daemon's own
// interface XML (introspection-xml/) at build time: cockpit-bridge is told
// its members up front (client.meta) so that it does not introspect each
// of possibly thousands of objects before the first row can show, and the
// XML is the one list of them.
import fs from "node:fs";

const attributes = tag => Object.fromEntries([...tag.matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]));

// interfaceMeta returns the named interface of an XML file in the form
// cockpit.dbus().meta() takes: { methods: { NAME: { in, out } },
// properties: { NAME: { flags, type } }, signals: { NAME: { in } } }.
export function interfaceMeta(file, name) {
    const xml = fs.readFileSync(file, "utf8").replace(/<!--[\s\S]*?-->/g, "");
    const body = xml.match(new RegExp(`<interface\\s+name="${name.replace(/\./g, "\\.")}"\\s*>([\\s\\S]*?)</interface>`));
    if (!body)
        throw new Error(`${file} does not define ${name}`);
    const meta = { methods: {}, properties: {}, signals: {} };
    const members = /<(method|signal)\s([^>]*?)(\/>|>([\s\S]*?)<\/\1>)|<property\s([^>]*?)\/?>/g;
    for (const m of body[1].matchAll(members)) {
        if (m[5] !== undefined) {
            const p = attributes(m[5]);
            meta.properties[p.name] = { flags: p.access === "readwrite" ? "rw" : p.access === "write" ? "w" : "r", type: p.type };
            continue;
        }
        const args = [...(m[4] || "").matchAll(/<arg\s([^>]*?)\/?>/g)].map(a => attributes(a[1]));
        const types = dir => args.filter(a => (a.direction || (m[1] === "signal" ? "out" : "in")) === dir).map(a => a.type);
        if (m[1] === "method")
            meta.methods[attributes(m[2]).name] = { in: types("in"), out: types("out") };
        else
            meta.signals[attributes(m[2]).name] = { in: types("out") };
    }
    return meta;
}
