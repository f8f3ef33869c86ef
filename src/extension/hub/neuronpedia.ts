// Neuronpedia's page for a feature of an SAE it hosts, as SAELens's
// open_neuronpedia_feature_dashboard builds it from the SAE's neuronpedia id (`model/source`).

export function neuronpediaFeatureUrl(neuronpediaId: string, featureIndex: number): string {
	return `https://www.neuronpedia.org/${neuronpediaId.split('/').map(encodeURIComponent).join('/')}/${featureIndex}`;
}
