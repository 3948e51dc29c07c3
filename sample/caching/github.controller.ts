import {
  BadGatewayException,
  BadRequestException,
  Controller,
  Get,
  NotFoundException,
  Param,
} from '@nestjs/common';
import { ApiCacheClient, CacheApi } from '../../src';

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** The seed's "GitHub API caching": `GET /github/repos/:owner/:repo` proxied to `GITHUB_API_URL`. */
@Controller('github')
export class GithubController {
  private readonly baseUrl = (process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(
    /\/$/,
    '',
  );

  constructor(private readonly api: ApiCacheClient) {}

  @Get('repos/:owner/:repo')
  @CacheApi({ ttlMs: 60_000 })
  async repo(@Param('owner') owner: string, @Param('repo') repo: string): Promise<unknown> {
    if (!NAME.test(owner) || !NAME.test(repo))
      throw new BadRequestException('"owner" and "repo" must be GitHub names');
    const answer = await this.api.get(`${this.baseUrl}/repos/${owner}/${repo}`, {
      ttlMs: 60_000,
      headers: { accept: 'application/vnd.github+json', 'user-agent': 'nestjs-llm-kit-sample' },
    });
    if (answer.status === 404) throw new NotFoundException(`${owner}/${repo} not found`);
    if (answer.status >= 400) throw new BadGatewayException(`GitHub answered ${answer.status}`);
    return answer.body;
  }
}
