/**
 * The bridge's in-flight window and its setting, without servers: the window never holds more than its
 * limit and wakes the pull loop when room frees up; P8FS_BRIDGE_MAX_IN_FLIGHT is validated, and the old
 * P8FS_BRIDGE_BATCH_SIZE still works as its deprecated alias (a conflict between the two is an error).
 */
import { describe, expect, it } from 'vitest';
import { InFlightWindow } from '../../src/bridge/in-flight.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';

describe('InFlightWindow', () => {
  it('counts what it holds, remembers its peak and refuses to go over its limit', () => {
    const window = new InFlightWindow(2);
    window.take();
    window.take();
    expect(window.size).toBe(2);
    expect(window.free).toBe(0);
    expect(() => window.take()).toThrow(/over its limit of 2/);
    window.release();
    window.release();
    expect(() => window.release()).toThrow(/released more than it took/);
    expect(window.peak).toBe(2);
    expect(window.size).toBe(0);
    expect(() => new InFlightWindow(0)).toThrow(RangeError);
  });

  it('until(n) resolves once at most n are held, in the order room frees up', async () => {
    const window = new InFlightWindow(4);
    for (let i = 0; i < 4; i++) window.take();
    const woke: string[] = [];
    const atMostThree = window.until(3).then(() => woke.push('≤3'));
    const empty = window.until(0).then(() => woke.push('0'));
    await Promise.resolve();
    expect(woke).toEqual([]);
    window.release();
    await atMostThree;
    expect(woke).toEqual(['≤3']);
    window.release();
    window.release();
    await Promise.resolve();
    expect(woke).toEqual(['≤3']);
    window.release();
    await empty;
    expect(woke).toEqual(['≤3', '0']);
    await window.until(0);
  });
});

describe('P8FS_BRIDGE_MAX_IN_FLIGHT', () => {
  it('defaults to 64, reads the new name, and reads the old batch size as its deprecated alias', () => {
    expect(loadConfig({}).bridge).toMatchObject({ maxInFlight: 64, batchSize: 64 });
    expect(loadConfig({}).bridge.deprecatedBatchSize).toBeUndefined();
    expect(loadConfig({ P8FS_BRIDGE_MAX_IN_FLIGHT: '8' }).bridge).toMatchObject({ maxInFlight: 8 });
    expect(loadConfig({ P8FS_BRIDGE_BATCH_SIZE: '16' }).bridge).toMatchObject({
      maxInFlight: 16,
      batchSize: 16,
      deprecatedBatchSize: true,
    });
    const both = loadConfig({ P8FS_BRIDGE_MAX_IN_FLIGHT: '16', P8FS_BRIDGE_BATCH_SIZE: '16' }).bridge;
    expect(both).toMatchObject({ maxInFlight: 16 });
    expect(both.deprecatedBatchSize).toBeUndefined();
  });

  it('names the variable when it is invalid or conflicts with the old name', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ P8FS_BRIDGE_MAX_IN_FLIGHT: '0' })).toEqual([
      expect.stringMatching(/^P8FS_BRIDGE_MAX_IN_FLIGHT="0" is invalid/),
    ]);
    expect(problems({ P8FS_BRIDGE_MAX_IN_FLIGHT: '5000' })).toEqual([
      expect.stringMatching(/^P8FS_BRIDGE_MAX_IN_FLIGHT="5000" is invalid: expected at most 4096/),
    ]);
    expect(problems({ P8FS_BRIDGE_BATCH_SIZE: 'x' })).toEqual([
      expect.stringMatching(/^P8FS_BRIDGE_BATCH_SIZE="x" is invalid/),
    ]);
    expect(problems({ P8FS_BRIDGE_MAX_IN_FLIGHT: '32', P8FS_BRIDGE_BATCH_SIZE: '64' })).toEqual([
      'P8FS_BRIDGE_BATCH_SIZE (64) is the deprecated name of P8FS_BRIDGE_MAX_IN_FLIGHT (32): set only P8FS_BRIDGE_MAX_IN_FLIGHT',
    ]);
  });
});
