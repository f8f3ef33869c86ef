// What "Trace Completion" traces: the selection, or with none the current line up to the cursor.
// Free of `vscode` (offsets into the document's text), unit-tested.

/** The prompt: the selected text, or the line's text before the cursor when nothing is selected. */
export function tracePrompt(text: string, selectionStart: number, selectionEnd: number): string {
	if (selectionEnd > selectionStart) return text.slice(selectionStart, selectionEnd);
	const lineStart = text.lastIndexOf('\n', selectionStart - 1) + 1;
	return text.slice(lineStart, selectionStart);
}
