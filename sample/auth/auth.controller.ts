import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { RequireSession, Session, SessionService } from '../../src';
import { checkDemoUser, demoUserById } from './demo-users';

/** The shape of a session id `listForUser` reports (its slot tag and id hash). */
const SESSION_HANDLE = /^[0-9a-f]{16}\.[0-9a-f]{32}$/;

function publicUser(userId: string | undefined) {
  const user = demoUserById(userId);
  return user && { id: user.id, name: user.name, email: user.email };
}

@Controller()
export class AuthController {
  constructor(private readonly sessions: SessionService) {}

  @Post('auth/login')
  @HttpCode(200)
  async login(@Body() body: { username?: unknown; password?: unknown }, @Req() req: Request) {
    // A session only for a known user with the right password (both strings, own entries).
    const user = checkDemoUser(body?.username, body?.password);
    if (!user) throw new UnauthorizedException('Unknown user or wrong password');
    await this.sessions.create(req, { userId: user.id });
    return { success: true, user: publicUser(user.id) };
  }

  @Get('profile')
  @RequireSession()
  profile(@Session('userId') userId: string | undefined) {
    const user = publicUser(userId);
    if (!user) throw new UnauthorizedException('Not authenticated');
    return user;
  }

  @Post('auth/logout')
  @HttpCode(200)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    await this.sessions.destroy(req, res);
    return { success: true };
  }

  @Get('auth/sessions')
  @RequireSession()
  list(@Session('userId') userId: string, @Req() req: Request) {
    return this.sessions.listForUser(userId, req);
  }

  @Delete('auth/sessions/:id')
  @RequireSession()
  async revoke(@Param('id') id: string, @Session('userId') userId: string) {
    if (!SESSION_HANDLE.test(id)) throw new BadRequestException('Malformed session id');
    // Only the user's own sessions: an id of someone else's session is "not found".
    const mine = await this.sessions.listForUser(userId);
    if (!mine.some((session) => session.id === id) || !(await this.sessions.revoke(id)))
      throw new NotFoundException('No such session');
    return { success: true };
  }

  @Delete('auth/sessions')
  @RequireSession()
  async revokeOthers(@Session('userId') userId: string, @Req() req: Request) {
    // `DELETE /auth/sessions/` (an empty id) also lands here: it names no session, so it
    // must not revoke every other one.
    if (req.url.split('?', 1)[0]!.endsWith('/')) throw new NotFoundException('No such session');
    const except = this.sessions.currentId(req);
    return { revoked: await this.sessions.revokeAllForUser(userId, { except }) };
  }
}
