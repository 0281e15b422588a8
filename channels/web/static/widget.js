/*
 * shopclerk live-chat widget.
 *
 * Embed with one tag:  <script src="https://SERVER/static/widget.js" defer></script>
 * Optional attributes: data-title (header title), data-max-chars (client-side length limit),
 * data-greeting (text shown while the conversation is empty).
 * A logged-in shopper, signed by the shop's backend (docs/websocket-protocol.md, "Signed
 * shoppers"): data-customer-id, data-customer-email, data-customer-name and
 * data-customer-signature, or data-customer-token (a JWT). Or from the page's script:
 * window.ShopclerkWidget.identify({customer_id, email, name, signature} or {token}) after a
 * login, and window.ShopclerkWidget.logout() after a logout (the next shopper starts afresh).
 *
 * This file is the tag's loader, a classic script so that the one tag works as it always did:
 * it finds its own tag, puts `window.ShopclerkWidget` in place at once (calls made before the
 * widget is loaded wait for it) and imports the widget's modules from next to itself
 * (widget/main.js, which imports ../common/). Shops' pages load them across origins: the server
 * sends them with `Access-Control-Allow-Origin: *`.
 *
 * Security rule for the widget: text that comes from the server or the customer only ever enters
 * the page through textContent, createTextNode or setAttribute; it is never parsed as markup.
 * Links are built with createElement and only for http(s) addresses.
 */
(function () {
  "use strict";

  // A page that includes the tag twice gets one widget, not two competing sockets.
  if (window.ShopclerkWidget) return;

  // currentScript is only set while this file's top level runs, so read it now.
  const scriptTag = document.currentScript || findOwnScriptTag();
  if (!scriptTag || !scriptTag.src) {
    console.error("shopclerk: cannot find the widget's <script> tag; the chat is disabled.");
    return;
  }

  function findOwnScriptTag() {
    const tags = document.querySelectorAll("script[src]");
    for (let i = tags.length - 1; i >= 0; i--) {
      if (/\/static\/widget\.js(?:[?#]|$)/.test(tags[i].src)) return tags[i];
    }
    return null;
  }

  let widget = null; // the loaded widget's API
  const waiting = []; // [name, args] called before it was loaded

  function call(name) {
    return function () {
      if (widget) return widget[name].apply(null, arguments);
      waiting.push([name, arguments]);
    };
  }

  window.ShopclerkWidget = Object.freeze({
    open: call("open"),
    close: call("close"),
    identify: call("identify"),
    logout: call("logout"),
    // For tests: a snapshot of the connection and delivery state.
    _state: () => (widget ? widget._state() : { session: null, lastSeq: 0, connected: false, pending: [] }),
  });

  import(new URL("widget/main.js", new URL(scriptTag.src, document.baseURI)).href).then(
    (module) => {
      widget = module.start(scriptTag);
      for (const [name, args] of waiting.splice(0)) widget[name].apply(null, args);
    },
    (err) => console.error("shopclerk: could not load the chat", err)
  );
})();
