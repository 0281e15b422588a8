/*
 * The board (queue, mine, others, live, and who is online) as the console keeps it: the
 * server's `board` frame cleaned up, with each item's local wait start. Plain functions.
 */
import { positiveInt as toId } from "../../../static/common/text.js";

export const LISTS = ["queue", "mine", "others", "live"];
const SAME_START_MS = 1500;

// The next board from the server's frame, the board we had (or null) and the time now (ms).
// Wait times tick locally from the moment the board arrived (no clock-skew issues). The
// server's whole seconds would make the timer jump at every board: an item keeps the start it
// had when the new one agrees to within a second and a half.
export function nextBoard(frame, previous, now) {
  const next = { agents_online: Array.isArray(frame.agents_online) ? frame.agents_online : [] };
  for (const name of LISTS) {
    next[name] = (Array.isArray(frame[name]) ? frame[name] : []).filter((item) => item && toId(item.conversation_id));
    for (const item of next[name]) {
      const start = typeof item.wait_seconds === "number" ? now - item.wait_seconds * 1000 : null;
      const known = findItem(previous, toId(item.conversation_id));
      const prev = known ? known.waitStart : null;
      item.waitStart = start !== null && prev !== null && Math.abs(prev - start) < SAME_START_MS ? prev : start;
    }
  }
  return next;
}

export function findItem(board, id) {
  if (!board || !id) return null;
  for (const name of LISTS) {
    const item = board[name].find((i) => toId(i.conversation_id) === id);
    if (item) return item;
  }
  return null;
}
