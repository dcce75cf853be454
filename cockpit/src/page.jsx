import React from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.jsx";

// show draws the page; index.js calls it once the stylesheet has loaded.
export function show() {
    createRoot(document.getElementById("app")).render(<App />);
}
