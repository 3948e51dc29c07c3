import { createClient } from 'redis';
import { CrossSlotError, crossSlotErrors } from './cross-slot';
import { freePort } from './free-port';
import { RedisServer } from './redis-server';

const SLOTS = 16384;

/**
 * A 3-master Redis Cluster (no replicas) made of RedisServer processes. It can be stopped
 * (every node killed) and restarted on the same ports, empty. `stop()` fails if any node
 * answered CROSSSLOT since the last check, so a spec cannot kill the evidence.
 */
export class RedisCluster {
  /** The clusters this spec file started and has not stopped (for the CROSSSLOT guard). */
  static readonly running = new Set<RedisCluster>();
  /** CROSSSLOT errors counted on nodes before they were killed. */
  private crossSlotsBeforeStop = 0;
  private crossSlotsReported = 0;

  private constructor(
    readonly nodes: RedisServer[],
    private readonly busPorts: number[],
  ) {}

  /**
   * Starts and assembles the nodes. About 2 s: a master reports `cluster_state:ok` no sooner
   * than 2 s after it started (Redis' CLUSTER_WRITABLE_DELAY), after a restart too.
   */
  static async start(masters = 3): Promise<RedisCluster> {
    // One after the other: each takes a free port, and two at once could be handed the same.
    const nodes: RedisServer[] = [];
    const busPorts: number[] = [];
    for (let i = 0; i < masters; i++) {
      // A bus port of its own: the default (port + 10000) may be some other socket's.
      busPorts.push(await freePort());
      nodes.push(
        await RedisServer.start({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPorts[i]),
            '--cluster-config-file',
            `nodes-${i}.conf`,
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const cluster = new RedisCluster(nodes, busPorts);
    RedisCluster.running.add(cluster);
    await cluster.assemble();
    return cluster;
  }

  get rootNodes(): { url: string }[] {
    return this.nodes.map((node) => ({ url: node.url }));
  }

  /** The cluster as `RedisModule.forRoot()` takes it. */
  get target(): { cluster: { rootNodes: { url: string }[] } } {
    return { cluster: { rootNodes: this.rootNodes } };
  }

  /** Kills every node at once (SIGKILL), after counting their CROSSSLOT errors. */
  async stop(): Promise<void> {
    const live = this.nodes.filter((node) => node.running).map((node) => node.url);
    if (live.length > 0) this.crossSlotsBeforeStop += await crossSlotErrors(live);
    await Promise.all(this.nodes.map((node) => node.stop()));
    RedisCluster.running.delete(this);
    const unreported = await this.takeCrossSlotErrors();
    if (unreported > 0) throw new CrossSlotError(unreported, 'a Redis Cluster of this spec');
  }

  /** Starts the killed nodes again (they keep their slots, not their data) and waits for `cluster_state:ok`. */
  pause(): void {
    for (const node of this.nodes) node.pause();
  }

  resume(): void {
    for (const node of this.nodes) node.resume();
  }

  async restart(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.restart()));
    RedisCluster.running.add(this);
    await this.withClients((clients) => this.converge(clients));
  }

  /** CROSSSLOT errors since the last call (or the start), stopped nodes included. */
  async takeCrossSlotErrors(): Promise<number> {
    const live = this.nodes.filter((node) => node.running).map((node) => node.url);
    const total = this.crossSlotsBeforeStop + (live.length > 0 ? await crossSlotErrors(live) : 0);
    const unreported = total - this.crossSlotsReported;
    this.crossSlotsReported = total;
    return unreported;
  }

  private async assemble(): Promise<void> {
    await this.withClients(async (clients) => {
      const per = Math.ceil(SLOTS / clients.length);
      await Promise.all(
        clients.map((client, i) =>
          client.clusterAddSlotsRange({ start: i * per, end: Math.min(SLOTS, (i + 1) * per) - 1 }),
        ),
      );
      const first = this.nodes[0]!;
      await Promise.all(
        clients
          .slice(1)
          .map((client) =>
            client.sendCommand([
              'CLUSTER',
              'MEET',
              '127.0.0.1',
              String(first.port),
              String(this.busPorts[0]),
            ]),
          ),
      );
      await this.converge(clients);
    });
  }

  private async withClients(
    fn: (clients: ReturnType<typeof createClient>[]) => Promise<void>,
  ): Promise<void> {
    const clients = await Promise.all(
      this.nodes.map(async (node) => {
        const client = createClient({ url: node.url });
        client.on('error', () => undefined);
        await client.connect();
        return client;
      }),
    );
    try {
      await fn(clients);
    } finally {
      clients.forEach((client) => client.destroy());
    }
  }

  /** Cluster convergence has no event to wait on: polls CLUSTER INFO until every node agrees. */
  private async converge(clients: ReturnType<typeof createClient>[]): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(clients.map((client) => client.clusterInfo()));
      const ok = infos.every(
        (info) =>
          info.includes('cluster_state:ok') &&
          info.includes(`cluster_known_nodes:${clients.length}`),
      );
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`Redis Cluster did not converge: ${infos.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
