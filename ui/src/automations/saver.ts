/**
 * Autosave of the builder's draft: a change is saved `delayMs` after the last one, one request at a time (changes
 * made meanwhile are saved next), a failure keeps the unsaved draft and says so until the next change or `retry`.
 * Kept apart from React so that its timing is tested with fake timers; the page reads it through
 * useSyncExternalStore.
 */

export type SaveStatus = "saved" | "pending" | "saving" | "failed";
export type SaverState = { status: SaveStatus; error: unknown; savedAt: Date | null };

type Options<T> = {
  /** What is saved already (as loaded). */
  initial: T;
  save: (value: T) => Promise<unknown>;
  delayMs: number;
};

/** JSON with object keys sorted: equal for equal documents whatever the key order (the database's JSONB reorders). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) return item;
    const record = item as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]]));
  });
}

export class DraftSaver<T> {
  private readonly save: (value: T) => Promise<unknown>;
  private readonly delayMs: number;
  private latest: T;
  private latestKey: string;
  private savedKey: string;
  private inFlight: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private state: SaverState = { status: "saved", error: null, savedAt: null };
  private readonly listeners = new Set<() => void>();

  constructor({ initial, save, delayMs }: Options<T>) {
    this.save = save;
    this.delayMs = delayMs;
    this.latest = initial;
    this.latestKey = this.savedKey = canonicalJson(initial);
  }

  getState = (): SaverState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  };

  /** The canonical JSON of what the server has (the last save that succeeded, or the initial value). */
  get saved(): string {
    return this.savedKey;
  }

  /** Something is not saved yet (waiting, being saved or failed). */
  get dirty(): boolean {
    return this.inFlight !== null || this.latestKey !== this.savedKey;
  }

  change(value: T): void {
    this.latest = value;
    this.latestKey = canonicalJson(value);
    this.clearTimer();
    if (this.inFlight) return this.schedule(); // saved again once the request in flight is answered
    if (this.latestKey === this.savedKey) return this.set({ status: "saved", error: null });
    this.set({ status: "pending", error: null });
    this.schedule();
  }

  /** Saves now whatever is not saved; resolves once the server has the latest value, rejects if a save fails. */
  async flush(): Promise<void> {
    this.clearTimer();
    for (;;) {
      if (this.inFlight) {
        await this.inFlight;
        continue;
      }
      if (this.latestKey === this.savedKey) return;
      await this.start();
    }
  }

  /** Saves again after a failure. */
  retry(): void {
    void this.flush().catch(() => undefined);
  }

  /**
   * Takes `value` as what the server has now (a draft reloaded after it changed elsewhere, or a version copied into
   * the draft and saved), dropping what was not saved.
   */
  reset(value: T): void {
    this.clearTimer();
    this.latest = value;
    this.latestKey = this.savedKey = canonicalJson(value);
    this.set({ status: "saved", error: null });
  }

  /** Stops the timer (the page is left): what is not saved yet is saved now. */
  dispose(): void {
    if (this.timer !== null) this.retry();
  }

  private start(): Promise<void> {
    const value = this.latest;
    const key = this.latestKey;
    this.set({ status: "saving", error: null });
    const request = this.save(value).then(
      () => {
        this.inFlight = null;
        this.savedKey = key;
        const done = this.latestKey === key;
        this.set({ status: done ? "saved" : "pending", error: null, savedAt: new Date() });
      },
      (error: unknown) => {
        this.inFlight = null;
        this.set({ status: "failed", error });
        throw error;
      },
    );
    this.inFlight = request;
    return request;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      this.retry();
    }, this.delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private set(next: Partial<SaverState>): void {
    this.state = { ...this.state, ...next };
    for (const listener of this.listeners) listener();
  }
}
