/**
 * deploy/: the Kubernetes Jobs and the GitHub Actions workflow parse, use only fields their
 * schemas have (the batch/v1 Job, PodSpec and Container fields, listed here from the Kubernetes
 * API reference), and wire the shard index to --shard and --out consistently. Without a cluster,
 * `kubectl apply --dry-run=client` cannot fetch the schema, so this is the check that runs
 * everywhere; docs/SCALE.md says how to run kubectl's where a cluster is at hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

/** A parsed YAML document: its shape is exactly what these tests check, so it is left open. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

const DEPLOY = join(import.meta.dirname, '..', '..', 'deploy');
const load = (file: string) =>
  parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8')).map((d) => {
    expect(d.errors, file).toEqual([]);
    return d.toJS() as Doc;
  });

const JOB_SPEC = [
  'completionMode',
  'completions',
  'parallelism',
  'backoffLimit',
  'backoffLimitPerIndex',
  'maxFailedIndexes',
  'template',
  'activeDeadlineSeconds',
  'ttlSecondsAfterFinished',
];
const POD_SPEC = ['restartPolicy', 'containers', 'volumes', 'nodeSelector', 'tolerations'];
const CONTAINER = ['name', 'image', 'command', 'args', 'env', 'resources', 'volumeMounts'];

function checkJob(job: Doc, file: string) {
  expect(job.apiVersion, file).toBe('batch/v1');
  expect(job.kind, file).toBe('Job');
  expect(job.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  for (const k of Object.keys(job.spec)) expect(JOB_SPEC, `${file}: spec.${k}`).toContain(k);
  const pod = job.spec.template.spec;
  for (const k of Object.keys(pod)) expect(POD_SPEC, `${file}: pod spec.${k}`).toContain(k);
  expect(['Never', 'OnFailure']).toContain(pod.restartPolicy);
  const volumes = new Set(pod.volumes.map((v: { name: string }) => v.name));
  for (const c of pod.containers) {
    for (const k of Object.keys(c)) expect(CONTAINER, `${file}: container.${k}`).toContain(k);
    for (const m of c.volumeMounts) expect(volumes, `${file}: mount ${m.name}`).toContain(m.name);
    for (const e of c.env ?? []) expect(typeof e.value, `${file}: env ${e.name}`).toBe('string');
  }
  return pod;
}

describe('deploy/', () => {
  it('the Indexed Job runs shard JOB_COMPLETION_INDEX of completions, one results file per index, a worker per requested core', () => {
    const [job] = load('kubernetes/sweep-job.yaml');
    const pod = checkJob(job, 'sweep-job.yaml');
    expect(job.spec.completionMode).toBe('Indexed');
    expect(pod.restartPolicy).toBe('Never'); // required by backoffLimitPerIndex
    const command = pod.containers[0].args.join(' ');
    const shard = /--shard "\$\{JOB_COMPLETION_INDEX\}\/(\d+)"/.exec(command);
    expect(shard, command).not.toBeNull();
    expect(Number(shard![1])).toBe(job.spec.completions);
    expect(job.spec.parallelism).toBeLessThanOrEqual(job.spec.completions);
    expect(command).toMatch(/--out "\/results\/shard-\$\{JOB_COMPLETION_INDEX\}\.jsonl"/);
    expect(Number(/--workers (\d+)/.exec(command)![1])).toBe(Number(pod.containers[0].resources.requests.cpu));
  });

  it('the merge Job reads every shard file from the volume the sweep writes to', () => {
    const [sweep] = load('kubernetes/sweep-job.yaml');
    const [merge] = load('kubernetes/merge-job.yaml');
    const pod = checkJob(merge, 'merge-job.yaml');
    expect(pod.containers[0].args.join(' ')).toMatch(/merge \/results\/shard-\*\.jsonl --json/);
    const claim = (job: Doc) => job.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'results').persistentVolumeClaim.claimName;
    expect(claim(merge)).toBe(claim(sweep));
  });

  it('the workflow matrix lists shards 0 … SHARDS−1 and passes each to --shard, then merges them', () => {
    const [wf] = load('github-actions/sweep.yml');
    const shards = Number(wf.env.SHARDS);
    expect(wf.jobs.shard.strategy.matrix.shard).toEqual(Array.from({ length: shards }, (_, i) => i));
    const run = wf.jobs.shard.steps.map((s: { run?: string }) => s.run ?? '').join('\n');
    expect(run).toMatch(/--shard "\$\{\{ matrix\.shard \}\}\/\$\{\{ env\.SHARDS \}\}"/);
    expect(run).toMatch(/--out "\$RESULTS_DIR\/shard-\$\{\{ matrix\.shard \}\}\.jsonl"/);
    expect(wf.jobs.merge.needs).toBe('shard');
    expect(wf.jobs.merge.steps.map((s: { run?: string }) => s.run ?? '').join('\n')).toMatch(/tokenscope merge shards\/\*\.jsonl/);
  });
});
