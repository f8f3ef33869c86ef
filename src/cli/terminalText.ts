// Model text on a terminal: a crafted vocabulary (or a label) must not be able to clear the
// screen, move the cursor or set the window title, so control characters are shown escaped.

/** C0 controls other than tab and newline, DEL, and C1 controls (ESC, CSI, OSC … start there). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` with every control character but `\n` and `\t` written as `\xHH`; unchanged when `raw`. */
export function terminalText(text: string, raw = false): string {
	return raw ? text : text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
