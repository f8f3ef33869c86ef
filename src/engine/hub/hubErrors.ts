// What can go wrong talking to the Hugging Face Hub or reading its cache, as errors whose
// message is one line a user can act on (it names the repository, file or URL).

import { Cancelled } from '../cancelled';

/** A Hub request or cache lookup that failed; the message says why and what to do. */
export class HubError extends Error {
	constructor(
		message: string,
		readonly status?: number,
	) {
		super(message);
	}
}

/** A download or request stopped by its AbortSignal; partial blobs stay for the next try to resume. */
export class HubCancelled extends Cancelled {
	constructor() {
		super('download cancelled (the partial file is kept and the next try resumes it)');
	}
}

/** The Hub could not be reached at all (no connection, refused, DNS): the cache may answer instead. */
export class HubUnreachable extends HubError {}
