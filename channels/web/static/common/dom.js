/*
 * Building DOM nodes. Security rule: text from the server, a customer or an agent only ever
 * enters the page through textContent, createTextNode or setAttribute, never parsed as markup;
 * links are built with createElement and only for http(s) addresses.
 */
import { linkPieces } from "./text.js";

export function el(tag, className, attrs) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (attrs) {
    for (const name of Object.keys(attrs)) node.setAttribute(name, attrs[name]);
  }
  return node;
}

export function textEl(tag, className, text, attrs) {
  const node = el(tag, className, attrs);
  node.textContent = text;
  return node;
}

// Plain text whose web addresses become real links, built node by node.
export function appendLinkifiedText(parent, text, linkClass) {
  for (const piece of linkPieces(text, document.baseURI)) {
    if (!piece.href) {
      parent.appendChild(document.createTextNode(piece.text));
      continue;
    }
    const attrs = { href: piece.href, target: "_blank", rel: "noopener noreferrer" };
    parent.appendChild(textEl("a", linkClass, piece.text, attrs));
  }
}
