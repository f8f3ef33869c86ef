// Types of browser.mjs for the TypeScript end-to-end scripts.
import type { Browser } from 'playwright-core';

export declare function launchChromium(): Promise<Browser>;
export declare function startCodeServer(options: { codeServer: string; extensionsDir: string; userData: string; workspace: string; port: number }): {
	url: string;
	log(): string;
	listening(ms: number): Promise<void>;
	kill(): void;
};
export declare function waitFor(check: () => boolean, ms: number, what: string): Promise<void>;
export declare function waitUntil(check: () => Promise<boolean>, ms: number, what: string): Promise<void>;
export declare function runCommand(page: import('playwright-core').Page, title: string, refocusTab?: string): Promise<void>;
/** Types `text` into the input box titled `title` (once it shows) and presses Enter. */
export declare function answerInputBox(page: import('playwright-core').Page, title: string, text: string, timeout?: number): Promise<void>;
/** Chooses item `index` of the quick pick titled `title`, once it shows. */
export declare function choosePick(page: import('playwright-core').Page, title: string, index: number, timeout?: number): Promise<void>;
/** The visible quick input titled `title`. */
export declare function quickInputTitled(page: import('playwright-core').Page, title: string): import('playwright-core').Locator;
