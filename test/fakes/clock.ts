// A clock tests move by hand, so canary steps, TTLs and schedules run without sleeping.
import type { Clock } from '../../src/clock.ts';

export class FakeClock implements Clock {
  private t: number;

  constructor(start: Date | string) {
    this.t = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  set(at: Date | string): void {
    this.t = new Date(at).getTime();
  }

  advance(ms: number): void {
    this.t += ms;
  }
}
