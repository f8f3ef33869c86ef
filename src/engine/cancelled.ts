// The one base class of "stopped by its AbortSignal": each long piece of engine work (loading,
// generation, inspection, training, evaluation, analysis, downloads) throws its own subclass with
// its own message, and the server answers any of them as JSON-RPC's "request cancelled".

/** Work stopped because its caller cancelled it (not a failure). */
export class Cancelled extends Error {}
