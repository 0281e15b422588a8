// eslint for shopclerk's browser code (no build step: these files are what browsers load) and
// its Node unit tests. `make lint` runs it.
import js from "@eslint/js";
import globals from "globals";

// Customer, agent and server text must never be parsed as markup (see common/dom.js).
const MARKUP = "Text goes in with textContent / createTextNode (common/dom.js), never as markup.";
const noMarkup = {
  "no-restricted-properties": [
    "error",
    { property: "innerHTML", message: MARKUP },
    { property: "outerHTML", message: MARKUP },
    { property: "insertAdjacentHTML", message: MARKUP },
    { property: "createContextualFragment", message: MARKUP },
    { object: "document", property: "write", message: MARKUP },
    { object: "document", property: "writeln", message: MARKUP },
  ],
};

export default [
  { ignores: ["node_modules/", ".venv/", "**/.venv/"] },
  js.configs.recommended,
  {
    rules: {
      "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      ...noMarkup,
    },
  },
  {
    files: ["channels/web/static/**/*.js", "handoff/static/**/*.js"],
    languageOptions: { sourceType: "module", globals: globals.browser },
  },
  {
    // The embed tag's loader is a classic script (shops paste `<script src=... defer>`).
    files: ["channels/web/static/widget.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { sourceType: "module", globals: globals.node },
  },
];
