#!/usr/bin/env node
// Bundles the page into dist/ the way Cockpit's own pages are built: one
// script and one stylesheet from src/, PatternFly's CSS bundled in, and the
// Red Hat fonts taken from Cockpit's /cockpit/static/fonts rather than
// shipped a second time.
import fs from "node:fs";
import path from "node:path";
import esbuild from "esbuild";

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

const copyStatic = {
    name: "copy-static",
    setup(build) {
        build.onEnd(result => {
            if (result.errors.length > 0)
                return;
            for (const f of ["index.html", "manifest.json"])
                fs.copyFileSync(path.join("src", f), path.join(outdir, f));
        });
    },
};

fs.rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
    entryPoints: { index: "src/index.jsx" },
    bundle: true,
    minify: true,
    sourcemap: false,
    legalComments: "external",
    target: ["es2020"],
    outdir,
    loader: { ".woff2": "file", ".woff": "file", ".svg": "file" },
    assetNames: "assets/[name]-[hash]",
    define: { "process.env.NODE_ENV": '"production"' },
    plugins: [cockpitFonts, copyStatic],
    logLevel: "warning",
});
