/**
 * README.md and docs/*.md stay true: every `npm run X` they name is a script of a package.json in the repository,
 * every repository path they name exists, and every relative link (with its #anchor) points at a file and heading
 * that exist. No services needed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DOCUMENTS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).map((name) => `docs/${name}`)].filter((name) =>
  name.endsWith('.md'),
);
/** Top-level entries a path in prose starts with; other slash-separated words (e.g. `role:sha256hex`) are not paths. */
const REPOSITORY_ROOTS = ['services', 'scripts', 'deploy', 'docs', 'cdk8s', 'charts', 'migrations', '.ci'];
/** Made by commands, not committed: named in the docs as where output goes. */
const GENERATED = ['cdk8s/dist'];

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

function npmScripts(): Set<string> {
  const manifests = [
    'package.json',
    ...JSON.parse(read('package.json')).workspaces.map((w: string) => `${w}/package.json`),
  ];
  const names = new Set<string>();
  for (const manifest of manifests)
    for (const name of Object.keys(JSON.parse(read(manifest)).scripts ?? {})) names.add(name);
  return names;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = read(file).replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((match) => headingAnchor(match[1] as string)));
}

/** Words in inline code and fenced blocks that look like repository paths. */
function namedPaths(text: string): string[] {
  const code = [...text.matchAll(/```[\s\S]*?```|`[^`\n]+`/g)].map((match) => match[0]);
  const paths = new Set<string>();
  for (const snippet of code) {
    // `kubectl scale deploy/api` names a Deployment, not the deploy/ folder.
    const kubectl = snippet.includes('kubectl');
    for (const word of snippet.split(/[\s`'"()=,;|]+/)) {
      const candidate = word
        .replace(/#.*$/, '')
        .replace(/[:.]+$/, '')
        .replace(/:\d+$/, '');
      if (!REPOSITORY_ROOTS.some((root) => candidate.startsWith(`${root}/`))) continue;
      if (kubectl && /^deploy\/[\w-]+$/.test(candidate)) continue;
      if (/[*<>{}…$]/.test(candidate) || GENERATED.some((generated) => candidate.startsWith(generated))) continue;
      paths.add(candidate);
    }
  }
  return [...paths];
}

describe.each(DOCUMENTS)('%s', (file) => {
  const text = read(file);

  it('names only npm scripts that exist', () => {
    const scripts = npmScripts();
    const named = [...text.matchAll(/npm run ([\w:-]+)/g)].map((match) => match[1] as string);
    expect(named.filter((name) => !scripts.has(name))).toEqual([]);
  });

  it('names only repository paths that exist', () => {
    expect(namedPaths(text).filter((named) => !existsSync(path.join(ROOT, named)))).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!target || /^[a-z]+:/.test(target)) continue;
      const [linked = '', anchor] = target.split('#');
      const linkedFile = linked ? path.relative(ROOT, path.resolve(ROOT, path.dirname(file), linked)) : file;
      if (linkedFile.startsWith('..') || !existsSync(path.join(ROOT, linkedFile))) broken.push(target);
      else if (anchor && linkedFile.endsWith('.md') && !anchorsOf(linkedFile).has(anchor)) broken.push(target);
    }
    expect(broken).toEqual([]);
  });
});

describe('the documentation checks themselves', () => {
  it('derive anchors like GitHub and find paths in code spans', () => {
    expect(headingAnchor('Order state machine')).toBe('order-state-machine');
    expect(headingAnchor('`GET /orders`: limit/offset')).toBe('get-orders-limitoffset');
    expect(namedPaths('run `scripts/test-all.sh services/x.ts:12` and `role:sha256hex`')).toEqual([
      'scripts/test-all.sh',
      'services/x.ts',
    ]);
  });
});
