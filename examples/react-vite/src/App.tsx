import { useState } from 'react';
import { useConnectionState, useOnlineCount, useSubscription } from 'sdk-realtime/react';
import { TOPIC, USER } from './config';

/** What the back end sends in `data` (POST /notify), e.g. `{ "id": "o-1", "status": "paid", "item": "Room 12" }`. */
interface Order {
  id: string;
  status: string;
  item?: string;
}

const isOrder = (d: unknown): d is Order =>
  typeof d == 'object' && d != null && typeof (d as Order).id == 'string' && typeof (d as Order).status == 'string';

export function App() {
  const [orders, setOrders] = useState<Record<string, Order & { at: number }>>({});
  const [missed, setMissed] = useState(false);
  useSubscription(TOPIC, {
    onMessage: (m) => {
      if (isOrder(m.data)) {
        const order = m.data;
        setOrders((all) => ({ ...all, [order.id]: { ...all[order.id], ...order, at: m.ts } }));
      }
    },
    // The server could not replay everything (e.g. it restarted): a real app refetches here.
    onGap: () => setMissed(true),
  });
  const rows = Object.values(orders).sort((a, b) => a.id.localeCompare(b.id));
  return (
    <main>
      <header>
        <h1>Live orders</h1>
        <OnlineBadge />
        <ConnectionIndicator />
      </header>
      <p className="muted">
        Signed in as <b>{USER}</b>, watching topic <code>{TOPIC}</code>.
      </p>
      {missed && (
        <p className="notice" data-testid="gap">
          Some updates may have been missed while offline; the ones the server still had were replayed.
        </p>
      )}
      <table data-testid="board">
        <thead>
          <tr>
            <th>Order</th>
            <th>Item</th>
            <th>Status</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          {rows.length == 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No orders yet: POST one to /notify (see README).
              </td>
            </tr>
          )}
          {rows.map((o) => (
            <tr key={o.id} data-testid={`order-${o.id}`}>
              <td>{o.id}</td>
              <td>{o.item ?? '—'}</td>
              <td data-testid={`status-${o.id}`} className={`status ${o.status}`}>
                {o.status}
              </td>
              <td>{new Date(o.at).toLocaleTimeString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}

/** Re-renders on connection state changes only. */
function ConnectionIndicator() {
  const { state, reason } = useConnectionState();
  return (
    <span className={`indicator ${state}`} data-testid="connection" data-state={state} title={reason}>
      {state}
    </span>
  );
}

/** Re-renders when the topic's online count changes only. */
function OnlineBadge() {
  const count = useOnlineCount(TOPIC);
  return (
    <span className="badge" data-testid="online" data-users={count?.users ?? ''}>
      {count ? `${count.users} online` : '…'}
    </span>
  );
}
