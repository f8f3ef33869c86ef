// Commands run their work through here: a failure is logged and shown once as an error
// notification with a way to the log, instead of an unhandled rejection in the extension host.

import * as vscode from 'vscode';
import { errorMessage } from '../protocol/errors';

export async function runReported(log: vscode.LogOutputChannel, work: () => Promise<void>): Promise<void> {
	try {
		await work();
	} catch (err) {
		const message = errorMessage(err);
		log.error(message);
		void vscode.window.showErrorMessage(`Feature Lens: ${message}`, 'Show Log').then((c) => {
			if (c) log.show();
		});
	}
}
