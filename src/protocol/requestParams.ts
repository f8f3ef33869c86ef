// Every host → engine request's parameter schema, by method, and the check the engine runs on
// each request before its handler: a request whose parameters break the schema is answered
// with InvalidParams and one plain sentence naming the field, what it must be and what came.

import * as v from 'valibot';
import {
	EvaluateSaeParams,
	EvaluateSaeRequest,
	GenerateParams,
	GenerateRequest,
	InitializeParams,
	InitializeRequest,
	InspectParams,
	InspectRequest,
	LoadModelParams,
	LoadModelRequest,
	LoadSaeParams,
	LoadSaeRequest,
	RunParams,
	RunRequest,
	ShutdownRequest,
	TrainSaeParams,
	TrainSaeRequest,
} from './engineProtocol';
import {
	AnalyzeFeaturesRequest,
	AnalyzeParams,
	FeatureDashboardParams,
	FeatureDashboardRequest,
	FeatureSearchParams,
	FeatureTextParams,
	FeatureTextRequest,
	SearchFeaturesRequest,
	SetFeatureLabelParams,
	SetFeatureLabelRequest,
} from './featureProtocol';
import {
	ConfigureHubRequest,
	FetchFromHubParams,
	FetchFromHubRequest,
	HubSettings,
	ListSaeReleasesParams,
	ListSaeReleasesRequest,
	RefreshSaeReleasesParams,
	RefreshSaeReleasesRequest,
} from './hubProtocol';
import { AttributeParams, AttributeRequest, PruneAttributionParams, PruneAttributionRequest } from './attributionProtocol';
import { describeIssue, none } from './schemaParts';
import { ContrastVectorParams, ContrastVectorRequest, SteeredGenerateParams, SteeredGenerateRequest, SweepParams, SweepRequest } from './steerProtocol';

/** The parameter schema of each request the engine serves, by method. */
export const REQUEST_PARAMS: ReadonlyMap<string, v.GenericSchema> = new Map<string, v.GenericSchema>([
	[InitializeRequest.method, InitializeParams],
	[LoadModelRequest.method, LoadModelParams],
	[RunRequest.method, RunParams],
	[GenerateRequest.method, GenerateParams],
	[LoadSaeRequest.method, LoadSaeParams],
	[InspectRequest.method, InspectParams],
	[TrainSaeRequest.method, TrainSaeParams],
	[EvaluateSaeRequest.method, EvaluateSaeParams],
	[ShutdownRequest.method, none()],
	[AnalyzeFeaturesRequest.method, AnalyzeParams],
	[FeatureDashboardRequest.method, FeatureDashboardParams],
	[SearchFeaturesRequest.method, FeatureSearchParams],
	[SetFeatureLabelRequest.method, SetFeatureLabelParams],
	[FeatureTextRequest.method, FeatureTextParams],
	[SteeredGenerateRequest.method, SteeredGenerateParams],
	[SweepRequest.method, SweepParams],
	[ContrastVectorRequest.method, ContrastVectorParams],
	[ConfigureHubRequest.method, HubSettings],
	[ListSaeReleasesRequest.method, ListSaeReleasesParams],
	[RefreshSaeReleasesRequest.method, RefreshSaeReleasesParams],
	[FetchFromHubRequest.method, FetchFromHubParams],
	[AttributeRequest.method, AttributeParams],
	[PruneAttributionRequest.method, PruneAttributionParams],
]);

export type ParamsCheck = { ok: true; params: unknown } | { ok: false; message: string };

/** Checks `params` against `method`'s schema; the message names the request, the field, what it must be and what it was. */
export function checkParams(method: string, params: unknown): ParamsCheck {
	const schema = REQUEST_PARAMS.get(method);
	if (!schema) return { ok: false, message: `${method}: not a request the engine serves` };
	const result = v.safeParse(schema, params, { abortEarly: true });
	if (result.success) return { ok: true, params: result.output };
	return { ok: false, message: `${method}: ${describeIssue(result.issues[0])}` };
}
