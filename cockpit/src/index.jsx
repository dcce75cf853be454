import React from "react";
import { createRoot } from "react-dom/client";
import "@patternfly/react-core/dist/styles/base.css";
import "./app.css";
import { App } from "./app.jsx";
import { watchTimers } from "./client.js";
import { followTheme } from "./theme.js";

watchTimers();
followTheme();
document.addEventListener("DOMContentLoaded", () => {
    createRoot(document.getElementById("app")).render(<App />);
});
