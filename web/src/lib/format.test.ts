import { describe, expect, it } from 'vitest';
import { appLinkFor } from './format';

describe('appLinkFor', () => {
  it('opens an execution result link on the execution page', () => {
    expect(appLinkFor('/api/v1/executions/abc-123/result')).toBe('/history/abc-123');
  });

  it('keeps in-app paths and refuses other API paths and other sites', () => {
    expect(appLinkFor('/settings')).toBe('/settings');
    expect(appLinkFor('/api/v1/notifications')).toBeNull();
    expect(appLinkFor('//evil.example/x')).toBeNull();
    expect(appLinkFor('https://evil.example/x')).toBeNull();
  });
});
