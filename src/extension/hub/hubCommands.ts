// The Hub in the editor: "Open Model from Hub…" (a repository id, with the models the SAE
// releases cover offered as completions), "Load SAE from Release…" (the releases for the loaded
// model, then their SAEs by hook, width and L0), and "Sign in to Hugging Face" (a token kept in
// SecretStorage). Downloads run in the engine with a progress notification and Cancel; the
// setting records the reference pinned to the commit downloaded, so later loads need no request.

import * as vscode from 'vscode';
import type { HubProgress, HubSettings } from '../../protocol/hubProtocol';
import { RELEASE_PREFIX } from '../../protocol/hubProtocol';
import { COMMANDS, SETTINGS_SECTION } from '../commands';
import { openModel, openSae } from '../modelCommands';
import { errorMessage, isCancelled } from '../../protocol/errors';
import { ConfigureHubRequest, FetchFromHubRequest, HubProgressNotification, ListSaeReleasesRequest, RefreshSaeReleasesRequest } from '../../protocol/hubProtocol';
import type { EngineProcess } from '../engineProcess';
import type { ModelSession } from '../modelSession';
import { hubRefFromInput, licenceUrl, modelCompletions, progressText, releaseItems, saeItems } from './hubPicks';

const TOKEN_SECRET = 'featureLens.huggingFaceToken';

/** The Hub settings the engine gets at start and after a change: the cache-folder setting, the signed-in token, the data folder. */
export class HubSettingsSource {
	private token: string | undefined;

	constructor(private readonly context: vscode.ExtensionContext) {}

	/** Reads the stored token (SecretStorage is asynchronous; the engine's initialize is not). */
	async load(): Promise<void> {
		this.token = await this.context.secrets.get(TOKEN_SECRET);
	}

	async setToken(token: string | undefined): Promise<void> {
		if (token) await this.context.secrets.store(TOKEN_SECRET, token);
		else await this.context.secrets.delete(TOKEN_SECRET);
		this.token = token;
	}

	settings(): HubSettings {
		const cacheDir = vscode.workspace.getConfiguration(SETTINGS_SECTION).get<string>('hub.cacheDir', '');
		return { cacheDir: cacheDir || undefined, token: this.token };
	}
}

export function registerHubCommands(engine: EngineProcess, session: ModelSession, log: vscode.LogOutputChannel, hub: HubSettingsSource): vscode.Disposable[] {
	const configure = () => engine.request(ConfigureHubRequest, hub.settings());
	return [
		vscode.workspace.onDidChangeConfiguration((e) => {
			// A running engine takes a new cache folder now; a new one gets it at initialize.
			if (e.affectsConfiguration(`${SETTINGS_SECTION}.hub`) && engine.current.kind === 'ready') void configure().catch((err: unknown) => log.error(String(err)));
		}),
		vscode.commands.registerCommand(COMMANDS.openModelFromHub, () =>
			reported(log, async () => {
				await configure();
				const releases = await engine.request(ListSaeReleasesRequest, {});
				const ref = await pickModel(modelCompletions(releases));
				if (!ref) return;
				const fetched = await download(engine, `Feature Lens: downloading ${ref}`, ref, 'model');
				if (!fetched) return;
				await openModel(session, fetched);
			}),
		),
		vscode.commands.registerCommand(COMMANDS.loadSaeFromRelease, () =>
			reported(log, async () => {
				await configure();
				// The engine matches a model's name, repository id or hf: reference to the registry's names.
				const modelName = (await session.ensureModel()).name;
				const releases = await engine.request(ListSaeReleasesRequest, { model: modelName });
				if (releases.releases.length === 0) {
					void vscode.window.showInformationMessage(`Feature Lens: no SAE release in the registry is for ${modelName} (registry: ${releases.source}).`);
					return;
				}
				const release = await vscode.window.showQuickPick(releaseItems(releases), { title: `Feature Lens: SAE releases for ${modelName}`, matchOnDescription: true, matchOnDetail: true });
				if (!release) return;
				const sae = await vscode.window.showQuickPick(saeItems(release.release), { title: `Feature Lens: ${release.label}`, matchOnDescription: true, placeHolder: 'hook · width · L0' });
				if (!sae) return;
				const ref = `${RELEASE_PREFIX}${release.label}/${sae.sae.id}`;
				if (!(await download(engine, `Feature Lens: downloading ${ref}`, ref, 'sae'))) return;
				await openSae(session, ref);
			}),
		),
		vscode.commands.registerCommand(COMMANDS.refreshSaeReleases, () =>
			reported(log, async () => {
				// SAELens ships its registry in its Python package and Git repository, not on the Hub.
				const from = await vscode.window.showInputBox({
					title: 'Feature Lens: Refresh SAE Releases',
					ignoreFocusOut: true,
					prompt: "A newer SAELens pretrained_saes.yaml: a path on the engine's machine (e.g. inside an installed sae_lens) or hf:org/repo[@rev]/path/pretrained_saes.yaml",
				});
				if (!from?.trim()) return;
				await configure();
				const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Feature Lens: refreshing the SAE releases…', cancellable: true }, (progress, token) =>
					engine.requestWithProgress(RefreshSaeReleasesRequest, { from: from.trim() }, HubProgressNotification, progressReporter(progress), token),
				);
				void vscode.window.showInformationMessage(`Feature Lens: ${r.releases} SAE releases (${r.saes} SAEs) from ${from.trim()}.`);
			}),
		),
		vscode.commands.registerCommand(COMMANDS.signInToHuggingFace, () =>
			reported(log, async () => {
				const token = await vscode.window.showInputBox({
					title: 'Feature Lens: Sign in to Hugging Face',
					password: true,
					ignoreFocusOut: true,
					prompt: "A Hugging Face access token (read access is enough; huggingface.co/settings/tokens). Empty signs out. Kept in VS Code's secret storage; used before HF_TOKEN and $HF_HOME/token.",
				});
				if (token === undefined) return;
				await hub.setToken(token.trim() || undefined);
				await configure();
				void vscode.window.showInformationMessage(token.trim() ? 'Feature Lens: signed in to Hugging Face.' : 'Feature Lens: signed out of Hugging Face.');
			}),
		),
	];
}

/** A quick pick that offers the release models and takes any typed `org/name[@rev][/folder]`. */
async function pickModel(completions: { label: string; description?: string }[]): Promise<string | undefined> {
	const pick = vscode.window.createQuickPick();
	pick.title = 'Feature Lens: Open Model from Hub';
	pick.placeholder = 'org/name[@revision][/folder], e.g. openai-community/gpt2';
	pick.items = completions;
	pick.onDidChangeValue((value) => {
		const typed = value.trim();
		pick.items = typed && !completions.some((c) => c.label === typed) ? [{ label: typed, description: 'download from the Hub' }, ...completions] : completions;
	});
	const chosen = await new Promise<string | undefined>((resolve) => {
		pick.onDidAccept(() => resolve(pick.selectedItems[0]?.label ?? pick.value));
		pick.onDidHide(() => resolve(undefined));
		pick.show();
	});
	pick.dispose();
	return chosen ? hubRefFromInput(chosen) : undefined;
}

/** Fetches in the engine with a cancellable progress notification; the pinned reference, or undefined when cancelled. */
async function download(engine: EngineProcess, title: string, ref: string, kind: 'model' | 'sae'): Promise<string | undefined> {
	try {
		return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
			const report = progressReporter(progress);
			return (await engine.requestWithProgress(FetchFromHubRequest, { ref, kind }, HubProgressNotification, report, token)).pinned;
		});
	} catch (err) {
		if (isCancelled(err)) {
			void vscode.window.showInformationMessage('Feature Lens: download cancelled; what arrived is kept and the next try resumes it.');
			return undefined;
		}
		throw err;
	}
}

/** Shows a Hub download's progress notifications in a progress notification. */
function progressReporter(progress: vscode.Progress<{ message?: string; increment?: number }>): (p: HubProgress) => void {
	let reported = 0;
	return (p) => {
		const pct = p.phase === 'downloading' && p.bytesTotal > 0 ? (100 * p.bytesDone) / p.bytesTotal : reported;
		progress.report({ message: progressText(p), increment: pct - reported });
		reported = pct;
	};
}

/** Runs a command, showing a failure once; a gated model's error gets a button to its licence page. */
async function reported(log: vscode.LogOutputChannel, work: () => Promise<void>): Promise<void> {
	try {
		await work();
	} catch (err) {
		const message = errorMessage(err);
		log.error(message);
		const url = licenceUrl(message);
		const choice = await vscode.window.showErrorMessage(`Feature Lens: ${message}`, ...(url ? ['Open Licence Page'] : []), 'Show Log');
		if (choice === 'Open Licence Page' && url) await vscode.env.openExternal(vscode.Uri.parse(url));
		else if (choice === 'Show Log') log.show();
	}
}
