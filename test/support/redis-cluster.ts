import { createClient } from 'redis';
import { RedisServer } from './redis-server';

const SLOTS = 16384;

/** A 3-master Redis Cluster (no replicas) made of RedisServer processes. */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(masters = 3): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await RedisServer.start({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${i}.conf`,
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const cluster = new RedisCluster(nodes);
    await cluster.assemble();
    return cluster;
  }

  get rootNodes(): { url: string }[] {
    return this.nodes.map((node) => ({ url: node.url }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }

  private async assemble(): Promise<void> {
    const clients = await Promise.all(
      this.nodes.map(async (node) => {
        const client = createClient({ url: node.url });
        client.on('error', () => undefined);
        await client.connect();
        return client;
      }),
    );
    try {
      const per = Math.ceil(SLOTS / clients.length);
      await Promise.all(
        clients.map((client, i) =>
          client.clusterAddSlotsRange({ start: i * per, end: Math.min(SLOTS, (i + 1) * per) - 1 }),
        ),
      );
      const first = this.nodes[0]!;
      await Promise.all(
        clients.slice(1).map((client) => client.clusterMeet('127.0.0.1', first.port)),
      );
      // Cluster convergence has no event to wait on: poll CLUSTER INFO until every node agrees.
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
    } finally {
      clients.forEach((client) => client.destroy());
    }
  }
}
