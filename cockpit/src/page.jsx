import React from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.jsx";
import { mark } from "./client.js";

// show draws the page; index.js calls it once the stylesheet has loaded.
export function show() {
    mark("page");
    createRoot(document.getElementById("app")).render(<App />);
}
