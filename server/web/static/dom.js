// Building DOM nodes without innerHTML: strings always become text nodes, so
// names, titles and messages coming from the server can never become markup.

/**
 * el("a", {href: "tel:+86...", class: "phone"}, "+86 ...") → <a>.
 * Props starting with "on" add event listeners; `dataset` sets data-* attributes;
 * false/null/undefined props and children are skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === false || child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

export function showMessage(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}
