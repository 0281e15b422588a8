/*
 * Web storage can be missing or throw (privacy modes, blocked cookies, full quota): then the
 * page simply works from memory for its life. `kind` is "localStorage" or "sessionStorage".
 */
export function readStored(kind, key) {
  try {
    return globalThis[kind].getItem(key);
  } catch {
    return null;
  }
}

// `null` removes the key.
export function writeStored(kind, key, value) {
  try {
    if (value === null) globalThis[kind].removeItem(key);
    else globalThis[kind].setItem(key, value);
  } catch {
    /* see readStored */
  }
}
