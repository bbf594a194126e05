import { describe, expect, it } from 'vitest';
import { appLinkFor } from './format.svelte';

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

describe('formatTime', () => {
  it('shows a time in the chosen time zone and clock', async () => {
    const { formatTime, setTimeDisplay } = await import('./format.svelte');
    setTimeDisplay('Asia/Tokyo', '24h');
    const shown = formatTime('2024-01-31T23:30:00Z');
    expect(shown).toContain('08:30');
    expect(shown).toMatch(/GMT\+9|JST/);
    setTimeDisplay('UTC', '12h');
    expect(formatTime('2024-01-31T23:30:00Z')).toMatch(/11:30:00\s?PM/);
    setTimeDisplay(undefined, undefined);
    expect(formatTime(null)).toBe('—');
  });
});
