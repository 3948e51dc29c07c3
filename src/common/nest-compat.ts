import type { PipeTransform, Type } from '@nestjs/common';

/**
 * What `createParamDecorator` returns, spelled without Nest 12's `ParameterDecoratorOptions`
 * (which Nest 11 lacks): without this annotation the published `.d.ts` name that type and fail
 * to compile in a Nest 11 app that type-checks its libraries (`skipLibCheck: false`).
 *
 * @example
 * export const Tenant: ParamDecoratorFactory<string> = createParamDecorator(readTenant);
 */
export type ParamDecoratorFactory<TData> = (
  ...dataOrPipes: (TData | PipeTransform | Type<PipeTransform> | undefined)[]
) => ParameterDecorator;
