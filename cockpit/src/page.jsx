import React from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.jsx";
import { mark } from "./client.js";

mark("page");
const render = () => createRoot(document.getElementById("app")).render(<App />);
if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", render);
else
    render();
