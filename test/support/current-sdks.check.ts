// The llm-calls-current-sdks project's setup file: the specs must load the current majors
// (package.json's aliases), not the 6.x line, or the project would pass without testing them.
const expected: Record<string, RegExp> = {
  ai: /^7\./,
  '@ai-sdk/openai': /^4\./,
  openai: /^7\./,
};

for (const [name, major] of Object.entries(expected)) {
  const entry = require.resolve(name);
  const root = entry.slice(0, entry.lastIndexOf('/node_modules/') + '/node_modules/'.length);
  const folder = entry.slice(root.length).split('/').slice(0, 1)[0]!;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a version, read at run time
  const { version } = require(`${root}${folder}/package.json`) as { version: string };
  if (!major.test(version))
    throw new Error(`llm-calls-current-sdks: '${name}' resolved to ${entry} (version ${version})`);
}
