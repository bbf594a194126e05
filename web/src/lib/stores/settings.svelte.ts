/** The signed-in user's settings: theme applied to the page, editor preferences read by the editor. */
import { api } from '../api/client';
import type { EditorSettings, Theme, UserSettings } from '../api/types';
import { setTimeDisplay } from '../format.svelte';

export const DEFAULT_EDITOR: EditorSettings = {
  theme: 'auto',
  font_size: 14,
  tab_size: 4,
  use_tabs: false,
  word_wrap: true,
  show_line_numbers: true,
};

const THEME_KEY = 'integr8s.theme';
const dark = window.matchMedia('(prefers-color-scheme: dark)');

class Settings {
  current = $state<UserSettings | null>(null);
  /** The theme in force (a signed-out visitor keeps the last one used on this browser). */
  theme = $state<Theme>((localStorage.getItem(THEME_KEY) as Theme | null) ?? 'auto');
  /** Whether the page is dark right now (theme, or the system's choice for `auto`). */
  isDark = $state(false);

  get editor(): EditorSettings {
    return this.current?.editor ?? DEFAULT_EDITOR;
  }

  async load(): Promise<void> {
    this.apply(await api.get<UserSettings>('/user/settings/'));
  }

  /** Clears what belonged to the previous user. */
  reset(): void {
    this.current = null;
    setTimeDisplay(undefined, undefined);
  }

  /** Saves a partial update and keeps what the server answered. */
  async update(patch: Partial<Omit<UserSettings, 'editor' | 'notifications'>> & { editor?: Partial<EditorSettings>; notifications?: Partial<UserSettings['notifications']> }): Promise<void> {
    this.apply(await api.put<UserSettings>('/user/settings/', { json: patch }));
  }

  private apply(values: UserSettings): void {
    setTimeDisplay(values.timezone, values.time_format);
    this.current = values;
    this.setTheme(values.theme);
  }

  /** Applies a theme to the document and remembers it for the next visit. */
  setTheme(theme: Theme): void {
    this.theme = theme;
    localStorage.setItem(THEME_KEY, theme);
    applyTheme();
  }
}

/** The app's settings. */
export const settings = new Settings();

function applyTheme(): void {
  settings.isDark = settings.theme === 'dark' || (settings.theme === 'auto' && dark.matches);
  document.documentElement.dataset['theme'] = settings.isDark ? 'dark' : 'light';
}

dark.addEventListener('change', applyTheme);
applyTheme();
