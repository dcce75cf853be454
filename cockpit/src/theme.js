// Follows Cockpit's theme as its own pages do: the shell's choice in
// localStorage "shell:style" (light, dark or auto), announced to frames by
// a "cockpit-style" event, and the system's preference for "auto".
const dark = window.matchMedia("(prefers-color-scheme: dark)");

function apply(style) {
    style = style || window.localStorage.getItem("shell:style") || "auto";
    const on = style === "dark" || (style === "auto" && dark.matches);
    document.documentElement.classList.toggle("pf-v5-theme-dark", on);
}

export function followTheme() {
    window.addEventListener("storage", ev => {
        if (ev.key === "shell:style")
            apply();
    });
    window.addEventListener("cockpit-style", ev => apply(ev.detail && ev.detail.style));
    dark.addEventListener("change", () => apply());
    apply();
}
