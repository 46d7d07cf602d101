/**
 * The runner's Docker image asset as a synthesized cloud assembly declares
 * it: read from the assembly's asset manifest (manifest.json lists it as the
 * `cdk:asset-manifest` artifact; its `dockerImages` are keyed by asset hash),
 * never found by guessing a folder name.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../../cdk/build.js';
import { UI_FIXTURE } from './synth.js';

export const RUNNER_DOCKERFILE = 'runner/Dockerfile';

export interface DockerImageAsset {
  hash: string;
  /** The staged build context, absolute. */
  directory: string;
  dockerFile: string;
  platform?: string;
}

interface AssetManifest {
  dockerImages?: Record<string, { source: { directory: string; dockerFile?: string; platform?: string } }>;
}

export function dockerImageAssets(outdir: string): DockerImageAsset[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string; properties?: { file?: string } }> };
  const out: DockerImageAsset[] = [];
  for (const artifact of Object.values(manifest.artifacts)) {
    if (artifact.type !== 'cdk:asset-manifest' || !artifact.properties?.file) continue;
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, artifact.properties.file), 'utf8')) as AssetManifest;
    for (const [hash, { source }] of Object.entries(assets.dockerImages ?? {})) {
      out.push({ hash, directory: path.join(outdir, source.directory), dockerFile: source.dockerFile ?? 'Dockerfile', platform: source.platform });
    }
  }
  return out;
}

/** The one image built from runner/Dockerfile. */
export function runnerImageAsset(outdir: string): DockerImageAsset {
  const found = dockerImageAssets(outdir).filter((a) => a.dockerFile === RUNNER_DOCKERFILE);
  if (found.length !== 1) throw new Error(`expected one Docker image asset built from ${RUNNER_DOCKERFILE}, found ${found.length}`);
  return found[0];
}

/** Every file under `dir`, relative, sorted. */
export function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/**
 * Synthesizes the app as `cdk synth` would in a checkout at `repoRoot` (its
 * cdk.json's context), Lambdas unbundled, into a throwaway folder; returns the folder.
 */
export function synthAt(repoRoot: string): string {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'evalap-cdk-'));
  const cdkJson = JSON.parse(fs.readFileSync(path.join(repoRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  const { app } = buildApp({ repoRoot, outdir, context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], uiDir: UI_FIXTURE } });
  app.synth();
  return outdir;
}
