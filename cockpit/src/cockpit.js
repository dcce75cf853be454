// cockpit.js is not bundled: the page loads Cockpit's own copy
// (../base1/cockpit.js), so it always speaks the installed bridge's protocol.
const cockpit = window.cockpit;
export default cockpit;
export const _ = cockpit.gettext;
