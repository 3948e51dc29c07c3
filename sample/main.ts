// First: the OpenTelemetry SDK (when OTEL_EXPORTER_OTLP_ENDPOINT is set) starts before Nest loads.
import './telemetry';
import { Logger } from '@nestjs/common';
import { createSampleApp } from './app.factory';
import { sampleOptionsFromEnv, samplePlatformFromEnv } from './sample-options';

async function main(): Promise<void> {
  const options = sampleOptionsFromEnv();
  const platform = samplePlatformFromEnv();
  const app = await createSampleApp(options, true, { platform });
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  const store = options.redisCluster
    ? 'Redis Cluster'
    : options.redisUrl
      ? 'Redis'
      : 'embedded in-memory stores';
  new Logger('Sample').log(
    `nestjs-llm-kit sample listening on http://localhost:${port} (${platform}, ${store})`,
  );
}

main().catch((error: unknown) => {
  new Logger('Sample').error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
