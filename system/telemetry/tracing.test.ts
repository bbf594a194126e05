import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDir, type TempDir } from '../../test/support/temp-dir.js';
import { contextOf, currentTraceparent, inChildSpan, inSpan, withTrace } from '../events/trace-context.js';
import type { SpanLine } from './span-file-exporter.js';
import { startTracing, type Tracing } from './tracing.js';

let dir: TempDir;
let tracing: Tracing;
let file: string;

const lines = (): SpanLine[] => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as SpanLine) : []);
const SAMPLED_PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const UNSAMPLED_PARENT = '00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';

beforeAll(async () => {
  dir = await createTempDir('integr8s-tracing-');
  file = join(dir.path, 'spans.jsonl');
  tracing = startTracing({ nodeId: 'unit-node', mode: 'embedded', sampling: { enabled: true, ratio: 0 }, spansFile: file });
});

afterAll(async () => {
  await tracing.shutdown();
  await dir.cleanup();
});

describe('tracing with the live sampler', () => {
  it('ratio 0 records no new trace, yet the work still gets trace ids to pass on', () => {
    let passed: string | undefined;
    inSpan('root-at-0', {}, () => {
      passed = currentTraceparent();
    });
    expect(lines()).toEqual([]);
    expect(passed).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(tracing.sampler.recordsNewTraces).toBe(false);
  });

  it('ratio 1 records every new trace, with children and the node as resource', async () => {
    tracing.sampler.configure({ enabled: true, ratio: 1 });
    await inSpan('root-at-1', {}, async () => {
      await inChildSpan('child', { 'db.system.name': 'sqlite' }, async () => undefined);
    });
    const spans = lines();
    const root = spans.find((s) => s.name === 'root-at-1')!;
    const child = spans.find((s) => s.name === 'child')!;
    expect(root.parent_span_id).toBeNull();
    expect(child).toMatchObject({ trace_id: root.trace_id, parent_span_id: root.span_id, kind: 'CLIENT', node: 'unit-node' });
    expect(child.attributes['db.system.name']).toBe('sqlite');
  });

  it('a span with a parent follows the parent, whatever the ratio', () => {
    tracing.sampler.configure({ enabled: true, ratio: 0 });
    const before = lines().length;
    inSpan('under-sampled', { parent: contextOf(SAMPLED_PARENT)! }, () => undefined);
    inSpan('under-unsampled', { parent: contextOf(UNSAMPLED_PARENT)! }, () => undefined);
    const added = lines().slice(before);
    expect(added.map((s) => s.name)).toEqual(['under-sampled']);
    expect(added[0]).toMatchObject({ trace_id: '0af7651916cd43dd8448eb211c80319c', parent_span_id: 'b7ad6b7169203331' });
  });

  it('tracing disabled records nothing, not even under a sampled parent', () => {
    tracing.sampler.configure({ enabled: false, ratio: 1 });
    const before = lines().length;
    inSpan('disabled-root', {}, () => undefined);
    withTrace(SAMPLED_PARENT, () => inSpan('disabled-child', {}, () => undefined));
    expect(lines().length).toBe(before);
    expect(tracing.sampler.recordsNewTraces).toBe(false);
  });

  it('a failed span is marked as an error and the error passes on', async () => {
    tracing.sampler.configure({ enabled: true, ratio: 1 });
    await expect(inSpan('fails', {}, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(lines().find((s) => s.name === 'fails')?.status).toBe('error');
  });
});
