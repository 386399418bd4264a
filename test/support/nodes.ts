import { startCli, type CliServer } from './cli';
import { API_KEY, JWT_SECRET } from './harness';

/** One real server process (the built CLI), a node of a cluster on Redis. */
export interface ServerNode extends CliServer {
  /** Its WebSocket URL. */
  url: string;
}

/** Start `sdk-realtime-server serve --redis <url>` on a free port and wait until it listens. */
export async function startNode(redisUrl: string, extraArgs: string[] = []): Promise<ServerNode> {
  const server = await startCli(['--port', '0', '--redis', redisUrl, '--jwt-secret', JWT_SECRET, '--api-key', API_KEY, '--any-app', ...extraArgs]);
  return { ...server, url: server.wsUrl };
}

/** A round-robin TCP balancer in front of the nodes (see scripts/local-cluster.mjs). */
export { startBalancer } from '../../scripts/local-cluster.mjs';
