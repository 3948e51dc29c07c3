import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { shutdownTelemetry } from './telemetry';

/**
 * Flushes the OpenTelemetry SDK that `telemetry.ts` started (if any) when the app shuts down:
 * after the HTTP server has closed, so the last requests' spans are in the final export.
 */
@Module({})
export class SampleTelemetryModule implements OnApplicationShutdown {
  onApplicationShutdown(): Promise<void> {
    return shutdownTelemetry();
  }
}
