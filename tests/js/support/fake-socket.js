// A WebSocket stand-in that a test opens, feeds and closes by hand; every one made is kept in
// `FakeSocket.made` (a test empties it first).
export class FakeSocket {
  static made = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.made.push(this);
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen();
  }
  // What the server sent, as it arrives: raw text, or a frame (of protocol version 1).
  receive(data) {
    this.onmessage({ data });
  }
  frame(frame) {
    this.receive(JSON.stringify({ v: 1, ...frame }));
  }
  drop(code) {
    this.readyState = 3;
    this.onclose({ code });
  }
  // The client ids of the messages sent, in order.
  messages() {
    return this.sent.filter((f) => f.type === "message").map((f) => f.client_id);
  }
}
