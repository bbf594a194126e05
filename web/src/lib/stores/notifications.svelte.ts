/** The bell's data: unread count and the latest notifications, kept live by the notification SSE stream. */
import { api } from '../api/client';
import type { AppNotification, NotificationList } from '../api/types';

class Notifications {
  unread = $state(0);
  latest = $state<AppNotification[]>([]);
  /** Bumped on every pushed notification, so open pages can refresh. */
  pushes = $state(0);
  private source: EventSource | null = null;

  /** Loads the count and the latest few, and opens the live stream (EventSource reconnects by itself). */
  async start(): Promise<void> {
    this.stop();
    await this.refresh();
    const source = new EventSource('/api/v1/events/notifications/stream', { withCredentials: true });
    source.addEventListener('notification', (event) => {
      const n = JSON.parse((event as MessageEvent<string>).data) as AppNotification;
      if (this.latest.some((x) => x.notification_id === n.notification_id)) return;
      this.latest = [n, ...this.latest].slice(0, 10);
      if (n.status !== 'read') this.unread += 1;
      this.pushes += 1;
    });
    this.source = source;
  }

  stop(): void {
    this.source?.close();
    this.source = null;
    this.unread = 0;
    this.latest = [];
  }

  async refresh(): Promise<void> {
    const list = await api.get<NotificationList>('/notifications', { query: { limit: 10 } });
    this.latest = list.notifications;
    this.unread = list.unread_count;
  }

  async markRead(id: string): Promise<void> {
    await api.put(`/notifications/${encodeURIComponent(id)}/read`);
    await this.refresh();
  }

  async markAllRead(): Promise<void> {
    await api.post('/notifications/mark-all-read');
    await this.refresh();
  }
}

/** The app's notifications. */
export const notifications = new Notifications();
