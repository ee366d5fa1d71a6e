// Per-access-key token bucket. Off unless MEADOW_API_RATE_LIMIT is set; when a caller runs dry it gets a
// ThrottlingException with the seconds until a request would be admitted again.
export class Throttle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number = Math.max(1, ratePerSecond),
  ) {}

  /** Returns 0 when admitted, else whole seconds to wait. */
  take(key: string, now: number): number {
    if (this.ratePerSecond <= 0) return 0;
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSecond));
  }
}
