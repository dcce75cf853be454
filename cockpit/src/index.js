// The page's entry. It opens the bus channel and asks for the daemon's
// objects before it evaluates the rest of the page (React and PatternFly,
// nearly all of the script, page.jsx): the bridge and the daemon then
// answer while the browser evaluates it, instead of after, because each
// message to the bridge waits for this script and its promises to yield.
import "@patternfly/react-core/dist/styles/base.css";
import "./app.css";
import { watchAccess } from "./access.js";
import { watchTimers } from "./client.js";
import { followTheme } from "./theme.js";

followTheme();
const watched = watchTimers();
watchAccess();

// The stylesheet (PatternFly's, 750 KB) is asked for only now: named in
// index.html, it would be read and parsed before cockpit.js and this
// script run, and hold the watch back. Nothing is drawn before it has
// loaded.
const sheet = document.createElement("link");
sheet.rel = "stylesheet";
sheet.href = "index.css";
const styled = new Promise(resolve => {
    sheet.onload = sheet.onerror = resolve;
});
document.head.append(sheet);

// This script may run before the parser has reached the page's body.
const parsed = new Promise(resolve => {
    if (document.readyState === "loading")
        document.addEventListener("DOMContentLoaded", resolve);
    else
        resolve();
});

const page = () => Promise.all([import("./page.jsx"), styled, parsed]).then(([p]) => p.show());
// A bridge that is slow to open the channel (a busy machine) still gets a
// page that says it is loading, after 1 s.
const moment = new Promise(resolve => window.setTimeout(resolve, 1000));
Promise.race([watched, moment]).then(page, page);
