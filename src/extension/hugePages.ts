// Loading a large model is mostly page faults on a 4 KB-page system: onnxruntime widens and
// packs gigabytes of weights into fresh memory. With glibc's malloc asking the kernel for
// transparent huge pages (2 MB), Llama-3.2-1B's 4.9 GB load took 3.0M faults and 18 s here,
// against 0.13M and 9.7 s. glibc reads the switch from GLIBC_TUNABLES once, when a process
// starts: the extension sets it for the engine it spawns, and the CLI's launcher line does for
// the CLI. Other C libraries ignore the variable.

/** The tunable that makes glibc's malloc advise huge pages for the memory it maps. */
export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';

/** `env` with the huge-pages tunable added to GLIBC_TUNABLES (kept as the user set it when it already says otherwise). */
export function withHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
	const current = env.GLIBC_TUNABLES;
	if (current?.includes('glibc.malloc.hugetlb')) return env;
	return { ...env, GLIBC_TUNABLES: current ? `${current}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}
