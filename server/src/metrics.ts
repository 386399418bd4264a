/** The server's counters, rendered in the Prometheus text exposition format by {@link Metrics.render}. */
export class Metrics {
  connections = 0;
  messagesPublished = 0;
  messagesDelivered = 0;
  framesIn = 0;
  framesOut = 0;
  streamsEvicted = 0;
  /** Extra samples from the broker (name → value), rendered as they are. */
  extra: () => Record<string, number> = () => ({});
  readonly errors = new Map<string, number>();
  readonly notifyRequests = new Map<number, number>();
  /** WebSocket connections refused at `maxConnections` (`global`) or `maxConnectionsPerIp` (`per_ip`). */
  readonly refused = { global: 0, per_ip: 0 };

  connectionRefused(reason: 'global' | 'per_ip'): void {
    this.refused[reason]++;
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  notify(status: number): void {
    this.notifyRequests.set(status, (this.notifyRequests.get(status) ?? 0) + 1);
  }

  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: Array<[string, number]>): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    metric('sdk_realtime_connections', 'gauge', 'Open WebSocket connections.', [['', this.connections]]);
    metric('sdk_realtime_messages_published_total', 'counter', 'Messages accepted (notify, publish, pub).', [
      ['', this.messagesPublished],
    ]);
    metric('sdk_realtime_messages_delivered_total', 'counter', 'Message frames sent to connections.', [
      ['', this.messagesDelivered],
    ]);
    metric('sdk_realtime_frames_in_total', 'counter', 'Frames received from clients.', [['', this.framesIn]]);
    metric('sdk_realtime_frames_out_total', 'counter', 'Frames sent to clients.', [['', this.framesOut]]);
    metric('sdk_realtime_streams_evicted_total', 'counter', 'Stream histories forgotten at the history.streams bound.', [
      ['', this.streamsEvicted],
    ]);
    metric('sdk_realtime_connections_refused_total', 'counter', 'WebSocket connections closed with 1013 at a connection cap, by cap.', [
      ['{reason="global"}', this.refused.global],
      ['{reason="per_ip"}', this.refused.per_ip],
    ]);
    metric('sdk_realtime_errors_total', 'counter', 'Errors sent to clients, by code.', [
      ...[...this.errors].map(([code, n]): [string, number] => [`{code="${escape(code)}"}`, n]),
    ]);
    metric('sdk_realtime_notify_requests_total', 'counter', 'POST /notify requests, by HTTP status.', [
      ...[...this.notifyRequests].map(([status, n]): [string, number] => [`{status="${status}"}`, n]),
    ]);
    // The broker's own counters (Redis: errors, gaps filled, publish latency, pub/sub lag).
    for (const [name, value] of Object.entries(this.extra())) {
      const type = name.endsWith('_total') || name.endsWith('_count') || name.endsWith('_sum') ? 'counter' : 'gauge';
      lines.push(`# TYPE ${name} ${type}`, `${name} ${value}`);
    }
    return lines.join('\n') + '\n';
  }
}

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
