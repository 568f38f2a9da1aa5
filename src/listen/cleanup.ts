/**
 * One stack of things to undo, for every way a session ends (a failure while starting, ^C, SIGTERM, a closed pipe):
 * run newest first, each once, a failure in one not stopping the others.
 */
export class CleanupStack {
  readonly #steps: { name: string; undo: () => unknown }[] = [];
  #running?: Promise<void>;

  /** Adds a step; returns the value given, so a part can be opened and registered in one line. */
  push<T>(name: string, undo: () => unknown, value?: T): T {
    this.#steps.push({ name, undo });
    return value as T;
  }

  /** Runs every step, newest first; idempotent. `onError` hears of a step that threw. */
  run(onError?: (name: string, err: unknown) => void): Promise<void> {
    this.#running ??= (async () => {
      for (let step = this.#steps.pop(); step; step = this.#steps.pop()) {
        try {
          await step.undo();
        } catch (err) {
          onError?.(step.name, err);
        }
      }
    })();
    return this.#running;
  }
}
