import { defineStore } from 'pinia';
import { useSubscription } from 'sdk-realtime/vue';
import { computed, ref } from 'vue';
import { TOPIC } from '../config';

/** What the back end sends in `data` (POST /notify), e.g. `{ "id": "o-1", "status": "paid", "item": "Room 12" }`. */
export interface Order {
  id: string;
  status: string;
  item?: string;
  /** Server timestamp of the last change (ms). */
  at: number;
}

const isOrder = (d: unknown): d is Omit<Order, 'at'> =>
  typeof d == 'object' && d != null && typeof (d as Order).id == 'string' && typeof (d as Order).status == 'string';

/**
 * Orders kept up to date by a subscription. A setup store runs in the app's context, so the
 * composable finds the client; its subscription lives as long as the store.
 */
export const useOrders = defineStore('orders', () => {
  const byId = ref<Record<string, Order>>({});
  /** The server could not replay everything (e.g. it restarted): a real app refetches here. */
  const missedUpdates = ref(false);

  useSubscription(TOPIC, {
    onMessage(m) {
      if (isOrder(m.data)) byId.value[m.data.id] = { ...byId.value[m.data.id], ...m.data, at: m.ts };
    },
    onGap: () => (missedUpdates.value = true),
  });

  const list = computed(() => Object.values(byId.value).sort((a, b) => a.id.localeCompare(b.id)));
  return { byId, list, missedUpdates };
});
