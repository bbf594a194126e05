import { describe, expect, it } from 'vitest';
import { OptionsError, describeOptions, isLoopback, parseOptions } from './options.js';

function error(argv: string[]): string {
  try {
    parseOptions(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(OptionsError);
    return (err as Error).message;
  }
  throw new Error(`expected ${argv.join(' ')} to be refused`);
}

describe('options', () => {
  it('fills in defaults per mode', () => {
    const user = parseOptions(['user']);
    expect(user).toMatchObject({ mode: 'user', clients: 10, concurrency: 10, duration: 30, rampUp: 0, reportDir: './loadtest-report', follow: 'sse', thinkTimeMs: 500 });
    expect(user.target.href).toBe('http://127.0.0.1:8080/');
    expect(parseOptions(['monkey']).clients).toBe(4);
    expect(parseOptions(['sse-soak']).clients).toBe(50);
    expect(parseOptions(['monkey', '--seed', '42']).seed).toBe(42);
  });

  it('reads every option', () => {
    const o = parseOptions([
      'sse-soak',
      '--target',
      'http://localhost:9000/api/v1/',
      '--clients',
      '20',
      '--concurrency',
      '4',
      '--duration',
      '2.5',
      '--ramp-up',
      '1',
      '--report-dir',
      '/tmp/x',
      '--username',
      'admin',
      '--password',
      'secret',
      '--rate',
      '0.5',
      '--exec-sleep',
      '2',
      '--drain',
      '5',
      '--timeout',
      '2000',
      '--quiet',
    ]);
    expect(o).toMatchObject({ clients: 20, concurrency: 4, duration: 2.5, rampUp: 1, reportDir: '/tmp/x', username: 'admin', password: 'secret', rate: 0.5, execSleep: 2, drain: 5, timeoutMs: 2000, quiet: true });
    expect(o.target.href).toBe('http://localhost:9000/'); // /api/v1 is added by the tool
    expect(describeOptions(o)).not.toHaveProperty('password');
    expect(JSON.stringify(describeOptions(o))).not.toContain('secret');
  });

  it('names the option that is wrong', () => {
    expect(error(['user', '--clients', 'abc'])).toMatch(/--clients: expected an integer \(got "abc"\)/);
    expect(error(['user', '--clients', '0'])).toMatch(/--clients: must be at least 1/);
    expect(error(['user', '--duration', '0'])).toMatch(/--duration: must be greater than 0/);
    expect(error(['user', '--duration=-3'])).toMatch(/--duration: expected a number/);
    expect(error(['user', '--follow', 'carrier-pigeon'])).toMatch(/--follow: must be sse or poll/);
    expect(error(['user', '--target', 'ftp://127.0.0.1'])).toMatch(/--target: must be an http/);
    expect(error(['user', '--target', 'not a url'])).toMatch(/--target: not a URL/);
    expect(error(['user', '--bogus'])).toMatch(/Unknown option '--bogus'/);
    expect(error(['user', '--clients'])).toMatch(/--clients/);
  });

  it('reports several problems at once', () => {
    const msg = error(['user', '--clients', 'x', '--timeout', '5']);
    expect(msg).toMatch(/--clients/);
    expect(msg).toMatch(/--timeout: must be at least 100/);
  });

  it('checks the mode and mode-only options', () => {
    expect(error([])).toMatch(/missing <mode>/);
    expect(error(['soak'])).toMatch(/<mode>: mode must be one of user, monkey, sse-soak/);
    expect(error(['user', 'monkey'])).toMatch(/expected one <mode>/);
    expect(error(['monkey', '--follow', 'poll'])).toMatch(/--follow: only applies to mode user/);
    expect(error(['user', '--rate', '2'])).toMatch(/--rate: only applies to mode sse-soak/);
  });

  it('checks combinations', () => {
    expect(error(['user', '--username', 'admin'])).toMatch(/--password: --username and --password go together/);
    expect(error(['user', '--duration', '5', '--ramp-up', '10'])).toMatch(/--ramp-up: must not exceed --duration/);
    expect(error(['user', '--keep-rate-limits'])).toMatch(/--keep-rate-limits/);
  });

  it('only loads loopback targets unless told otherwise', () => {
    expect(error(['user', '--target', 'http://example.com'])).toMatch(/--target: example.com is not a loopback address; pass --allow-remote/);
    expect(parseOptions(['user', '--target', 'http://example.com', '--allow-remote']).target.hostname).toBe('example.com');
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) expect(isLoopback(host)).toBe(true);
    for (const host of ['10.0.0.1', 'example.com', '128.0.0.1', 'localhost.evil.com']) expect(isLoopback(host)).toBe(false);
  });
});
