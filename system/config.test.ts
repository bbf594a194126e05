import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.dataDir.endsWith('/data')).toBe(true);
    expect(c.limits.wallMs).toBe(10_000);
    expect(c.limits.outputBytes).toBe(1024 * 1024);
    expect(c.admin).toBeNull();
  });

  it('refuses private notification targets unless the operator allows them', () => {
    expect(loadConfig({}).notificationAllowPrivateTargets).toBe(false);
    expect(loadConfig({ NOTIFICATION_ALLOW_PRIVATE_TARGETS: 'true' }).notificationAllowPrivateTargets).toBe(true);
    expect(() => loadConfig({ NOTIFICATION_ALLOW_PRIVATE_TARGETS: 'yes' })).toThrow(/NOTIFICATION_ALLOW_PRIVATE_TARGETS/);
  });

  it('names each bad variable', () => {
    const run = () => loadConfig({ PORT: 'abc', SANDBOX_MEMORY_MB: '1', LOG_LEVEL: 'loud' });
    expect(run).toThrow(ConfigError);
    try {
      run();
    } catch (err) {
      const text = (err as Error).message;
      expect(text).toContain('PORT');
      expect(text).toContain('SANDBOX_MEMORY_MB');
      expect(text).toContain('LOG_LEVEL');
    }
  });

  it('needs both admin variables or neither', () => {
    expect(() => loadConfig({ ADMIN_USERNAME: 'root' })).toThrow(/ADMIN_PASSWORD/);
    expect(loadConfig({ ADMIN_USERNAME: 'root', ADMIN_PASSWORD: 'long enough' }).admin).toEqual({ username: 'root', password: 'long enough' });
  });

  it('converts units once', () => {
    const c = loadConfig({ SANDBOX_TIMEOUT_SECONDS: '3', SANDBOX_MEMORY_MB: '64', CORS_ORIGINS: 'http://a, http://b' });
    expect(c.limits.wallMs).toBe(3000);
    expect(c.limits.memoryBytes).toBe(64 * 1024 * 1024);
    expect(c.corsOrigins).toEqual(['http://a', 'http://b']);
  });
});
