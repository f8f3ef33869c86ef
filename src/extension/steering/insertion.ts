// Where "Insert" puts a completion: it continues the prompt, so it goes at the end of the
// selection; when text follows on that line (the prompt ended mid-file), a line break keeps that
// text on its own line instead of gluing it to the completion's last line. Free of `vscode`.

/** The text to insert before `restOfLine` (what follows the insertion point on its line). */
export function insertionText(completion: string, restOfLine: string): string {
	if (restOfLine.trim().length === 0 || completion.length === 0 || completion.endsWith('\n')) return completion;
	return `${completion}\n`;
}
