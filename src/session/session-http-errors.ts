import { ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';

/** The 401 JSON answer of a route that needs a session. */
export function noSessionException(): UnauthorizedException {
  return new UnauthorizedException({
    statusCode: 401,
    error: 'Unauthorized',
    message: 'A session is required: log in first.',
  });
}

/** The 503 JSON answer of a session route while the session store is down. */
export function storeDownException(): ServiceUnavailableException {
  return new ServiceUnavailableException({
    statusCode: 503,
    error: 'Service Unavailable',
    message: 'The session store is unavailable; try again shortly.',
  });
}
