// The resolve hook for register.js: <repo>/static/X -> <repo>/channels/web/static/X.
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const SERVED = path.join(REPO, "static") + path.sep;

export async function resolve(specifier, context, nextResolve) {
  if (context.parentURL && (specifier.startsWith("./") || specifier.startsWith("../"))) {
    const target = fileURLToPath(new URL(specifier, context.parentURL));
    if (target.startsWith(SERVED)) {
      const onDisk = path.join(REPO, "channels", "web", "static", target.slice(SERVED.length));
      return nextResolve(pathToFileURL(onDisk).href, context);
    }
  }
  return nextResolve(specifier, context);
}
