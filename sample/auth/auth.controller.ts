import { Body, Controller, Get, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { DEMO_USERS } from './demo-users';

@Controller()
export class AuthController {
  @Post('auth/login')
  @HttpCode(200)
  login(@Body() body: { username?: unknown; password?: unknown }) {
    const user = typeof body?.username === 'string' ? DEMO_USERS[body.username] : undefined;
    if (!user || user.password !== body.password)
      throw new UnauthorizedException('Unknown user or wrong password');
    return { success: true, user: { id: user.id, name: user.name, email: user.email } };
  }

  @Get('profile')
  profile() {
    // Sessions arrive with SessionModule; until then nobody is logged in.
    throw new UnauthorizedException('Not authenticated');
  }

  @Post('auth/logout')
  @HttpCode(200)
  logout() {
    return { success: true };
  }
}
