// How much memory a new allocation can take before the OS starts killing: the kernel's own
// estimate (MemAvailable, which counts reclaimable page cache) capped by a cgroup limit when the
// engine runs in a container; elsewhere Node's free-memory figure.

import * as fs from 'node:fs';
import * as os from 'node:os';

/** Bytes this process can still allocate without swapping or being killed. */
export function availableMemoryBytes(): number {
	let available = os.freemem();
	const meminfo = readText('/proc/meminfo');
	const match = meminfo && /^MemAvailable:\s+(\d+) kB/m.exec(meminfo);
	if (match) available = Number(match[1]) * 1024;
	// cgroup v2: the container's limit minus what it already uses.
	const max = readText('/sys/fs/cgroup/memory.max')?.trim();
	const current = Number(readText('/sys/fs/cgroup/memory.current')?.trim());
	if (max && max !== 'max' && Number.isFinite(Number(max)) && Number.isFinite(current)) {
		available = Math.min(available, Math.max(0, Number(max) - current));
	}
	return available;
}

/** This process's resident and proportional set sizes in bytes (Linux; PSS counts shared pages once across their users). */
export function processMemory(): { rss: number; pss?: number } {
	const rollup = readText('/proc/self/smaps_rollup');
	const pss = rollup && /^Pss:\s+(\d+) kB/m.exec(rollup);
	return { rss: process.memoryUsage().rss, ...(pss ? { pss: Number(pss[1]) * 1024 } : {}) };
}

function readText(file: string): string | undefined {
	try {
		return fs.readFileSync(file, 'utf8');
	} catch {
		return undefined;
	}
}

/** Bytes as a short human figure (1.2 GB, 340 MB). */
export function formatBytes(bytes: number): string {
	if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
	if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
	if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
	return `${bytes} B`;
}
