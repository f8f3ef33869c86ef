// The extension's command, view and setting ids, each written once. package.json contributes
// the same commands and views (test/extension/manifest.test.ts checks that the two agree).

/** Every command the extension registers. */
export const COMMANDS = {
	inspectSelection: 'featureLens.inspectSelection',
	clearHighlights: 'featureLens.clearHighlights',
	/** Re-colours the inspected text by one feature (hover links, the Features view); not in the palette. */
	focusFeature: 'featureLens.focusFeature',
	inspectDemo: 'featureLens.inspectDemo',
	openWalkthrough: 'featureLens.openWalkthrough',
	openFeatureDashboard: 'featureLens.openFeatureDashboard',
	searchFeatures: 'featureLens.searchFeatures',
	analyzeFeatures: 'featureLens.analyzeFeatures',
	traceCompletion: 'featureLens.traceCompletion',
	/** Internal: a token of a completion the editor shows (argument: TraceableCompletion). */
	traceCompletionToken: 'featureLens.traceCompletionToken',
	traceInlineCompletion: 'featureLens.traceInlineCompletion',
	/** Internal: a steered inline completion was accepted (argument: its number); Trace a Token of the Inline Completion traces it. */
	acceptedInlineCompletion: 'featureLens.acceptedInlineCompletion',
	openGraphJson: 'featureLens.openGraphJson',
	steerSelection: 'featureLens.steerSelection',
	steerFeature: 'featureLens.steerFeature',
	toggleInlineSteering: 'featureLens.toggleInlineSteering',
	trainSae: 'featureLens.trainSae',
	selectModel: 'featureLens.selectModel',
	showModel: 'featureLens.showModel',
	loadSae: 'featureLens.loadSae',
	openModelFromHub: 'featureLens.openModelFromHub',
	loadSaeFromRelease: 'featureLens.loadSaeFromRelease',
	signInToHuggingFace: 'featureLens.signInToHuggingFace',
	refreshSaeReleases: 'featureLens.refreshSaeReleases',
	restartEngine: 'featureLens.restartEngine',
	showLog: 'featureLens.showLog',
	/** The engine status item's menu; not in the palette. */
	statusMenu: 'featureLens.statusMenu',
} as const;

/** The views the extension contributes (package.json contributes.views). */
export const VIEWS = {
	features: 'featureLens.features',
	steering: 'featureLens.steering',
} as const;

/** The extension's settings section: `featureLens.<key>`. */
export const SETTINGS_SECTION = 'featureLens';
