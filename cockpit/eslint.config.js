// ESLint for the page, after Cockpit's own pages: eslint's recommended
// rules, React's and the rules of hooks; the style rules Cockpit relaxes
// (quotes, curly, comma-dangle) are not turned on at all.
import js from "@eslint/js";
import globals from "globals";
import react from "eslint-plugin-react";
import hooks from "eslint-plugin-react-hooks";

export default [
    { ignores: ["dist/", "node_modules/"] },
    js.configs.recommended,
    {
        files: ["src/**/*.{js,jsx}"],
        ...react.configs.flat.recommended,
        languageOptions: {
            ...react.configs.flat.recommended.languageOptions,
            ecmaVersion: 2022,
            sourceType: "module",
            globals: globals.browser,
        },
        plugins: { react, "react-hooks": hooks },
        settings: { react: { version: "18" } },
        rules: {
            ...react.configs.flat.recommended.rules,
            "react-hooks/rules-of-hooks": "error",
            "react-hooks/exhaustive-deps": "error",
            "react/prop-types": "off",
            "react/jsx-no-useless-fragment": "error",
            "no-var": "error",
            "prefer-const": "error",
            "semi": ["error", "always", { omitLastInOneLineBlock: true }],
            "indent": ["error", 4, {
                ObjectExpression: "first",
                CallExpression: { arguments: "first" },
                MemberExpression: 2,
                ignoredNodes: ["JSXAttribute", "JSXElement", "JSXElement > *", "JSXExpressionContainer"],
            }],
        },
    },
    {
        files: ["*.js"],
        languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
    },
];
