// The app both consumers boot: decorators applied as plain calls, since neither file is
// compiled. It must start, answer a request that goes through the kit, and shut down.
const http = require('node:http');

function get(port, path) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
}

async function boot(nest, kit, flavour) {
  const { Module, Controller, Get, NestFactory } = nest;
  const { RedisModule, REDIS_CLIENT } = kit;
  if (typeof RedisModule?.forRoot !== 'function')
    throw new Error(`${flavour}: RedisModule not exported`);

  class PingController {
    constructor(redis) {
      this.redis = redis;
    }
    async ping() {
      await this.redis.set('compat:key', flavour);
      return { redis: await this.redis.get('compat:key') };
    }
  }
  Reflect.decorate(
    [Get('ping')],
    PingController.prototype,
    'ping',
    Object.getOwnPropertyDescriptor(PingController.prototype, 'ping'),
  );
  Reflect.decorate([Controller()], PingController);
  Reflect.defineMetadata('self:paramtypes', [{ index: 0, param: REDIS_CLIENT }], PingController);

  class AppModule {}
  Reflect.decorate(
    [
      Module({
        imports: [RedisModule.forRoot({ url: process.env.REDIS_URL })],
        controllers: [PingController],
      }),
    ],
    AppModule,
  );

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  const res = await get(port, '/ping');
  await app.close();
  const version = require('@nestjs/core/package.json').version;
  if (res.status !== 200 || JSON.parse(res.body).redis !== flavour) {
    throw new Error(`${flavour} on Nest ${version}: unexpected answer ${res.status} ${res.body}`);
  }
  console.log(`ok: ${flavour} consumer on Nest ${version}`);
}

module.exports = { boot };
