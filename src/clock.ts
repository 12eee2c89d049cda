// Time comes through this so canary steps, TTLs and schedules can be driven by a fake clock in tests.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
