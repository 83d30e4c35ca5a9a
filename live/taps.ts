/** A dead-letter sink that tells listeners what it committed (the data-quality rule counts it). */
import type { DeadLetter, DeadLetterQuery, DeadLetterSink, NewDeadLetter } from '../core/dead-letter.ts';

export class DeadLetterTap implements DeadLetterSink {
  readonly #sink: DeadLetterSink;
  readonly #listeners = new Set<(entries: readonly NewDeadLetter[]) => void>();

  constructor(sink: DeadLetterSink) {
    this.#sink = sink;
  }

  get name(): string {
    return this.#sink.name;
  }

  start(): Promise<void> {
    return this.#sink.start();
  }

  stop(): Promise<void> {
    return this.#sink.stop();
  }

  async add(entries: readonly NewDeadLetter[]): Promise<void> {
    await this.#sink.add(entries);
    for (const listener of this.#listeners) {
      try {
        listener(entries);
      } catch {
        // A listener's failure is its own: the entries are committed.
      }
    }
  }

  list(query: DeadLetterQuery): Promise<DeadLetter[]> {
    return this.#sink.list(query);
  }

  /** Calls `listener` with the entries of every committed `add`; returns the function that stops it. */
  subscribe(listener: (entries: readonly NewDeadLetter[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
