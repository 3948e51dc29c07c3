import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optionalRequire } from './optional-require';

describe('optionalRequire', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'optional-require-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Under Jest, `require` of a missing module throws Jest's ModuleNotFoundError, an Error of
  // the outer realm: `instanceof Error` is false here, as in a consumer's Jest suite.
  it('returns null for a module that is not installed, under Jest (an error from another realm)', () => {
    expect(optionalRequire('nestjs-llm-kit-not-installed-peer')).toBeNull();
  });

  it('returns the module when it is installed', () => {
    expect(optionalRequire<typeof import('node:path')>('node:path')?.join('a', 'b')).toBe('a/b');
  });

  it('throws when the module is there but one of its own dependencies is missing', () => {
    const broken = join(dir, 'broken-peer.js');
    writeFileSync(broken, "require('nestjs-llm-kit-missing-dependency-of-the-peer');\n");
    expect(() => optionalRequire(broken)).toThrow(/nestjs-llm-kit-missing-dependency-of-the-peer/);
  });

  it('throws what the module throws while loading', () => {
    const failing = join(dir, 'failing-peer.js');
    writeFileSync(failing, "throw new Error('peer failed to initialise');\n");
    expect(() => optionalRequire(failing)).toThrow('peer failed to initialise');
  });
});
