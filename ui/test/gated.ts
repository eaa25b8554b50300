/** A fake backend whose week answers a test can hold back, to decide when a week's data arrives. */
import type { Entry } from "../src/backend/backend";
import { FakeBackend } from "../src/backend/fake";

export class GatedBackend extends FakeBackend {
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;
  /** How many `listEntries` calls have been made. */
  asked = 0;

  /** Holds the answers of `listEntries` calls made from now on until `release()`. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  override async listEntries(from: string, to: string): Promise<Entry[]> {
    this.asked += 1;
    await this.gate;
    return super.listEntries(from, to);
  }
}
