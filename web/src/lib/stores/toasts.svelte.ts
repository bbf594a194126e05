/** Short messages at the corner of the screen: API failures, confirmations. */

export type ToastKind = 'info' | 'success' | 'error' | 'warning';

export interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
}

class Toasts {
  items = $state<Toast[]>([]);
  private next = 1;

  /** Shows a message for `ms` milliseconds (errors stay longer). */
  show(kind: ToastKind, text: string, ms = kind === 'error' ? 8000 : 4000): void {
    if (this.items.some((t) => t.text === text && t.kind === kind)) return;
    const id = this.next++;
    this.items = [...this.items, { id, kind, text }];
    setTimeout(() => this.dismiss(id), ms);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

/** The app's toast list. */
export const toasts = new Toasts();
