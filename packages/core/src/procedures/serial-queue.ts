/**
 * Runs async tasks one at a time, in arrival order. A failing task rejects its own promise only;
 * the queue goes on with the next.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
