/*
 * A websocket that comes back: reconnects with back-off (backoff.js) after a close, pings to keep
 * proxies from closing an idle socket and to find a dead connection (a ping with no answer by
 * the next tick), and forgets a socket without running its handlers when told to.
 *
 * What a frame means, what to send on open and whether a close code is worth retrying stay with
 * the view, through the hooks:
 *   url()            the address to open
 *   onConnecting()   before each attempt
 *   onOpen()         the socket is open
 *   onMessage(data)  a frame's raw data (any frame also counts as the pong)
 *   onClose(code)    "retry", "slow" (wait the longest), "now" (no wait: the server is
 *                    restarting and another takes the socket), a number of ms to wait (the
 *                    server said when) or "stop" (no reconnect)
 *   onDown()         the socket was forgotten: whatever was in flight may not have arrived
 *   onRetry(count)   a reconnect was scheduled; count attempts so far
 */
import { backoffDelay } from "./backoff.js";

const OPEN = 1;
const CONNECTING = 0;

export class ReconnectingSocket {
  constructor(hooks, { pingFrame = { type: "ping" }, pingIntervalMs = 25000, WebSocketImpl, random = Math.random } = {}) {
    this.hooks = hooks;
    this.pingFrame = pingFrame;
    this.pingIntervalMs = pingIntervalMs;
    this.WebSocketImpl = WebSocketImpl || globalThis.WebSocket;
    this.random = random;
    this.ws = null;
    this.halted = false; // refused for good (origin not allowed) or the page is leaving
    this.retryCount = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.awaitingPong = false;
  }

  // Opens a socket unless one is open or being opened. `now` skips a pending back-off wait
  // (when the user does something that needs the connection).
  ensure(now) {
    if (this.ws || this.halted) return;
    if (this.retryTimer && !now) return;
    this.connect();
  }

  connect() {
    this.cancelRetry();
    if (this.ws || this.halted) return;
    if (this.hooks.onConnecting) this.hooks.onConnecting();
    const url = this.hooks.url();
    let ws;
    try {
      ws = new this.WebSocketImpl(url);
    } catch (err) {
      console.error("shopclerk: cannot open " + url, err);
      this.scheduleReconnect(false);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws === this.ws) this.hooks.onOpen();
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.awaitingPong = false; // any frame proves the connection is alive
      this.hooks.onMessage(event.data);
    };
    ws.onclose = (event) => {
      if (ws === this.ws) this.closed(event.code);
    };
    ws.onerror = () => {
      /* a close event always follows; reconnecting is handled there */
    };
  }

  closed(code) {
    this.teardown();
    const verdict = this.hooks.onClose ? this.hooks.onClose(code) : "retry";
    if (verdict === "stop") return;
    if (verdict === "now") this.connect();
    else if (typeof verdict === "number") this.scheduleReconnect(false, verdict);
    else this.scheduleReconnect(verdict === "slow");
  }

  send(frame) {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  startPing() {
    clearInterval(this.pingTimer);
    this.awaitingPong = false;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        this.restart(false); // no answer to the last ping: dead, even if the browser hasn't noticed
        return;
      }
      this.awaitingPong = this.send(this.pingFrame);
    }, this.pingIntervalMs);
  }

  // Forgets the current socket (closing it if needed) without running its close handler.
  teardown() {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState === CONNECTING || ws.readyState === OPEN) {
        try {
          ws.close(1000);
        } catch {
          /* already closing */
        }
      }
    }
    clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (this.hooks.onDown) this.hooks.onDown();
  }

  restart(immediately) {
    this.teardown();
    if (immediately) this.connect();
    else this.scheduleReconnect(false);
  }

  // `delayMs`: the wait the server asked for, instead of the back-off's.
  scheduleReconnect(slow, delayMs) {
    if (this.retryTimer || this.halted) return;
    const delay = delayMs === undefined ? backoffDelay(this.retryCount, { slow, random: this.random }) : delayMs;
    this.retryCount += 1;
    if (this.hooks.onRetry) this.hooks.onRetry(this.retryCount);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  cancelRetry() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
