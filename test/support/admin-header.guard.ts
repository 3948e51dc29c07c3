import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';

/** A stand-in for an app's own admin guard: lets through requests with `x-admin: yes`. */
@Injectable()
export class AdminHeaderGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context
      .switchToHttp()
      .getRequest<{ headers: Record<string, string | undefined> }>();
    return req.headers['x-admin'] === 'yes';
  }
}
