// Rollout pacing: how many things may be notified of a pending execution now (semantics §8.4; IOTDOC
// `jobs-configurations-details.md` "Job rollout rates", `job-configurations-api.md`).
//
// How "per minute" is measured: the IoT docs give only "the maximum number of things that will be notified of a
// pending job, per minute". meadow uses a sliding 60-second window: at time t, the notifications sent in
// (t - 60 s, t] may not exceed the current rate. So no 60-second span [a, a + 60 s) ever holds more than the rate
// (fixed minute buckets would let 2× the rate through around a bucket edge), and a notification's slot frees exactly
// 60 s after it was sent. A rollout paced this way at 100/min notifies 100 at 0 s, 100 at 60 s, ... : exactly 1000
// in ten minutes.
//
// Rates:
// - No rollout config (or an empty one): no limit. IoT itself defaults maximumPerMinute to 1000; meadow imposes no
//   default rate, so a deployment without a rollout config reaches every device at once.
// - maximumPerMinute alone: that constant rate.
// - exponentialRate: baseRatePerMinute × incrementFactor^k, rounded down, where k counts the thresholds passed: k =
//   floor(notified / numberOfNotifiedThings) or floor(succeeded / numberOfSucceededThings), whichever is larger when
//   both are given (the docs: the rate rises when "either" is reached). Worked example from the docs: base 50,
//   factor 2, every 1000 notified -> 50, 100, 200, 400 per minute from 0, 1000, 2000, 3000 notified.
//   The exponential rate is capped by maximumPerMinute when that is given (its API meaning is "the maximum number
//   of things notified per minute", and both members may be set together), and otherwise by 1000, IoT's default
//   and the largest maximumPerMinute the Greengrass API accepts.
// - Things that join a continuous job's target group after the job was created are notified at once ("job
//   executions are created in near-real time as soon as the devices join"); pass `addedAfterJobCreation`.
import type { RolloutConfig } from './types.js';

export const ROLLOUT_WINDOW_MS = 60_000;

/** The cap on an exponential rate when the config has no maximumPerMinute. */
export const DEFAULT_MAXIMUM_PER_MINUTE = 1000;

export interface RolloutInput {
  config: RolloutConfig | undefined;
  /** When the job began rolling out; nobody is notified before it. */
  jobStartedAt: number;
  now: number;
  /**
   * When each rate-limited notification was sent. Only the last 60 s matter, so older entries may be left out.
   * Notifications of things that joined after job creation are not rate-limited and do not belong here.
   */
  notificationTimes: readonly number[];
  /** Things notified so far, all of them: drives numberOfNotifiedThings. */
  notifiedCount: number;
  /** Executions SUCCEEDED so far: drives numberOfSucceededThings. */
  succeededCount: number;
  /** The things to notify joined the target group of a continuous job after it was created: no limit applies. */
  addedAfterJobCreation?: boolean;
}

export interface RolloutAllowance {
  /** The current rate per minute; undefined when nothing limits this rollout. */
  ratePerMinute: number | undefined;
  /** How many more may be notified at `now`: Infinity when unlimited. */
  allowedNow: number;
  /**
   * When the next notification may go out: `now` if allowedNow > 0, else when enough of the window's notifications
   * have aged out. With numberOfSucceededThings, a success can raise the rate sooner, so re-evaluate on successes too.
   */
  nextAt: number;
}

/** The rate per minute for these counts; undefined = unlimited. */
export function rolloutRatePerMinute(config: RolloutConfig | undefined, notifiedCount: number, succeededCount: number): number | undefined {
  const exponential = config?.exponentialRate;
  if (!exponential) return config?.maximumPerMinute;
  const cap = config.maximumPerMinute ?? DEFAULT_MAXIMUM_PER_MINUTE;
  return grownRate(exponential.baseRatePerMinute, exponential.incrementFactor, increasesPassed(config, notifiedCount, succeededCount), cap);
}

export function rolloutAllowance(input: RolloutInput): RolloutAllowance {
  const { config, now, notifiedCount, succeededCount } = input;
  const rate = input.addedAfterJobCreation ? undefined : rolloutRatePerMinute(config, notifiedCount, succeededCount);
  if (now < input.jobStartedAt) return { ratePerMinute: rate, allowedNow: 0, nextAt: input.jobStartedAt };
  if (rate === undefined || config === undefined) return { ratePerMinute: undefined, allowedNow: Infinity, nextAt: now };

  const inWindow = input.notificationTimes.filter((t) => t > now - ROLLOUT_WINDOW_MS).sort((a, b) => a - b);
  const allowedNow = allowanceWithin(config, inWindow.length, notifiedCount, succeededCount);
  if (allowedNow > 0) return { ratePerMinute: rate, allowedNow, nextAt: now };
  // One slot frees when all but rate - 1 of the window's notifications have aged out.
  const mustAgeOut = inWindow.length - rate + 1;
  return { ratePerMinute: rate, allowedNow: 0, nextAt: inWindow[mustAgeOut - 1] + ROLLOUT_WINDOW_MS };
}

/**
 * Room left in the window. With numberOfNotifiedThings, the notifications granted here count towards the next rate
 * increase, so a grant that crosses a threshold continues at the higher rate (990 notified, base 50, every 1000:
 * 10 at 50/min, then up to 100 in the window at 100/min).
 */
function allowanceWithin(config: RolloutConfig, inWindow: number, notifiedCount: number, succeededCount: number): number {
  let granted = 0;
  for (;;) {
    const notified = notifiedCount + granted;
    const rate = rolloutRatePerMinute(config, notified, succeededCount)!;
    const room = rate - inWindow - granted;
    if (room <= 0) return granted;
    const untilIncrease = notificationsUntilRateIncrease(config, notified, succeededCount, rate);
    if (room < untilIncrease) return granted + room;
    granted += untilIncrease;
  }
}

/** How many more notifications raise the rate; Infinity when notifying cannot raise it. */
function notificationsUntilRateIncrease(config: RolloutConfig, notified: number, succeeded: number, rate: number): number {
  const every = config.exponentialRate?.rateIncreaseCriteria.numberOfNotifiedThings;
  const cap = config.maximumPerMinute ?? DEFAULT_MAXIMUM_PER_MINUTE;
  if (every === undefined || rate >= cap) return Infinity;
  return (increasesPassed(config, notified, succeeded) + 1) * every - notified;
}

function increasesPassed(config: RolloutConfig, notified: number, succeeded: number): number {
  const criteria = config.exponentialRate?.rateIncreaseCriteria ?? {};
  const byNotified = criteria.numberOfNotifiedThings ? Math.floor(notified / criteria.numberOfNotifiedThings) : 0;
  const bySucceeded = criteria.numberOfSucceededThings ? Math.floor(succeeded / criteria.numberOfSucceededThings) : 0;
  return Math.max(byNotified, bySucceeded);
}

/**
 * floor(base × factor^k), at most cap. incrementFactor has at most one decimal, so base × factor^k is exactly
 * base × (10·factor)^k / 10^k: BigInt keeps it exact where floating point would drift (1.1^k is not representable).
 */
function grownRate(base: number, factor: number, increases: number, cap: number): number {
  const tenths = BigInt(Math.round(factor * 10));
  if (tenths <= 10n || increases === 0) return Math.min(base, cap);
  let numerator = BigInt(base);
  let denominator = 1n;
  for (let i = 0; i < increases; i++) {
    numerator *= tenths;
    denominator *= 10n;
    if (numerator >= BigInt(cap) * denominator) return cap; // also ends the loop long before k gets large
  }
  return Math.min(cap, Number(numerator / denominator));
}
