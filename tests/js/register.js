// Lets Node resolve the browser modules' imports as the server serves them: the console's
// modules under /agent/static/ import the shared ones from /static/common/ by a relative URL
// ("../../../static/common/x.js"), which on disk is <repo>/static/...; the server serves
// /static/ from channels/web/static/. Loaded by `node --test --import ./tests/js/register.js`.
import { register } from "node:module";

register("./resolve-static.js", import.meta.url);
