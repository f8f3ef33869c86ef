// How a model load shows in the editor: a notification with progress in bytes and Cancel,
// since a real model's weights are gigabytes. ModelSession runs its loads through it.

import * as vscode from 'vscode';
import type { ModelLoadUi } from './modelSession';

export const showModelLoad: ModelLoadUi = async (model, load) =>
	vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Feature Lens: loading ${model}`, cancellable: true }, (progress, token) => {
		let reported = 0;
		return load((p) => {
			const fraction = p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1;
			// Reading is most of the bar; packing (one step in the engine) the rest.
			const pct = p.phase === 'reading' ? 90 * fraction : 90;
			progress.report({
				message: p.phase === 'reading' ? `reading weights ${gigabytes(p.bytesDone)} of ${gigabytes(p.bytesTotal)}` : 'packing weights…',
				increment: pct - reported,
			});
			reported = pct;
		}, token);
	});

function gigabytes(bytes: number): string {
	return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6)} MB`;
}
