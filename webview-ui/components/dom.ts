// Building DOM nodes from data without markup: text always goes in through textContent, so
// untrusted strings (model tokens, corpus examples, labels) can never become elements.

/** An element with optional text content and class. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
	const node = document.createElement(tag);
	if (text !== undefined) node.textContent = text;
	if (className) node.className = className;
	return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with numeric or string attributes (never event handlers: names starting with "on" are refused). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
	const node = document.createElementNS(SVG_NS, tag);
	for (const [name, value] of Object.entries(attributes)) {
		if (/^on/i.test(name)) throw new Error(`refusing event-handler attribute ${name}`);
		node.setAttribute(name, String(value));
	}
	return node;
}
