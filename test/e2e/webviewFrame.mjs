// Finds the webview (VS Code nests each one in two iframes) that shows a given element. Several
// webviews can be open at once (the Steering view, dashboards, the training monitor), so the
// smoke tests pick theirs by its content rather than by position.

/**
 * The frame containing `selector` (whose text includes `hasText`, when given), polled until
 * `timeoutMs`. A Frame (not a FrameLocator): after a window reload, ask again for the new one.
 */
export async function webviewWith(page, selector, timeoutMs = 60000, hasText = undefined) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		for (const frame of page.frames()) {
			if (frame === page.mainFrame() || frame.isDetached()) continue;
			try {
				const element = await frame.$(selector);
				if (element && (hasText === undefined || (await element.innerText()).includes(hasText))) return frame;
			} catch {
				// The frame navigated or went away while we looked; try the others.
			}
		}
		await page.waitForTimeout(250);
	}
	throw new Error(`no webview showed ${selector} within ${timeoutMs} ms`);
}
