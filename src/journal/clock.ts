// The service's clock, as one place every reading of real time goes through (an LPAR's createdAt, a
// migration's timestamps and duration). The model itself runs on simulated time; these readings are
// the only thing in a request that is not determined by the requests before it. While a journaled
// request runs, its readings are recorded on a tape that the journal keeps; a replay plays the tape
// back, so the replayed LPAR is the same to the millisecond.

export class ServiceClock {
  /** Readings of the request being recorded (null: none is). */
  private recording: number[] | null = null;
  /** Readings to play back, and how far (null: real time). */
  private playing: number[] | null = null;
  private at = 0;

  now(): Date {
    return new Date(this.reading(() => Date.now()));
  }

  /** Milliseconds on a monotonic clock, for durations. */
  ms(): number {
    return this.reading(() => performance.now());
  }

  private reading(real: () => number): number {
    if (this.playing) {
      // A replayed request that reads the clock more often than it did is a divergence: real time.
      if (this.at < this.playing.length) return this.playing[this.at++]!;
      return real();
    }
    const v = real();
    this.recording?.push(v);
    return v;
  }

  record(): void {
    this.recording = [];
  }

  /** The readings since record(); recording stops. */
  stop(): number[] {
    const tape = this.recording ?? [];
    this.recording = null;
    return tape;
  }

  play(tape: readonly number[]): void {
    this.playing = [...tape];
    this.at = 0;
  }

  /** The tape being played back (a replayed request's readings, which its history keeps). */
  played(): number[] {
    return this.playing ? [...this.playing] : [];
  }

  /** Back to real time; how many readings of the tape were not used. */
  endPlay(): number {
    const left = this.playing ? this.playing.length - this.at : 0;
    this.playing = null;
    return left;
  }
}
