#!/usr/bin/env node
// Bundles the page into dist/ the way Cockpit's own pages are built: one
// script and one stylesheet from src/, PatternFly's CSS bundled in, and the
// Red Hat fonts taken from Cockpit's /cockpit/static/fonts rather than
// shipped a second time.
import fs from "node:fs";
import path from "node:path";
import esbuild from "esbuild";
import { interfaceMeta } from "./interface.js";
import { writeTranslations } from "./po2js.js";

const outdir = "dist";

// PatternFly's base.css names its fonts ./assets/fonts/FAMILY/FILE.woff2;
// Cockpit serves the static (non-variable) ones at ../../static/fonts/FILE.
const cockpitFonts = {
    name: "cockpit-fonts",
    setup(build) {
        build.onResolve({ filter: /\/RedHat(Text|Display|Mono)-[A-Za-z]+\.woff2$/ }, args => ({
            path: "../../static/fonts/" + path.basename(args.path),
            external: true,
        }));
    },
};

// `import meta from "dbus-interface:NAME"` is the interface NAME as the
// daemon's XML defines it, in the form cockpit.dbus().meta() takes. The
// module is named by NAME alone: an absolute path would enter the chunks'
// hashes, and the page built in rpmbuild's directory would differ from
// `make install`'s.
const dbusInterface = {
    name: "dbus-interface",
    setup(build) {
        build.onResolve({ filter: /^dbus-interface:/ }, args => ({
            path: args.path.slice("dbus-interface:".length),
            namespace: "dbus-interface",
        }));
        build.onLoad({ filter: /.*/, namespace: "dbus-interface" }, args => ({
            contents: "export default " +
                JSON.stringify(interfaceMeta(path.join("..", "introspection-xml", args.path + ".xml"), args.path)) + ";",
            loader: "js",
        }));
    },
};

const copyStatic = {
    name: "copy-static",
    setup(build) {
        build.onEnd(result => {
            if (result.errors.length > 0)
                return;
            fs.copyFileSync(path.join("src", "manifest.json"), path.join(outdir, "manifest.json"));
            writeTranslations("po", outdir);
            // The chunks that index.js imports are named in index.html too,
            // so that the browser fetches them with index.js rather than
            // only once it has parsed it.
            const entry = result.metafile.outputs[path.join(outdir, "index.js")];
            const preload = entry.imports.filter(i => i.kind === "import-statement")
                    .map(i => `    <link rel="modulepreload" href="${path.relative(outdir, i.path)}">\n`).join("");
            const html = fs.readFileSync(path.join("src", "index.html"), "utf8");
            fs.writeFileSync(path.join(outdir, "index.html"), html.replace(/^(?=\s*<script type="module")/m, preload));
            // index.css already holds the page chunk's styles; its own copy
            // would only be shipped, never loaded.
            for (const f of fs.readdirSync(path.join(outdir, "chunks")))
                if (f.endsWith(".css"))
                    fs.rmSync(path.join(outdir, "chunks", f));
        });
    },
};

// PatternFly's components import their stylesheets, and react-table
// imports react-core whole, so esbuild would bundle the CSS of every
// component, used or not (1.4 MB, the better part of the page's load).
// A first pass learns which of PatternFly's style modules the tree-shaken
// script really keeps; the second bundles only their stylesheets.
const options = {
    entryPoints: { index: "src/index.js" },
    bundle: true,
    // The entry imports the page itself dynamically (see src/index.js).
    format: "esm",
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    minify: true,
    sourcemap: false,
    legalComments: "external",
    target: ["es2020"],
    outdir,
    loader: { ".woff2": "file", ".woff": "file", ".svg": "file" },
    assetNames: "assets/[name]-[hash]",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
};

const probe = await esbuild.build({ ...options, write: false, metafile: true, plugins: [cockpitFonts, dbusInterface] });
const kept = new Set();
for (const out of Object.values(probe.metafile.outputs))
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs))
        if (bytesInOutput > 0)
            kept.add(path.resolve(input));

const styleModule = /[\\/]@patternfly[\\/]react-styles[\\/]css[\\/].*\.mjs$/;
const unusedStyles = {
    name: "unused-styles",
    setup(build) {
        build.onResolve({ filter: /\.css$/ }, args => {
            if (styleModule.test(args.importer) && !kept.has(args.importer))
                return { path: args.path, namespace: "unused-styles" };
            return undefined;
        });
        build.onLoad({ filter: /.*/, namespace: "unused-styles" }, () => ({ contents: "", loader: "css" }));
    },
};

fs.rmSync(outdir, { recursive: true, force: true });
await esbuild.build({ ...options, metafile: true, plugins: [cockpitFonts, dbusInterface, unusedStyles, copyStatic] });
